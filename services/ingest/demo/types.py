"""The synthetic authority's children, as plain values (built in ``demo``, written elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from services.ingest.identifiers import uln_with_check, upn_with_check

CASEWORKERS: dict[str, str] = {
    f"cw-{n:02d}": team
    for n, team in zip(
        range(1, 9),
        ("north", "north", "south", "south", "east", "east", "west", "west"),
        strict=True,
    )
}
FORENAMES = ("Ada", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ivy", "Jo", "Kit", "Lu")
SURNAMES = ("Example", "Sample", "Specimen", "Placeholder", "Madeup", "Fictional", "Testcase")


def person_id(child: DemoChild) -> str:
    return str(700000 + child.number)


def upn(child: DemoChild) -> str:
    """A UPN with its check letter, and plainly not a real one: 999 is no LA's number."""
    return upn_with_check(f"999{child.number:09d}")


def uln(child: DemoChild) -> str:
    """A ULN with its LRS check digit (9999… is no learner's), or "" if no digit fits."""
    return uln_with_check(f"99{child.number:07d}") or ""


def nhs_number(child: DemoChild) -> str:
    """NHS numbers starting 999 are reserved for testing."""
    return f"999{child.number:07d}"


def names(child: DemoChild) -> tuple[str, str]:
    n = child.number
    return FORENAMES[n % len(FORENAMES)], SURNAMES[(n // len(FORENAMES)) % len(SURNAMES)]


Pathway = Literal[
    "plan_reviewed",  # plan in force, new or reviewed within the last year
    "plan_lapsed",  # plan in force, annual review overdue (R-AR-DUE)
    "plan_ceased",
    "in_progress",  # request inside its 20 weeks
    "overdue",  # request open past 20 weeks with no plan (R-ISSUE-20W)
    "refused",
    "withdrawn",
]


@dataclass(frozen=True)
class DemoPlan:
    start: date
    ceased: date | None = None
    cease_reason: int | None = None
    last_review: date | None = None
    meeting: date | None = None
    review_outcome: str = ""


@dataclass(frozen=True)
class DemoReferral:
    """A referral to a health or therapy service, under the health system's own code."""

    code: str
    received: date
    contact: date | None = None
    closed: date | None = None


@dataclass(frozen=True)
class DemoExtras:
    """What the SSD core tables do not hold: needs, placement, phase transfer, referrals."""

    needs: tuple[str, ...] = ()  # primary, then secondary
    setting: str = ""  # URN or SENSetting of the placement named in the plan
    phase_due: date | None = None  # PhaseTransferDueDate
    phase_final: date | None = None  # PhaseTransferFinalDate
    referrals: tuple[DemoReferral, ...] = ()


@dataclass(frozen=True)
class DemoChild:
    number: int
    pathway: Pathway
    caseworker: str
    born: date
    received: date
    decision: tuple[str, date] | None = None  # request outcome and its date
    assessment: tuple[str, date | None, bool] | None = None  # outcome ("" pending), date, Week20
    plan: DemoPlan | None = None
    extras: DemoExtras = field(default_factory=lambda: DemoExtras())
