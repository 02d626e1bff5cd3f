"""What each date of the event contract is about: a birth, a fact, or something scheduled.

A fact's date is when it happened, so it cannot be after the day it was recorded.  A
*scheduled* date is when something is planned to happen (a phase transfer due next
September, a review meeting booked): it may lie ahead of the day it was recorded.  Ingest
checks each date against the plausible range of its kind (``services/ingest/dates.py``), and
the worker refuses an event *recorded* in the future, or occurring in the future when none of
its dates may be scheduled (``services/journeys/codec.py``).
"""

from __future__ import annotations

from typing import Literal

DateKind = Literal["birth", "fact", "scheduled"]

# (payload type, field) of every date that may be in the future when it is recorded
SCHEDULED_FIELDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("phase.transfer", "transfer_due_on"),  # SEN2 PhaseTransferDueDate
        ("review.meeting_scheduled", "meeting_on"),  # a meeting booked
    }
)
SCHEDULED_TYPES: frozenset[str] = frozenset(kind for kind, _ in SCHEDULED_FIELDS)


def date_kind(payload_type: str, name: str) -> DateKind:
    """The kind of the date field ``name`` of a payload of type ``payload_type``."""
    if name == "date_of_birth":
        return "birth"
    if (payload_type, name) in SCHEDULED_FIELDS:
        return "scheduled"
    return "fact"
