"""A synthetic authority — SSD export, SEN2 return, health referrals — for demos and tests.

Every child is given a *pathway* first (plan reviewed on time, plan with a lapsed annual
review, open request past 20 weeks, ...) and then dates that put it clearly inside that
pathway on ``today``, with weeks of margin on either side of every statutory date.  The
summary counts pathways, not dates, so a test can fold the adapter's events through the
domain rules and check that the rules find exactly what was built.

The mix follows rules.md §8: ~70% of children have a plan, about half of plans are issued
within 20 weeks, ~85% of decisions whether to assess come within 6 weeks, and about one plan
in six has a lapsed annual review.  Names are from small, obviously made-up lists.  Needs,
placements, year groups at a transfer and referrals are added by ``demo_extras``; the files
are written by ``demo_ssd``, ``demo_sen2`` and ``demo_health``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from services.ingest.demo.extras import add_extras
from services.ingest.demo.health import write_health
from services.ingest.demo.history import add_history, messy_faults
from services.ingest.demo.marker import stats, write_marker
from services.ingest.demo.sen2 import DEMO_LA, SEN2_FILE, write_sen2
from services.ingest.demo.ssd import Style, write_ssd
from services.ingest.demo.types import (
    CASEWORKERS,
    FORENAMES,
    SURNAMES,
    DemoChild,
    DemoPlan,
    Pathway,
)

__all__ = ["CASEWORKERS", "FORENAMES", "SURNAMES", "DemoChild", "DemoSummary", "write_demo_export"]

# share of children on each pathway
MIX: Mapping[Pathway, float] = {
    "plan_reviewed": 0.55,
    "plan_lapsed": 0.11,
    "plan_ceased": 0.04,
    "in_progress": 0.12,
    "overdue": 0.05,
    "refused": 0.08,
    "withdrawn": 0.05,
}
ISSUE_DAYS = 140  # R-ISSUE-20W
DECIDE_DAYS = 42  # R-DECIDE-6W
DECISION_DAYS = 28  # R-AR-DECISION-4W


@dataclass(frozen=True)
class DemoSummary:
    """What was built. The two rule counts are what the domain must flag on ``today``."""

    children: int
    plans: int  # issued, including ceased
    plans_in_force: int
    ceased_plans: int
    lapsed_reviews: int  # plans in force whose review_due < today (R-AR-DUE)
    open_20w_breaches: int  # open requests past received + 140 days (R-ISSUE-20W)
    open_20w_breaches_with_exception: int
    withdrawn_requests: int
    plans_within_20_weeks: int
    decisions: int  # decisions whether to assess (Y or N), earlier refused requests too
    decisions_within_6_weeks: int
    requests: int  # every request, earlier refused ones too
    children_with_earlier_requests: int
    transferred_in: int  # plans in force taken on from another LA
    flags: Mapping[str, int]  # SEN2 mediation/tribunal flags set, by element
    identifiers: Mapping[str, int]  # children by identifiers held: upn, upn+uln, uln, none
    caseload: Mapping[str, int]  # children per caseworker
    lapsed_by_caseworker: Mapping[str, int]
    breaches_by_caseworker: Mapping[str, int]
    faults: Mapping[str, int] = field(default_factory=dict)  # --messy: children per fault


# --- building children ---------------------------------------------------------------------


def pathways(children: int, rng: random.Random) -> list[Pathway]:
    """``children`` pathways in the proportions of MIX (largest remainder), shuffled."""
    exact = {p: children * share for p, share in MIX.items()}
    counts = {p: int(x) for p, x in exact.items()}
    by_remainder = sorted(MIX, key=lambda p: (counts[p] - exact[p], list(MIX).index(p)))
    for p in by_remainder[: children - sum(counts.values())]:
        counts[p] += 1
    chosen: list[Pathway] = [p for p in MIX for _ in range(counts[p])]
    rng.shuffle(chosen)
    return chosen


def _days(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(days=rng.randint(low, high))


def _decide_days(rng: random.Random) -> timedelta:
    """~85% of decisions whether to assess within 6 weeks (DfE 2024: 84.8%)."""
    return _days(rng, 21, DECIDE_DAYS) if rng.random() < 0.85 else _days(rng, 43, 75)


def _issue_days(rng: random.Random) -> timedelta:
    """About half of plans within 20 weeks (DfE 2024: 46.4%), a tail beyond a year."""
    draw = rng.random()
    if draw < 0.5:
        return _days(rng, 84, ISSUE_DAYS)
    return _days(rng, ISSUE_DAYS + 1, 364) if draw < 0.88 else _days(rng, 365, 500)


def _plan(rng: random.Random, pathway: Pathway, today: date) -> DemoPlan:
    if pathway == "plan_reviewed" and rng.random() < 0.25:
        return DemoPlan(start=today - _days(rng, 20, 330))  # first review not due yet
    start = today - _days(rng, 400, 6 * 365)
    if pathway == "plan_ceased":
        ceased = start + _days(rng, 180, (today - start).days - 1)
        return DemoPlan(start=start, ceased=ceased, cease_reason=rng.randint(1, 9))
    if pathway == "plan_reviewed":
        decided = today - _days(rng, 10, 340)  # review_due >= today + 25 days
        return _reviewed(rng, start, decided, rng.random() < 0.6)
    earliest = max(start + timedelta(days=180), today - timedelta(days=730))
    latest = today - timedelta(days=380)  # review_due <= today - 14 days
    plan = DemoPlan(start=start)
    if earliest <= latest and rng.random() < 0.6:
        plan = _reviewed(rng, start, earliest + _days(rng, 0, (latest - earliest).days), True)
    if rng.random() < 0.3:  # the next meeting held, its decision not made: still lapsed
        plan = replace(plan, meeting=today - _days(rng, 7, 40))
    return plan


def _reviewed(rng: random.Random, start: date, decided: date, with_meeting: bool) -> DemoPlan:
    """DfE 2024: 44.4% of review decisions within 4 weeks of the meeting (R-AR-DECISION-4W)."""
    gap = _days(rng, 10, DECISION_DAYS) if rng.random() < 0.444 else _days(rng, 29, 70)
    meeting = max(decided - gap, start + timedelta(days=1)) if with_meeting else None
    outcome = rng.choice(("M", "M", "M", "A", ""))
    return DemoPlan(start=start, last_review=decided, meeting=meeting, review_outcome=outcome)


def _born(rng: random.Random, received: date) -> date:
    return received - _days(rng, 2 * 365, 15 * 365)  # aged 2 to 15 at the request


def _child_with_plan(rng: random.Random, pathway: Pathway, today: date) -> DemoChild:
    plan = _plan(rng, pathway, today)
    issue = _issue_days(rng)
    received = plan.start - issue
    exception = issue.days > ISSUE_DAYS and rng.random() < 0.12
    return DemoChild(
        number=0,
        pathway=pathway,
        caseworker="",
        born=_born(rng, received),
        received=received,
        decision=("Y", received + _decide_days(rng)),  # at most 75 days: before the plan
        assessment=("Y", plan.start, exception),
        plan=plan,
    )


def _child_without_plan(rng: random.Random, pathway: Pathway, today: date) -> DemoChild:
    decision: tuple[str, date] | None = None
    assessment: tuple[str, date | None, bool] | None = None
    if pathway == "in_progress":
        received = today - _days(rng, 5, 130)  # issue due >= today + 10 days
        decided = received + _decide_days(rng)
        if decided < today:
            decision, assessment = ("Y", decided), ("", None, False)
    elif pathway == "overdue":
        received = today - _days(rng, 150, 400)  # issue due <= today - 10 days
        decision = ("Y", received + _decide_days(rng))
        exception = rng.random() < 0.25
        assessment = ("A", None, True) if exception else ("", None, False)
    elif pathway == "refused":
        received = today - _days(rng, 150, 1000)
        if rng.random() < 2 / 3:
            decision = ("N", received + _decide_days(rng))  # not to assess
        else:
            decision = ("Y", received + _decide_days(rng))
            assessment = ("N", received + _days(rng, 90, 112), False)  # not to issue
    else:
        received = today - _days(rng, 60, 700)
        decision = ("W", received + _days(rng, 5, 40))
    return DemoChild(0, pathway, "", _born(rng, received), received, decision, assessment)


def build_children(children: int, seed: int, today: date) -> list[DemoChild]:
    """The synthetic authority's children, the same for the same arguments."""
    rng = random.Random(seed)
    built = []
    for number, pathway in enumerate(pathways(children, rng), start=1):
        caseworker = rng.choice(sorted(CASEWORKERS))
        if pathway.startswith("plan"):
            child = _child_with_plan(rng, pathway, today)
        else:
            child = _child_without_plan(rng, pathway, today)
        built.append(replace(child, number=number, caseworker=caseworker))
    # other streams, so the core authority is the same with or without the extras
    built = add_extras(built, random.Random(seed + 1_000_003), today)
    return add_history(built, random.Random(seed + 2_000_003), today)


