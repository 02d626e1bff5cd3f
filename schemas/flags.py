"""The contract on ``casewatch.flags``: a rule's flag raised or resolved for one journey.

Keyed by ``flag_id`` (deterministic from rule, person, subject and due date), so a flag
published twice is the same record and consumers upsert by id.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from schemas.events import CODE_MAX, ID_MAX

SUBJECT_MAX = 2 * ID_MAX + 32  # a kind and one or two identifiers, e.g. plan:P1:2025
Severity = Literal["advisory", "warning", "breach"]
FlagStatus = Literal["raised", "resolved"]


class FlagRecord(BaseModel):
    """One change of a flag's state, as published by the journeys worker."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    flag_id: str = Field(min_length=16, max_length=64)
    status: FlagStatus
    rule_id: str = Field(pattern=r"^R-[A-Z0-9-]+$", max_length=CODE_MAX)
    rule_pack_version: str = Field(max_length=CODE_MAX)
    severity: Severity
    statutory: bool = Field(description="False for advisory rules: never a statutory breach")
    person_key: str = Field(max_length=64)
    child_ref: str | None = Field(
        default=None, max_length=ID_MAX, description="case system's person reference"
    )
    caseworker_id: str | None = Field(default=None, max_length=CODE_MAX)
    team: str | None = Field(default=None, max_length=CODE_MAX)
    subject: str = Field(
        max_length=SUBJECT_MAX, description="what the flag is about, e.g. plan:P123 or request:R9"
    )
    due_on: date = Field(description="the statutory date the flag is about (rules.md §6)")
    as_of: date = Field(description="the clock date at which the state changed")
    exception: bool = Field(default=False, description="Reg 10(4) exception recorded")
    changed_at: AwareDatetime


FLAG_ADAPTER: TypeAdapter[FlagRecord] = TypeAdapter(FlagRecord)
