"""The partnership board's figures for a period: aggregates only, computed by the measures
code the worker exports to Grafana and ``casewatch replay --measures`` prints. Pure.

A board pack covers a month (``2026-11``) or a calendar year (``2026``). Its date, ``as_of``,
is the period's last day, or the caller's today when the period has not ended. Every figure
here is a count of children, plans, requests or referrals — never a child — and is later
suppressed for small numbers (``suppress``) before anything is rendered.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.journeys.domain.journey import Journey
from services.journeys.domain.measures import (
    OVERDUE_BANDS,
    PFA_PHASE,
    PHASE_NAMES,
    REVIEWS_OVERDUE,
    TRANSITION_COHORT,
    UNALLOCATED,
    Totals,
    contribution,
    open_waits,
    totals,
)
from services.journeys.domain.pack import RulePack
from services.journeys.domain.rules.waits import wait_due
from services.journeys.domain.sen2_figures import (
    SIX_WEEKS,
    TWENTY_WEEKS,
    TWENTY_WEEKS_EXCLUDING_EXCEPTIONS,
    sen2_figures,
)

Fraction = tuple[int, int]  # (numerator, denominator)
SEN2_IDS = (TWENTY_WEEKS, TWENTY_WEEKS_EXCLUDING_EXCEPTIONS, SIX_WEEKS)  # the board shows these
QUIET_AFTER_DAYS = 35  # a source with no new fact for 5 weeks has "gone quiet"


@dataclass(frozen=True)
class Period:
    """A month or a calendar year, and the date the pack is drawn up on."""

    start: date
    end: date  # inclusive
    as_of: date
    label: str
    kind: str  # "month" or "year"

    @classmethod
    def month(cls, year: int, month: int, today: date) -> Period:
        start = date(year, month, 1)
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        end = nxt - timedelta(days=1)
        return cls(start, end, min(end, today), f"{start:%B %Y}", "month")

    @classmethod
    def year(cls, year: int, today: date) -> Period:
        start, end = date(year, 1, 1), date(year, 12, 31)
        return cls(start, end, min(end, today), str(year), "year")

    @property
    def slug(self) -> str:
        return f"{self.start:%Y-%m}" if self.kind == "month" else f"{self.start:%Y}"


def months_of(year: int, until: date) -> list[tuple[date, date]]:
    """The calendar months of ``year`` that have begun by ``until``, each (first, last day)."""
    out = []
    for m in range(1, 13):
        first = date(year, m, 1)
        if first > until:
            break
        last = date(year + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
        out.append((first, last))
    return out


@dataclass(frozen=True)
class Sen2Year:
    """One calendar year's SEN2 figures: the year to date at the end of each month (the
    last month cut at ``as_of``), and the year so far."""

    year: int
    complete: bool
    months: tuple[tuple[date, Mapping[str, Fraction]], ...]
    total: Mapping[str, Fraction]


@dataclass(frozen=True)
class WaitRow:
    service: str
    name: str
    standard: str
    status: str
    waiting: int
    past_standard: int
    median_days: float | None
    longest_days: int | None


@dataclass(frozen=True)
class SourceRow:
    source: str
    facts: int
    last_fact_on: date | None
    quiet: bool
    errors: int
    warnings: int


@dataclass
class BoardFigures:
    period: Period
    rule_pack: str
    sen2: list[Sen2Year]
    overdue_by_band: dict[str, int]
    overdue_trend: list[tuple[date, int]]
    waits: list[WaitRow]
    cohorts: dict[str, dict[str, int]]  # phase -> status -> children
    unallocated_by_team: dict[str, int]
    sources: list[SourceRow] = field(default_factory=list)


def month_end_dates(as_of: date, count: int = 12) -> list[date]:
    """The last ``count`` month ends up to ``as_of`` (``as_of`` itself last)."""
    out = [as_of]
    d = date(as_of.year, as_of.month, 1) - timedelta(days=1)
    while len(out) < count:
        out.append(d)
        d = date(d.year, d.month, 1) - timedelta(days=1)
    return sorted(out)


def measures_on(journeys: Sequence[Journey], as_of: date, pack: RulePack) -> Totals:
    return totals(contribution(j, as_of, pack) for j in journeys)


def board_figures(
    journeys: Sequence[Journey],
    period: Period,
    pack: RulePack,
    *,
    quality: Mapping[str, tuple[int, int]] | None = None,
    last_fact: Mapping[str, tuple[int, date | None]] | None = None,
) -> BoardFigures:
    """Every figure of the pack. ``quality``: per source, (errors, warnings) of the reading;
    ``last_fact``: per source, (facts, date of the latest fact recorded)."""
    as_of = period.as_of
    sen2 = [
        _sen2_year(journeys, as_of.year, as_of, pack),
        _sen2_year(journeys, as_of.year - 1, as_of, pack),
    ]
    now = measures_on(journeys, as_of, pack)
    by_band = {band: now.sum(REVIEWS_OVERDUE, band=band) for _, band in OVERDUE_BANDS}
    trend = [
        (d, measures_on(journeys, d, pack).sum(REVIEWS_OVERDUE)) for d in month_end_dates(as_of)
    ]
    cohorts: dict[str, dict[str, int]] = {}
    for phase in (*PHASE_NAMES.values(), PFA_PHASE):
        cohorts[phase] = {
            s: now.sum(TRANSITION_COHORT, phase=phase, status=s) for s in ("done", "due", "overdue")
        }
    unallocated: dict[str, int] = {}
    for (name, labels), n in sorted(now.counts.items()):
        if name == UNALLOCATED.name and n:
            unallocated[labels[0]] = unallocated.get(labels[0], 0) + n
    sources = []
    for source in sorted(set(quality or {}) | set(last_fact or {})):
        errors, warnings = (quality or {}).get(source, (0, 0))
        facts, last = (last_fact or {}).get(source, (0, None))
        quiet = last is None or (as_of - last).days > QUIET_AFTER_DAYS
        sources.append(SourceRow(source, facts, last, quiet, errors, warnings))
    return BoardFigures(
        period=period,
        rule_pack=pack.version,
        sen2=sen2,
        overdue_by_band=by_band,
        overdue_trend=trend,
        waits=waits_on(journeys, as_of, pack),
        cohorts=cohorts,
        unallocated_by_team=unallocated,
        sources=sources,
    )


def sen2_period(
    journeys: Sequence[Journey], start: date, end: date, as_of: date, pack: RulePack
) -> dict[str, Fraction]:
    """The DfE's figures for ``[start, end]`` from facts known on ``as_of``, as
    ``replay --measures --from START --to END --as-of AS_OF`` prints them."""
    found = sen2_figures(journeys, start, end, as_of, pack)
    return {k: (found[k].numerator, found[k].denominator) for k in SEN2_IDS}


def _sen2_year(journeys: Sequence[Journey], year: int, as_of: date, pack: RulePack) -> Sen2Year:
    until = min(as_of, date(year, 12, 31))
    months = tuple(  # the year to date at each month's end: numbers a board can read
        (first, sen2_period(journeys, date(year, 1, 1), min(last, until), as_of, pack))
        for first, last in months_of(year, until)
    )
    total = sen2_period(journeys, date(year, 1, 1), until, as_of, pack)
    return Sen2Year(year, until == date(year, 12, 31), months, total)


def waits_on(journeys: Sequence[Journey], as_of: date, pack: RulePack) -> list[WaitRow]:
    """Open waits per service on ``as_of``: how many, how long (median, longest), and how
    many are past the service's standard (the pack's first threshold, as R-WAIT)."""
    days: dict[str, list[int]] = {code: [] for code in pack.waits}
    past: dict[str, int] = {code: 0 for code in pack.waits}
    for journey in journeys:
        for referral, service in open_waits(journey, as_of, pack):
            if service not in pack.waits:
                continue
            days[service].append((as_of - referral.received_on).days)
            if as_of > wait_due(referral.received_on, pack.waits[service].thresholds[0]):
                past[service] += 1
    rows = []
    for code, wait in pack.waits.items():
        waited = days[code]
        rows.append(
            WaitRow(
                service=code,
                name=wait.name,
                standard=wait.standard,
                status=wait.status,
                waiting=len(waited),
                past_standard=past[code],
                median_days=statistics.median(waited) if waited else None,
                longest_days=max(waited) if waited else None,
            )
        )
    return rows
