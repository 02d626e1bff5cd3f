"""A child's journey as a pure fold of events.

The journey holds *facts*, each named by a fact key derived from the event (``plan:P1``,
``review-decision:P1:2025-02-05``).  For each key the fact with the greatest version
``(recorded_at, event_id)`` wins: the latest statement by the source system, so a corrected
export replaces what it corrects even when the correction moves a date earlier.  That makes
the fold

- idempotent: a duplicate event has the same version and changes nothing;
- order independent: any delivery order of the same events gives the same journey, because a
  fact's value comes from its winning event alone, never from what came before it.

Views (requests, plans, reviews) are derived from the facts when a rule asks for them.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from schemas.authority import service_refusal
from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    DraftPlanIssued,
    Event,
    Payload,
    PersonLeft,
    PersonRegistered,
    PhaseTransfer,
    PlacementRecorded,
    PlanAmended,
    PlanCeased,
    PlanIssued,
    PlanTransferredIn,
    ReferralClosed,
    ReferralFirstContact,
    ReferralReceived,
    RequestDecided,
    ReviewDecided,
    ReviewDraftIssued,
    ReviewMeetingHeld,
    ReviewMeetingScheduled,
)


@dataclass(frozen=True, slots=True)
class Fact:
    """One fact and the version that stated it: (recorded_at, event_id)."""

    recorded_at: datetime
    event_id: str
    payload: Payload

    @property
    def version(self) -> tuple[datetime, str]:
        return (self.recorded_at, self.event_id)


@dataclass(frozen=True, slots=True)
class Journey:
    """Everything known about one child, keyed by the pseudonymous person key.

    Plain frozen dataclasses keep the fold cheap (it is the worker's hot path); pydantic
    serialises them through ``JourneyState``.
    """

    person_key: str
    facts: Mapping[str, Fact] = field(default_factory=dict)
    # digests of settled fact groups taken out of ``facts`` (domain/compact.py), sorted:
    # an event about one of them changes nothing
    settled: tuple[str, ...] = ()


def fact_key(payload: Payload) -> str:
    """The name of the fact an event states; later versions of the same fact replace it."""
    match payload:
        case PersonRegistered():  # and PersonUpdated, its subclass
            return "person"
        case PersonLeft():
            return "person-left"
        case AssessmentRequested(request_id=r):
            return f"request:{r}"
        case RequestDecided(request_id=r):
            return f"request-decision:{r}"
        case AssessmentCompleted(request_id=r):
            return f"assessment:{r}"
        case DraftPlanIssued(request_id=r):
            return f"draft:{r}"
        case PlanIssued(plan_id=p):
            return f"plan:{p}"
        case PlanTransferredIn(plan_id=p):
            return f"transfer-in:{p}"
        case PlanCeased(plan_id=p):
            return f"plan-cease:{p}"
        case PlanAmended(plan_id=p, amended_on=d):
            return f"amended:{p}:{d.isoformat()}"
        case ReviewMeetingScheduled(plan_id=p):
            return f"review-scheduled:{p}"  # a re-booking replaces the booking
        case ReviewMeetingHeld(plan_id=p, meeting_on=d):
            return f"review-meeting:{p}:{d.isoformat()}"
        case ReviewDecided(plan_id=p, decided_on=d):
            return f"review-decision:{p}:{d.isoformat()}"
        case ReviewDraftIssued(plan_id=p, drafted_on=d):
            return f"review-draft:{p}:{d.isoformat()}"
        case PhaseTransfer(plan_id=p, transfer_due_on=d):
            return f"phase-transfer:{p or '-'}:{d.isoformat() if d else '-'}"
        case PlacementRecorded(placement_id=i):
            return f"placement:{i}"
        case ReferralReceived(referral_id=i):
            return f"referral:{i}"
        case ReferralFirstContact(referral_id=i):
            return f"referral-contact:{i}"
        case ReferralClosed(referral_id=i):
            return f"referral-closed:{i}"
    raise TypeError(f"no fact key for payload type {type(payload).__name__}")  # pragma: no cover


def apply(journey: Journey, event: Event) -> Journey:
    """Fold one event into the journey. Returns the same object when nothing changed."""
    if event.person_key != journey.person_key:
        raise ValueError("event belongs to another journey")
    key = fact_key(event.payload)
    current = journey.facts.get(key)
    candidate = Fact(event.recorded_at, event.event_id, event.payload)
    if current is not None and current.version >= candidate.version:
        return journey
    if journey.settled and current is None and is_settled(journey, event.payload):
        return journey
    return Journey(journey.person_key, {**journey.facts, key: candidate}, journey.settled)


def owner_refusal(journey: Journey, event: Event) -> str | None:
    """Why the event's source may not speak about this referral, or ``None``: a health source
    speaks for its own service only (``schemas/authority.py``), and the referral's service is
    the one its received fact states. A contact or closure for a referral the journey does not
    know (yet) is not judged here: its service is unknown."""
    payload = event.payload
    if not isinstance(payload, ReferralReceived | ReferralFirstContact | ReferralClosed):
        return None
    known = journey.facts.get(f"referral:{payload.referral_id}")
    if known is None or not isinstance(known.payload, ReferralReceived):
        return None
    return service_refusal(event.source_system, known.payload.service)


def group_of(payload: Payload) -> str | None:
    """The group of facts a fact belongs to when the group may be settled as a whole (a
    referral, a request, a placement): see domain/compact.py."""
    match payload:
        case ReferralReceived(referral_id=i) | ReferralFirstContact(referral_id=i):
            return f"referral:{i}"
        case ReferralClosed(referral_id=i):
            return f"referral:{i}"
        case AssessmentRequested(request_id=r) | RequestDecided(request_id=r):
            return f"request:{r}"
        case AssessmentCompleted(request_id=r) | DraftPlanIssued(request_id=r):
            return f"request:{r}"
        case PlacementRecorded(placement_id=i):
            return f"placement:{i}"
    return None


def group_digest(group: str) -> str:
    """A settled group as the journey remembers it: 16 hex characters, whatever its id."""
    return hashlib.blake2b(group.encode(), digest_size=8).hexdigest()


def is_settled(journey: Journey, payload: Payload) -> bool:
    group = group_of(payload)
    if group is None:
        return False
    digest = group_digest(group)
    at = bisect.bisect_left(journey.settled, digest)
    return at < len(journey.settled) and journey.settled[at] == digest


def fact_dates_after(journey: Journey, as_of: date) -> list[date]:
    """Dates of facts not yet in force on ``as_of`` (rules read facts dated on or before it)."""
    found = remember(
        memo(journey),
        (fact_dates_after, as_of),
        lambda: tuple(
            d for f in journey.facts.values() if (d := fact_date(f.payload)) and d > as_of
        ),
    )
    return list(found)


def fact_date(payload: Payload) -> date | None:
    """The date from which a fact is known to the rules: the first date field it carries."""
    for name in _DATE_FIELD.get(payload.type, ()):
        value = getattr(payload, name)
        if value is not None:
            return value  # type: ignore[no-any-return]
    return None


_DATE_FIELD: dict[str, tuple[str, ...]] = {
    "person.left": ("left_on",),
    "assessment.requested": ("received_on",),
    "request.decided": ("decided_on",),
    "assessment.completed": ("outcome_on",),
    "plan.draft_issued": ("drafted_on",),
    "plan.issued": ("issued_on",),
    "plan.transferred_in": ("transferred_on",),
    "plan.ceased": ("ceased_on",),
    "plan.amended": ("amended_on",),
    "review.meeting_held": ("meeting_on",),
    "review.decided": ("decided_on",),
    "review.draft_issued": ("drafted_on",),
    "phase.transfer": ("final_on",),
    "placement.recorded": ("entry_on",),
    "referral.received": ("received_on",),
    "referral.first_contact": ("contact_on",),
    "referral.closed": ("closed_on",),
}


def fold(person_key: str, events: Iterable[Event], journey: Journey | None = None) -> Journey:
    state = journey if journey is not None else Journey(person_key=person_key)
    for event in events:
        state = apply(state, event)
    return state


# --- views -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    request_id: str
    received_on: date
    decision: RequestDecided | None
    assessment: AssessmentCompleted | None
    draft: DraftPlanIssued | None = None
    mediation: bool = False  # SEN2 2.6 RequestMediation (3.3 is the assessment's own)
    tribunal: bool = False  # SEN2 2.7 RequestTribunal (3.4 is the assessment's own)


@dataclass(frozen=True)
class PlanView:
    """A plan maintained by this LA: issued here, or transferred in (Reg 15)."""

    plan_id: str
    request_id: str | None
    issued_on: date | None
    ceased: PlanCeased | None
    transferred_in: PlanTransferredIn | None = None
    review_decisions: tuple[ReviewDecided, ...] = ()
    review_meetings: tuple[ReviewMeetingHeld, ...] = ()
    scheduled_meeting: date | None = None
    review_drafts: tuple[date, ...] = ()
    amendments: tuple[PlanAmended, ...] = ()
    # answers about this plan remembered by the rules (the view lives as long as its memo)
    derived: dict[object, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def start_on(self) -> date:
        """Issued here, or taken on by transfer."""
        if self.issued_on is not None:
            return self.issued_on
        assert self.transferred_in is not None
        return self.transferred_in.transferred_on

    def in_force_on(self, on: date) -> bool:
        """R-CEASE: a ceased plan (CeaseDate on or before ``on``) stops every plan clock."""
        return self.start_on <= on and (self.ceased is None or self.ceased.ceased_on > on)


@dataclass(frozen=True)
class ReferralView:
    referral_id: str
    service: str
    received_on: date
    first_contact_on: date | None
    closed_on: date | None


_P = TypeVar("_P")


_R = TypeVar("_R")


_LAST: tuple[Journey | None, dict[object, object]] = (None, {})


def memo(journey: Journey) -> dict[object, object]:
    """Derived values of the journey last asked about, by name: the rules ask for the same
    views of one journey many times in a row, and a journey never changes (it is frozen).
    One slot for all views, replaced as a whole (so a thread never sees another's)."""
    global _LAST
    last = _LAST
    if last[0] is journey:
        return last[1]
    found: dict[object, object] = {}
    _LAST = (journey, found)
    return found


def recall(journey: Journey, known: dict[object, object]) -> None:
    """Make ``known`` (a :func:`memo` of ``journey`` taken earlier) the memo again, so views
    computed for one evaluation serve a later question about the same journey."""
    global _LAST
    if _LAST[0] is not journey:
        _LAST = (journey, known)


def remember(known: dict[object, object], key: object, compute: Callable[[], _R]) -> _R:
    """``known[key]``, computed the first time it is asked for. Callers never change what
    they are given (views are tuples, or copied)."""
    found = known.get(key, _MISSING)
    if found is _MISSING:
        found = known[key] = compute()
    return found  # type: ignore[return-value]


def per_journey(view: Callable[[Journey], _R]) -> Callable[[Journey], _R]:
    """Remember a view of the journey last asked about (see :func:`memo`)."""

    @functools.wraps(view)
    def remembered(journey: Journey) -> _R:
        known = memo(journey)
        found = known.get(view, _MISSING)
        if found is _MISSING:
            found = known[view] = view(journey)
        return found  # type: ignore[return-value]  # (no ``cast``: a call on the hot path)

    return remembered


_MISSING = object()


@per_journey
def _facts_by_kind(journey: Journey) -> dict[str, list[tuple[str, Fact]]]:
    index: dict[str, list[tuple[str, Fact]]] = {}
    for key in sorted(journey.facts):
        index.setdefault(key.split(":", 1)[0], []).append((key, journey.facts[key]))
    return index


def _payloads(journey: Journey, prefix: str, kind: type[_P]) -> list[_P]:
    return [
        f.payload
        for k, f in _facts_by_kind(journey).get(prefix.split(":", 1)[0], ())
        if k.startswith(prefix) and isinstance(f.payload, kind)
    ]


def _fact(journey: Journey, key: str, kind: type[_P]) -> _P | None:
    fact = journey.facts.get(key)
    return fact.payload if fact is not None and isinstance(fact.payload, kind) else None


@per_journey
def person(journey: Journey) -> PersonRegistered | None:
    return _fact(journey, "person", PersonRegistered)


def person_recorded_on(journey: Journey) -> date | None:
    fact = journey.facts.get("person")
    return fact.recorded_at.date() if fact is not None else None


def left_on(journey: Journey) -> date | None:
    left = _fact(journey, "person-left", PersonLeft)
    return left.left_on if left else None


@per_journey
def requests(journey: Journey) -> tuple[RequestView, ...]:
    views = []
    for p in _payloads(journey, "request:", AssessmentRequested):
        decision = _fact(journey, f"request-decision:{p.request_id}", RequestDecided)
        views.append(
            RequestView(
                request_id=p.request_id,
                received_on=p.received_on,
                decision=decision,
                assessment=_fact(journey, f"assessment:{p.request_id}", AssessmentCompleted),
                draft=_fact(journey, f"draft:{p.request_id}", DraftPlanIssued),
                # SEN2 2.6/2.7 are recorded with the decision whether to assess
                mediation=decision is not None and decision.mediation is True,
                tribunal=decision is not None and decision.tribunal is True,
            )
        )
    return tuple(views)


@per_journey
def plans(journey: Journey) -> tuple[PlanView, ...]:
    issued = {p.plan_id: p for p in _payloads(journey, "plan:", PlanIssued)}
    transferred = {p.plan_id: p for p in _payloads(journey, "transfer-in:", PlanTransferredIn)}
    views = []
    for pid in sorted(issued.keys() | transferred.keys()):
        scheduled = _fact(journey, f"review-scheduled:{pid}", ReviewMeetingScheduled)
        views.append(
            PlanView(
                plan_id=pid,
                request_id=issued[pid].request_id if pid in issued else None,
                issued_on=issued[pid].issued_on if pid in issued else None,
                ceased=_fact(journey, f"plan-cease:{pid}", PlanCeased),
                transferred_in=transferred.get(pid),
                review_decisions=tuple(
                    _payloads(journey, f"review-decision:{pid}:", ReviewDecided)
                ),
                review_meetings=tuple(
                    _payloads(journey, f"review-meeting:{pid}:", ReviewMeetingHeld)
                ),
                scheduled_meeting=scheduled.meeting_on if scheduled else None,
                review_drafts=tuple(
                    d.drafted_on
                    for d in _payloads(journey, f"review-draft:{pid}:", ReviewDraftIssued)
                ),
                amendments=tuple(_payloads(journey, f"amended:{pid}:", PlanAmended)),
            )
        )
    return tuple(views)


@per_journey
def phase_transfers(journey: Journey) -> tuple[PhaseTransfer, ...]:
    return tuple(_payloads(journey, "phase-transfer:", PhaseTransfer))


def placements(journey: Journey) -> list[PlacementRecorded]:
    return _payloads(journey, "placement:", PlacementRecorded)


@per_journey
def referrals(journey: Journey) -> tuple[ReferralView, ...]:
    views = []
    for p in _payloads(journey, "referral:", ReferralReceived):
        contact = _fact(journey, f"referral-contact:{p.referral_id}", ReferralFirstContact)
        closed = _fact(journey, f"referral-closed:{p.referral_id}", ReferralClosed)
        views.append(
            ReferralView(
                referral_id=p.referral_id,
                service=p.service,
                received_on=p.received_on,
                first_contact_on=contact.contact_on if contact else None,
                closed_on=closed.closed_on if closed else None,
            )
        )
    return tuple(views)