# --- the summary ---------------------------------------------------------------------------


def summarise(children: Sequence[DemoChild]) -> DemoSummary:
    """Counts of what was built, from the pathways (not by re-running the rules)."""
    plans = [c for c in children if c.plan is not None]
    decided = [
        (c.received, c.decision[1]) for c in children if c.decision and c.decision[0] in ("Y", "N")
    ]
    decided += [(r.received, r.decided) for c in children for r in c.earlier]
    flags = Counter(f for c in children for f in c.flags)
    flags.update(f for c in children for r in c.earlier for f in r.flags)
    overdue = [c for c in children if c.pathway == "overdue"]
    lapsed = [c for c in children if c.pathway == "plan_lapsed"]
    return DemoSummary(
        children=len(children),
        plans=len(plans),
        plans_in_force=sum(1 for c in plans if c.pathway != "plan_ceased"),
        ceased_plans=sum(1 for c in plans if c.pathway == "plan_ceased"),
        lapsed_reviews=len(lapsed),
        open_20w_breaches=len(overdue),
        open_20w_breaches_with_exception=sum(
            1 for c in overdue if c.assessment and c.assessment[2]
        ),
        withdrawn_requests=sum(1 for c in children if c.pathway == "withdrawn"),
        plans_within_20_weeks=sum(
            1 for c in plans if c.plan and (c.plan.start - c.received).days <= ISSUE_DAYS
        ),
        decisions=len(decided),
        decisions_within_6_weeks=sum(1 for r, d in decided if (d - r).days <= DECIDE_DAYS),
        requests=len(children) + sum(len(c.earlier) for c in children),
        children_with_earlier_requests=sum(1 for c in children if c.earlier),
        transferred_in=sum(1 for c in children if c.extras.transfer_la),
        flags=dict(sorted(flags.items())),
        identifiers=dict(sorted(Counter(c.ids for c in children).items())),
        caseload=_by_caseworker(children),
        lapsed_by_caseworker=_by_caseworker(lapsed),
        breaches_by_caseworker=_by_caseworker(overdue),
    )


