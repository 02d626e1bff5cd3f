"""What the synthetic authority holds beyond the SSD core: needs, placements, year groups at a
transfer, and referrals to health services.

Drawn from their own random stream, after the core children are built, so the pathways (and
the DemoSummary the rules are cross-checked against) are unchanged by them.

Primary need mix: approximate shares of EHC plans by primary type of need in England,
January 2024 (DfE "Special educational needs in England"; rules.md §8 gives no need mix).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta

from services.ingest.demo.types import DemoChild, DemoExtras, DemoReferral

NEED_MIX: Mapping[str, float] = {
    "ASD": 0.33, "SLCN": 0.21, "SEMH": 0.15, "SLD": 0.07, "MLD": 0.07, "SPLD": 0.04,
    "PD": 0.03, "PMLD": 0.02, "HI": 0.02, "VI": 0.01, "DS": 0.01, "MSI": 0.005, "OTH": 0.035,
}  # fmt: skip
# local health service codes, as a health system writes them, and the rule-pack service
HEALTH_SERVICES: Mapping[str, str] = {
    "ASD-DIAG": "autism",
    "SLT": "salt",
    "CAMHS": "camhs",
    "PAED-COMM": "paediatrics",
    "OT": "ot",
}
_SERVICE_MIX = (("ASD-DIAG", 0.3), ("SLT", 0.3), ("CAMHS", 0.15), ("PAED-COMM", 0.15), ("OT", 0.1))
TRANSFER_YEARS = (6, 9, 11)  # primary -> secondary, Year 9 PfA, secondary -> post-16
SETTINGS = ("OLA", "EHE", "OTH")


def _academic_year(on: date) -> int:
    return on.year - (1 if on.month < 9 else 0)


def _pick(rng: random.Random, mix: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in mix], weights=[w for _, w in mix])[0]


def _born_in_ncy(rng: random.Random, ncy: int, today: date) -> date:
    """A date of birth that puts the child in year group ``ncy`` on ``today`` (R-NCY)."""
    year = _academic_year(today) - 5 - ncy  # the academic year of birth
    start = date(year, 9, 1)
    return start + timedelta(days=rng.randint(0, 364))


def _phase(rng: random.Random, ncy: int, today: date) -> tuple[date | None, date | None]:
    """SEN2 5.6: half of the transfer cohort have the move recorded; of those, a final amended
    plan naming the next setting where the year is far enough on."""
    if ncy not in (6, 11) or rng.random() < 0.5:
        return None, None
    cohort = date(_academic_year(today), 9, 1)
    due = date(cohort.year + 1, 9, 1)
    days_in = (today - cohort).days
    if days_in < 45 or rng.random() < 0.4:
        return due, None
    return due, cohort + timedelta(days=rng.randint(30, min(days_in, 160)))


def _referrals(rng: random.Random, child: DemoChild, today: date) -> tuple[DemoReferral, ...]:
    """About 30% of children referred to a service; many waits are long (R-WAIT)."""
    found = []
    for _ in range(1 if rng.random() < 0.3 else 0):
        received = max(
            today - timedelta(days=rng.randint(7, 600)), child.born + timedelta(days=400)
        )
        code = _pick(rng, _SERVICE_MIX)
        referral = DemoReferral(code, received)
        waited = rng.randint(14, 420)
        if rng.random() < 0.55 and received + timedelta(days=waited) <= today:
            contact = received + timedelta(days=waited)
            closed = contact + timedelta(days=rng.randint(30, 200)) if rng.random() < 0.35 else None
            referral = replace(
                referral, contact=contact, closed=closed if closed and closed <= today else None
            )
        found.append(referral)
    return tuple(found)


def add_extras(children: list[DemoChild], rng: random.Random, today: date) -> list[DemoChild]:
    needs = list(NEED_MIX.items())
    built = []
    for child in children:
        extras = DemoExtras(referrals=_referrals(rng, child, today))
        plan = child.plan
        if plan is not None and plan.ceased is None:
            primary = _pick(rng, needs)
            secondary = _pick(rng, [(k, w) for k, w in needs if k != primary])
            extras = replace(
                extras,
                needs=(primary, secondary) if rng.random() < 0.3 else (primary,),
                setting=str(100000 + child.number) if rng.random() < 0.9 else rng.choice(SETTINGS),
            )
            draw = rng.random()
            if draw < 0.24:  # 8% each in Years 6, 9 and 11
                ncy = TRANSFER_YEARS[int(draw / 0.08)]
                born = _born_in_ncy(rng, ncy, today)
                if born < child.received - timedelta(days=2 * 365):
                    due, final = _phase(rng, ncy, today)
                    extras = replace(extras, phase_due=due, phase_final=final)
                    child = replace(child, born=born)
        built.append(replace(child, extras=extras))
    return built
