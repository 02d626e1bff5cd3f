"""SEN2 code lists (rules.md §7) and the facts every adapter derives the same way.

The SSD CSV and SEN2 XML adapters state one export's facts identically — the same payloads
for the same review dates, the same placement ids — so the two formats of one authority
ingest to the same journeys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import get_args

from schemas.events import (
    Payload,
    PhaseTransfer,
    PlanTransferredIn,
    RequestOutcome,
    ReviewDecided,
    ReviewDraftIssued,
    ReviewMeetingHeld,
    ReviewOutcome,
    SenType,
)

REQUEST_OUTCOMES: Mapping[str, RequestOutcome] = {c: c for c in get_args(RequestOutcome)}
REVIEW_OUTCOMES: Mapping[str, ReviewOutcome] = {c: c for c in get_args(ReviewOutcome)}
CEASE_REASONS: Mapping[str, int] = {str(n): n for n in range(1, 10)}
EXCEPTION_FLAGS: Mapping[str, bool] = {"1": True, "0": False}
SEN_TYPES: Mapping[str, SenType] = {c: c for c in get_args(SenType)}
RANKS: Mapping[str, int] = {"1": 1, "2": 2}
SEN_SETTINGS = ("OLA", "OPA", "EHE", "EYP", "OTH", "NEET", "NIEC", "NIEO")

# Any 3-digit LA code is valid nationally (Trafford 358, Salford 355); XXX is unknown/abroad.
LA_CODE = re.compile(r"\d{3}|XXX")


def review_facts(
    plan_id: str, decided: date | None, meeting: date | None, outcome: ReviewOutcome | None
) -> list[tuple[date, Payload]]:
    """An active plan's review columns (SEN2 LastReview, ReviewMeeting, ReviewOutcome)."""
    found: list[tuple[date, Payload]] = []
    if decided is not None:
        # a meeting after the last decision is the next review, whose decision is pending
        held = meeting if meeting is not None and meeting <= decided else None
        decision = ReviewDecided(
            plan_id=plan_id, decided_on=decided, outcome=outcome, meeting_on=held
        )
        found.append((decided, decision))
    if meeting is not None:
        found.append((meeting, ReviewMeetingHeld(plan_id=plan_id, meeting_on=meeting)))
    return found


def active_plan_facts(
    plan_id: str,
    *,
    plan_start: date | None,
    draft: date | None,
    transfer_due: date | None,
    transfer_final: date | None,
    transfer_la: str,
) -> list[tuple[date | None, Payload]]:
    """The SEN2-named extension items of an active plan: ReviewDraft, PhaseTransferDueDate,
    PhaseTransferFinalDate and TransferLA (a plan transferred in, taken on at its start)."""
    found: list[tuple[date | None, Payload]] = []
    if draft is not None:
        found.append((draft, ReviewDraftIssued(plan_id=plan_id, drafted_on=draft)))
    if transfer_due is not None or transfer_final is not None:
        transfer = PhaseTransfer(
            plan_id=plan_id, transfer_due_on=transfer_due, final_on=transfer_final
        )
        found.append((transfer_final or transfer_due, transfer))
    if transfer_la and plan_start is not None:
        la = transfer_la if transfer_la.isdigit() else None
        moved = PlanTransferredIn(
            plan_id=plan_id, transferred_on=plan_start, from_la=la, anchor_on=plan_start
        )
        found.append((plan_start, moved))
    return found


def placement_id(setting: str, rank: int, entry: date | None) -> str:
    """A placement's id where the source has none: its setting, rank and entry date."""
    return f"{setting}:{rank}:{entry.isoformat() if entry else '-'}"
