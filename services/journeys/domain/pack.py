"""The rule pack: every threshold, lead time and service wait the rules read, versioned.

The shipped default (``packs/england-2026.1.yaml``) holds the values in rules.md. A council
overrides waits and lead times with its own YAML file, which must carry its own version: the
version is stamped on every flag, so two packs never share one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

PACKS_DIR = Path(__file__).parent / "packs"
DEFAULT_PACK_FILE = PACKS_DIR / "england-2026.1.yaml"

Severity = Literal["advisory", "warning", "breach"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AssessmentClocks(_Strict):
    decide_days: int = Field(42, description="R-DECIDE-6W: received + 42 days (Reg 5(1))")
    not_issue_days: int = Field(112, description="R-NOT-ISSUE-16W: received + 112 (Reg 10(1))")
    draft_warn_days: int = Field(112, description="R-DRAFT-WARN: advisory at received + 112")
    issue_days: int = Field(140, description="R-ISSUE-20W: received + 140 days (Reg 13(2))")
    long_wait_days: int = Field(364, description="reporting band: over 52 weeks")


class ReviewClocks(_Strict):
    review_months: int = Field(12, description="R-AR-DUE: add_months(anchor, 12)")
    warn_days: int = Field(84, description="R-AR-WARN: advisory from review_due - 12 weeks")
    latest_meeting_days: int = Field(28, description="latest compliant meeting: due - 28 days")
    decision_days: int = Field(28, description="R-AR-DECISION-4W: meeting + 28 (Reg 20(10))")
    notice_days: int = Field(14, description="R-AR-STEPS: notice at least 14 days before")
    advice_days: int = Field(14, description="R-AR-STEPS: advice at least 14 days before")
    report_days: int = Field(14, description="R-AR-STEPS: report within 14 days after")
    amend_days: int = Field(56, description="R-AMEND-8W: draft + 56 days (Reg 22(3))")
    under5_months: int = Field(6, ge=3, le=6, description="R-AR-UNDER5: interim review prompt")
    transfer_decide_days: int = Field(42, description="R-TRANSFER-IN: decide within 6 weeks")
    transfer_review_months: int = Field(3, description="R-TRANSFER-IN: transfer + 3 months")


class TransitionClocks(_Strict):
    upcoming_lead_months: int = Field(
        0, ge=0, le=12, description="R-PHASE-UPCOMING: months before 1 Sept of the transfer year"
    )
    infant_junior: bool = Field(False, description="separate infant and junior schools")
    pfa_from_ncy: int = Field(9, description="R-PFA-Y9: PfA focus from this NCY")
    age25_end_month: int = Field(7, ge=1, le=12, description="R-AGE-25: academic year ends")
    age25_end_day: int = Field(31, ge=1, le=31, description="31 July for further education")
    age25_prompt_months: int = Field(12, description="R-AGE-25: prompt this long before")


class WaitThreshold(_Strict):
    months: int | None = Field(None, ge=1, description="calendar months (NICE QS51: 3)")
    days: int | None = Field(None, ge=1)
    severity: Severity = "breach"

    @model_validator(mode="after")
    def _one_unit(self) -> WaitThreshold:
        if (self.months is None) == (self.days is None):
            raise ValueError("give exactly one of months or days")
        return self


class RuleGuidance(_Strict):
    """What a caseworker is told about a rule: what the law or standard requires, where it
    says so, and the next step. Words only: no rule reads them, so a council may rewrite them."""

    requires: str = Field(min_length=1, description="what the law or standard requires")
    reference: str = Field(min_length=1, description="regulation, CoP paragraph, NICE standard")
    next_step: str = Field(min_length=1, description="what the caseworker does next")
    is_guidance: bool = Field(False, description="a standard or guidance, not a statutory duty")


class ServiceWait(_Strict):
    """R-WAIT for one service: referral received → first substantive contact."""

    name: str
    standard: str = Field(description="where the threshold comes from")
    status: Literal["standard", "proposed", "local"] = "standard"
    thresholds: tuple[WaitThreshold, ...] = Field(min_length=1)
    guidance: RuleGuidance | None = None


class RulePack(_Strict):
    version: str = Field(min_length=1)
    assessment: AssessmentClocks = AssessmentClocks()
    review: ReviewClocks = ReviewClocks()
    transition: TransitionClocks = TransitionClocks()
    waits: dict[str, ServiceWait] = {}
    guidance: dict[str, RuleGuidance] = Field(
        default={}, description="rule id -> the words the inbox and digest show for it"
    )

    # Shorthands the rules read most.
    @property
    def issue_days(self) -> int:
        return self.assessment.issue_days

    @property
    def review_months(self) -> int:
        return self.review.review_months


def load_pack(path: Path) -> RulePack:
    """Read and validate a rule pack; errors name the field (pydantic's location)."""
    with open(path, encoding="utf-8") as f:
        return RulePack.model_validate(yaml.safe_load(f))


DEFAULT_PACK = load_pack(DEFAULT_PACK_FILE)
