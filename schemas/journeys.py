"""The contract on ``casewatch.journeys`` (compacted, key = person key): the latest view of
one child's journey, for readers such as the alerts service's timeline and routing.

It names the child only by the case system's reference; it carries no name, date of birth or
UPN.  Readers must treat the person key as personal data (never log it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    on: date
    kind: str = Field(description="event type, e.g. review.decided")
    summary: str = Field(description="one line in plain English, no personal data")
    source_record_key: str | None = None


class ClockView(BaseModel):
    """A statutory clock of the journey: open flag or upcoming deadline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: str
    subject: str
    due_on: date
    state: Literal["open", "upcoming"]
    flag_id: str | None = None


class ChildFacts(BaseModel):
    """What a caseworker reads beside the clocks: year group, setting and the plan's dates
    (no name, date of birth or UPN). Every field may be unknown."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year_group: int | None = Field(default=None, description="NCY on as_of; Reception is 0")
    setting: str | None = Field(default=None, description="current setting (URN, UKPRN, code)")
    plan_id: str | None = Field(default=None, description="the plan in force on as_of")
    plan_start_on: date | None = Field(default=None, description="issued, or transferred in")
    last_review_on: date | None = Field(default=None, description="last review decision")
    review_due_on: date | None = Field(default=None, description="R-AR-DUE date")
    referral_services: dict[str, str] = Field(
        default={}, description="referral id -> the rule pack's service code (e.g. autism)"
    )


class JourneySnapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    person_key: str
    child_ref: str | None = None
    caseworker_id: str | None = None
    team: str | None = None
    as_of: date
    next_deadline: date | None = Field(
        default=None,
        description="the earliest due date among the clocks shown on or after as_of "
        "(next_deadline_of)",
    )
    timeline: list[TimelineEntry] = []
    clocks: list[ClockView] = []
    child: ChildFacts | None = Field(default=None, description="null from older workers")
    updated_at: AwareDatetime


class _Due(Protocol):
    @property
    def due_on(self) -> date: ...


def next_deadline_of(clocks: Iterable[_Due], as_of: date) -> date | None:
    """A journey's "Next deadline" as people read it: the earliest due date among its clocks
    (open or upcoming) that has not passed on ``as_of`` (a date due that day counts), so it is
    always one of the dates in the clocks' table. None when every due date has passed.

    Not the worker's scheduling date (the next day a flag could open or close, kept in the
    journey's header): that one is often a window edge no caseworker is asked to meet.
    """
    return min((c.due_on for c in clocks if c.due_on >= as_of), default=None)


SNAPSHOT_ADAPTER: TypeAdapter[JourneySnapshot] = TypeAdapter(JourneySnapshot)