def _by_caseworker(children: Sequence[DemoChild]) -> dict[str, int]:
    counts = Counter(c.caseworker for c in children)
    return {caseworker: counts[caseworker] for caseworker in sorted(CASEWORKERS)}


def write_demo_export(
    out_dir: Path,
    *,
    children: int,
    seed: int,
    today: date,
    messy: bool = False,
    la_code: str = DEMO_LA,
    sen2: bool = True,
    health: bool = True,
) -> DemoSummary:
    """Write a synthetic authority of ``children`` children dated relative to ``today``.

    ``out_dir`` gets the SSD CSVs, and (unless turned off) ``health_referrals.csv`` with its
    ``health_mapping.yaml``, and ``sen2/sen2_return.xml``: the same children as the DfE
    return, in a subdirectory because it restates the SSD export (ingest one or the other).
    ``messy`` writes the CSVs as integrators' files look: BOM, CRLF, mixed date shapes,
    blank trailing columns and repeated rows; and the faults real returns carry
    (``history.messy_faults``: wrong UPN check letters, ULN check digits, a malformed
    postcode, which warn; an impossible date, which rejects one earlier request).  The same
    arguments always write the same bytes.  Every date but a planned transfer (and a messy
    fault) is on or before ``today``; read it with an ``extracted_at`` on ``today``.
    """
    if children < 0:
        raise ValueError("children must not be negative")
    built = build_children(children, seed, today)
    style = Style(random.Random(seed + 7) if messy else None)
    faults = messy_faults(built, random.Random(seed + 11)) if messy else {}
    before = stats(out_dir) if out_dir.is_dir() else {}
    write_ssd(out_dir, built, style, faults)
    if health:
        write_health(out_dir, built, style)
    if sen2:
        path = out_dir / "sen2" / SEN2_FILE
        write_sen2(path, built, today=today, la_code=la_code, faults=faults)
    write_marker(out_dir, before)  # these children may be keyed with the development secret
    counts = Counter(f for found in faults.values() for f in found)
    return replace(summarise(built), faults=dict(sorted(counts.items())))
