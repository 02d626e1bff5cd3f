"""The rule pack: thresholds the rules read, versioned and stamped on every flag."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RulePack(BaseModel):
    """Thresholds for the rules. The defaults are the values in rules.md."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = "england-2026.1"
    issue_days: int = Field(default=140, description="R-ISSUE-20W: received + 140 days (Reg 13(2))")
    review_months: int = Field(default=12, description="R-AR-DUE: add_months(anchor, 12)")


DEFAULT_PACK = RulePack()
