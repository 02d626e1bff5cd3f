"""The synthetic authority's children, as plain values (built in ``demo``, written elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from services.ingest.identifiers import nhs_with_check, uln_with_check, upn_with_check

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
    """A UPN with its check letter, and plainly not a real one: 999 is no LA's number ("" for
    a young person known by a ULN only, or by neither)."""
    if child.ids not in ("upn", "upn+uln"):
        return ""
    return upn_with_check(f"999{child.number:09d}")


def uln(child: DemoChild) -> str:
    """A ULN with its LRS check digit (99… is no learner's): the child's number in digits
    3-8, digit 9 the first that lets a check digit fit; "" for a child with no ULN."""
    n = child.number
    if child.ids not in ("uln", "upn+uln"):
        return ""
    if n >= 1_000_000:  # beyond any demo
        return uln_with_check(f"99{n:07d}") or ""
    found = (uln_with_check(f"99{n:06d}{d}") for d in range(10))  # digit 9: one that fits
    return next(number for number in found if number is not None)


def upn_unknown(child: DemoChild) -> str:
    """SEN2 1.7c: UN9, a young person never at a state-funded school or FE setting in England
    (no UPN, no ULN); "" when the child has either."""
    return "UN9" if child.ids == "none" else ""


def sen2_identity(child: DemoChild) -> tuple[str, str]:
    """What the SEN2 reader keys a demo child by: UPN, else ULN, else name and birth date."""
    if upn(child):
        return "upn", upn(child)
    if uln(child):
        return "uln", uln(child)
    forename, surname = names(child)
    return "demographic", f"{forename}|{surname}|{child.born.isoformat()}".lower()


def nhs_number(child: DemoChild) -> str:
    """An NHS number with its check digit, in the range reserved for testing (999...): the
    child's number in digits 4-8, digit 9 the first that lets a check digit fit."""
    n = child.number
    if n >= 100_000:  # beyond any demo: digits 4-9, and no number if no check digit fits
        return nhs_with_check(f"999{n:06d}") or ""
    found = (nhs_with_check(f"999{n:05d}{d}") for d in range(10))
    return next(number for number in found if number is not None)


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


# SEN2 2.6/2.7 and 3.3-3.6: mediation and tribunal about a decision, set (1) where it happened
Flag = Literal[
    "RequestMediation",
    "RequestTribunal",
    "AssessmentMediation",
    "AssessmentTribunal",
    "OtherMediation",
    "OtherTribunal",
]
REQUEST_FLAGS: tuple[Flag, ...] = ("RequestMediation", "RequestTribunal")
ASSESSMENT_FLAGS: tuple[Flag, ...] = (
    "AssessmentMediation",
    "AssessmentTribunal",
    "OtherMediation",
    "OtherTribunal",
)
Identifiers = Literal["upn", "upn+uln", "uln", "none"]


@dataclass(frozen=True)
class DemoRequest:
    """An earlier request for the same child, refused (not to assess) before the one in force."""

    received: date
    decided: date
    flags: frozenset[Flag] = frozenset()


@dataclass(frozen=True)
class DemoExtras:
    """What the SSD core tables do not hold: needs, placement, phase transfer, referrals."""

    needs: tuple[str, ...] = ()  # primary, then secondary
    setting: str = ""  # URN or SENSetting of the placement named in the plan
    phase_due: date | None = None  # PhaseTransferDueDate
    phase_final: date | None = None  # PhaseTransferFinalDate
    referrals: tuple[DemoReferral, ...] = ()
    transfer_la: str = ""  # SEN2 5.1 TransferLA: the plan was taken on from that LA


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
    earlier: tuple[DemoRequest, ...] = ()  # refused requests before ``received``
    flags: frozenset[Flag] = frozenset()  # mediation/tribunal about this request's decisions
    ids: Identifiers = "upn"


def flag_cells(child_flags: frozenset[Flag], which: tuple[Flag, ...]) -> list[str]:
    """Each flag of ``which`` as SEN2 writes it: 1 happened, 0 not."""
    return ["1" if f in child_flags else "0" for f in which]
