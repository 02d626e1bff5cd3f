"""The contract on ``casewatch.journeys`` (compacted, key = person key): the latest view of
one child's journey, for readers such as the alerts service's timeline and routing.

It names the child only by the case system's reference; it carries no name, date of birth or
UPN.  Readers must treat the person key as personal data (never log it).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from schemas.events import CODE_MAX, ID_MAX, RECORD_KEY_MAX
from schemas.flags import SUBJECT_MAX

TIMELINE_MAX = 1000  # the latest entries of a journey's timeline
CLOCKS_MAX = 1000  # the earliest-due clocks of a journey
SUMMARY_MAX = 1000


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    on: date
    kind: str = Field(max_length=CODE_MAX, description="event type, e.g. review.decided")
    summary: str = Field(
        max_length=SUMMARY_MAX, description="one line in plain English, no personal data"
    )
    source_record_key: str | None = Field(default=None, max_length=RECORD_KEY_MAX)


class ClockView(BaseModel):
    """A statutory clock of the journey: open flag or upcoming deadline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: str = Field(max_length=CODE_MAX)
    subject: str = Field(max_length=SUBJECT_MAX)
    due_on: date
    state: Literal["open", "upcoming"]
    flag_id: str | None = Field(default=None, max_length=64)


class JourneySnapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    person_key: str = Field(max_length=64)
    child_ref: str | None = Field(default=None, max_length=ID_MAX)
    caseworker_id: str | None = Field(default=None, max_length=CODE_MAX)
    team: str | None = Field(default=None, max_length=CODE_MAX)
    as_of: date
    next_deadline: date | None = Field(
        default=None, description="earliest date a flag could change without a new event"
    )
    timeline: list[TimelineEntry] = Field(default=[], max_length=TIMELINE_MAX)
    clocks: list[ClockView] = Field(default=[], max_length=CLOCKS_MAX)
    updated_at: AwareDatetime


SNAPSHOT_ADAPTER: TypeAdapter[JourneySnapshot] = TypeAdapter(JourneySnapshot)
