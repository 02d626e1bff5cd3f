"""The longest journey the rules allow, and oversized ones: shared by the unit and
reliability tests of bounded journeys."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

from schemas.authority import sources_for
from schemas.events import (
    CODE_MAX,
    ID_MAX,
    AssessmentCompleted,
    AssessmentRequested,
    DraftPlanIssued,
    Event,
    Payload,
    PersonRegistered,
    PersonUpdated,
    PhaseTransfer,
    PlacementRecorded,
    PlanAmended,
    PlanIssued,
    ReferralClosed,
    ReferralFirstContact,
    ReferralReceived,
    RequestDecided,
    ReviewDecided,
    ReviewDraftIssued,
    ReviewMeetingHeld,
    ReviewMeetingScheduled,
    make_event,
)
from services.journeys.domain.calendar import add_months

MESSAGE_MAX = 1_000_000  # faust's producer_max_request_size: one changelog message
PERSON_KEY = hashlib.sha256(b"the longest journey").hexdigest()
SERVICES = ("autism", "paediatrics", "camhs", "salt", "ot", "physio")


def ident(prefix: str, n: int, size: int = ID_MAX) -> str:
    """An identifier of ``size`` characters that compresses as badly as an id can (hex)."""
    digest = "".join(
        hashlib.sha256(f"{prefix}{n}:{k}".encode()).hexdigest() for k in range(size // 64 + 1)
    )
    return (prefix + digest)[:size]


def entitled(event_type: str, service: str | None = None) -> str:
    """A source system entitled to ``event_type``, at its longest (``name-suffix``); for a
    referral's events, a health source of the referral's ``service`` (its own service)."""
    name = sources_for(event_type)[0]
    if service is not None:
        name = f"{name}-{service}"
    return (name + "-" + "x" * CODE_MAX)[:CODE_MAX]


class History:
    """Events of one child, each recorded ``lag`` days after the day it is about."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.services: dict[str, str] = {}  # referral id -> its service

    def add(self, payload: Payload, on: date, lag: int = 3) -> None:
        recorded = datetime.combine(on + timedelta(days=lag), time(9), tzinfo=UTC)
        if isinstance(payload, ReferralReceived):
            self.services[payload.referral_id] = payload.service
        referral = getattr(payload, "referral_id", None)
        service = self.services.get(referral) if isinstance(referral, str) else None
        self.events.append(
            make_event(
                # an entitled source (schemas/authority.py), as long as the contract allows
                source_system=entitled(payload.type, service),
                source_record_key=f"r{len(self.events)}",
                person_key=PERSON_KEY,
                occurred_at=datetime.combine(on, time(), tzinfo=UTC),
                recorded_at=recorded,
                payload=payload,
            )
        )


def longest_journey(born: date = date(2000, 9, 1), requests_a_year: int = 2) -> list[Event]:
    """Birth to 25 with everything the rules allow, every identifier at its longest: a
    yearly re-registration, a request every six months (with decision, assessment and
    draft), a plan re-issued every five years, every annual review with its meeting notice,
    advice, report, decision, proposed amendments and final amended plan, each phase
    transfer, six referrals a year (seen, or closed), two placements a year."""
    h = History()
    end = add_months(born, 26 * 12) - timedelta(days=1)  # R-AGE-25: never past the 26th birthday
    for year in range(25):
        start = add_months(born, 12 * year)
        payload = PersonRegistered if year == 0 else PersonUpdated
        h.add(
            payload(
                child_ref=ident("c", 0),
                date_of_birth=born,
                caseworker_id=ident("w", year, CODE_MAX),
                team=ident("t", year % 4, CODE_MAX),
                primary_need="ASD",
                secondary_need="SLCN",
            ),
            start,
        )
        for k in range(requests_a_year):
            received = start + timedelta(days=10 + 180 * k)
            rid = ident("R", year * 10 + k)
            h.add(AssessmentRequested(request_id=rid, received_on=received), received)
            decided = received + timedelta(days=40)
            outcome = "Y" if k == 0 else "N"
            h.add(RequestDecided(request_id=rid, outcome=outcome, decided_on=decided), decided)
            if outcome == "Y":
                drafted = received + timedelta(days=100)
                h.add(DraftPlanIssued(request_id=rid, drafted_on=drafted), drafted)
                done = received + timedelta(days=135)
                h.add(
                    AssessmentCompleted(
                        request_id=rid, outcome="Y", outcome_on=done, exception=True
                    ),
                    done,
                )
                if year % 5 == 0:
                    pid = ident("P", year)
                    h.add(PlanIssued(plan_id=pid, request_id=rid, issued_on=done), done)
        pid = ident("P", year - year % 5)
        meeting = start + timedelta(days=300)
        h.add(ReviewMeetingScheduled(plan_id=pid, meeting_on=meeting), meeting - timedelta(40))
        h.add(
            ReviewMeetingHeld(
                plan_id=pid,
                meeting_on=meeting,
                pfa_focus=year >= 13,
                notice_sent_on=meeting - timedelta(20),
                advice_circulated_on=meeting - timedelta(15),
                report_sent_on=meeting + timedelta(10),
            ),
            meeting,
        )
        decided = meeting + timedelta(days=20)
        h.add(
            ReviewDecided(plan_id=pid, decided_on=decided, outcome="A", meeting_on=meeting), decided
        )
        h.add(ReviewDraftIssued(plan_id=pid, drafted_on=decided + timedelta(5)), decided)
        h.add(
            PlanAmended(plan_id=pid, amended_on=decided + timedelta(50), names_next_setting=True),
            decided + timedelta(50),
        )
        if year in (4, 7, 11, 16, 19):
            due = add_months(start, 12)
            h.add(
                PhaseTransfer(
                    plan_id=pid,
                    transfer_due_on=due,
                    final_on=due - timedelta(200),
                    next_setting=ident("u", year, CODE_MAX),
                ),
                due - timedelta(200),
            )
        for k in range(6):
            referred = start + timedelta(days=20 + 55 * k)
            ref = ident("H", year * 10 + k)
            service = SERVICES[k]
            h.add(
                ReferralReceived(referral_id=ref, service=service, received_on=referred), referred
            )
            if k % 2:
                h.add(
                    ReferralFirstContact(referral_id=ref, contact_on=referred + timedelta(60)),
                    referred + timedelta(60),
                )
            else:
                h.add(
                    ReferralClosed(referral_id=ref, closed_on=referred + timedelta(90)),
                    referred + timedelta(90),
                )
        for k in range(2):
            entry = start + timedelta(days=180 * k)
            h.add(
                PlacementRecorded(
                    placement_id=ident("L", year * 10 + k),
                    setting=ident("u", year, CODE_MAX),
                    phase=ident("p", k, CODE_MAX),
                    rank=k + 1,
                    entry_on=entry,
                    leaving_on=entry + timedelta(days=179),
                ),
                entry,
            )
    assert all(e.occurred_at.date() <= end for e in h.events)
    return h.events


def many_settled_referrals(count: int = 6_000) -> list[Event]:
    """``count`` referrals closed nine days after they came, from 2001 on: more history than
    one message holds even compressed (identifiers at their longest, hex)."""
    more = History()
    for n in range(count):
        on = date(2001, 1, 1) + timedelta(days=n * 4 // 3)
        ref = ident("X", n)
        more.add(ReferralReceived(referral_id=ref, service="salt", received_on=on), on)
        more.add(ReferralClosed(referral_id=ref, closed_on=on + timedelta(9)), on + timedelta(9))
    return more.events
