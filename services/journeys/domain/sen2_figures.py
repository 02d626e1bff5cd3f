"""The DfE's SEN2 timeliness figures, as the DfE defines them (docs/dashboards.md cites each
definition). Pure; the one place these figures are computed: the worker's metrics, ``casewatch
replay --measures`` and any report call :func:`sen2_figures` or :func:`journey_figures`.

For a period ``[start, end]`` (a calendar year, the year to date, the last 12 months):

- ``twenty_weeks``: new EHC plans issued in the period by this LA (a plan taken on by transfer
  is not a new plan) whose request is known, with ``issued <= received + 140 days`` (Reg 13(2))
  over all of them. ``_excluding_exceptions`` leaves out plans whose assessment recorded a
  Reg 10(4) exception (SEN2 Week20 = 1) from numerator and denominator; ``_no_mediation_or_
  tribunal`` leaves out plans whose request or assessment records a mediation or a Tribunal
  appeal (SEN2 2.6, 2.7, 3.3, 3.4; the DfE's 2024 guidance: cases "where no mediation or
  tribunal has taken place"); the last figure leaves out both. A plan dated before its
  request is an error the DfE reports as "not available": it is in no figure.
- ``six_weeks``: requests received in the period with a decision whether to assess (Y or N)
  dated on or after the request, with ``decided <= received + 42 days`` (Reg 5(1)) over all of
  them. Requests with no decision yet (A), withdrawn (W) or historical (H) are in neither
  part: the DfE publishes them beside the figure (``requests_decision_not_made``,
  ``requests_withdrawn``), and its within / over 6 weeks percentages add up to 100.

Only facts known on ``as_of`` count (dated on or before it); by default ``as_of`` is the
period's end. A completed year evaluated later (``as_of`` after ``end``) counts decisions
made after 31 December about requests received in the year, as the January return does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from services.journeys.domain.journey import Journey, RequestView, plans, requests
from services.journeys.domain.pack import DEFAULT_PACK, RulePack

TWENTY_WEEKS = "twenty_weeks"
TWENTY_WEEKS_EXCLUDING_EXCEPTIONS = "twenty_weeks_excluding_exceptions"
TWENTY_WEEKS_NO_MEDIATION_OR_TRIBUNAL = "twenty_weeks_no_mediation_or_tribunal"
TWENTY_WEEKS_EXCLUDING_EXCEPTIONS_NO_MEDIATION_OR_TRIBUNAL = (
    "twenty_weeks_excluding_exceptions_no_mediation_or_tribunal"
)
SIX_WEEKS = "six_weeks"
FIGURES: tuple[str, ...] = (
    TWENTY_WEEKS,
    TWENTY_WEEKS_EXCLUDING_EXCEPTIONS,
    TWENTY_WEEKS_NO_MEDIATION_OR_TRIBUNAL,
    TWENTY_WEEKS_EXCLUDING_EXCEPTIONS_NO_MEDIATION_OR_TRIBUNAL,
    SIX_WEEKS,
)
WINDOW_DAYS = 365  # the rolling 12 months: as_of - 364 days to as_of, both included


@dataclass(frozen=True)
class Figure:
    """A DfE figure as a fraction kept whole: ``numerator`` of ``denominator`` (0 of 0 when
    nothing was issued or decided — no percentage, rather than 0%)."""

    numerator: int = 0
    denominator: int = 0

    @property
    def ratio(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def __add__(self, other: Figure) -> Figure:
        return Figure(self.numerator + other.numerator, self.denominator + other.denominator)


@dataclass(frozen=True)
class Period:
    """A reporting period, both ends included, with the label the board shows."""

    name: str  # calendar_year, year_to_date, rolling_12m
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.name == "rolling_12m":
            return f"12 months to {self.end.isoformat()}"
        if self.name == "year_to_date":
            return f"{self.start.year} to date ({self.end.isoformat()})"
        if self.start == date(self.start.year, 1, 1) and self.end == date(self.start.year, 12, 31):
            return f"calendar year {self.start.year}"
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


def calendar_year(year: int) -> Period:
    return Period("calendar_year", date(year, 1, 1), date(year, 12, 31))


def board_periods(as_of: date) -> tuple[Period, ...]:
    """The partnership board's three periods on ``as_of``: the last complete calendar year,
    the current year to date and the rolling 12 months."""
    return (
        Period("last_year", date(as_of.year - 1, 1, 1), date(as_of.year - 1, 12, 31)),
        Period("year_to_date", date(as_of.year, 1, 1), as_of),
        Period("rolling_12m", as_of - timedelta(days=WINDOW_DAYS - 1), as_of),
    )


def sen2_figures(
    journeys: Iterable[Journey],
    start: date,
    end: date,
    as_of: date | None = None,
    pack: RulePack = DEFAULT_PACK,
) -> dict[str, Figure]:
    """The five SEN2 figures of the authority for ``[start, end]``, from facts known on
    ``as_of`` (default ``end``)."""
    total = {name: Figure() for name in FIGURES}
    for journey in journeys:
        for name, figure in journey_figures(journey, start, end, as_of, pack).items():
            total[name] = total[name] + figure
    return total


def journey_figures(
    journey: Journey,
    start: date,
    end: date,
    as_of: date | None = None,
    pack: RulePack = DEFAULT_PACK,
) -> Mapping[str, Figure]:
    """What one child adds to each figure (only the figures it adds to)."""
    known = end if as_of is None else as_of
    last = min(end, known)
    counts: dict[str, list[int]] = {}

    def add(name: str, on_time: bool) -> None:
        part = counts.setdefault(name, [0, 0])
        part[0] += on_time
        part[1] += 1

    by_id = {r.request_id: r for r in requests(journey)}
    issue_days = timedelta(days=pack.assessment.issue_days)
    for p in plans(journey):
        r = by_id.get(p.request_id) if p.request_id is not None else None
        issued = p.issued_on
        if r is None or issued is None or not start <= issued <= last or issued < r.received_on:
            continue
        on_time = issued <= r.received_on + issue_days
        exception = _exception(r, known)
        disputed = _mediation_or_tribunal(r, known)
        add(TWENTY_WEEKS, on_time)
        if not exception:
            add(TWENTY_WEEKS_EXCLUDING_EXCEPTIONS, on_time)
        if not disputed:
            add(TWENTY_WEEKS_NO_MEDIATION_OR_TRIBUNAL, on_time)
        if not exception and not disputed:
            add(TWENTY_WEEKS_EXCLUDING_EXCEPTIONS_NO_MEDIATION_OR_TRIBUNAL, on_time)
    decide_days = timedelta(days=pack.assessment.decide_days)
    for r in by_id.values():
        d = r.decision
        if not start <= r.received_on <= last or d is None or d.outcome not in ("Y", "N"):
            continue
        if d.decided_on is None or not r.received_on <= d.decided_on <= known:
            continue
        add(SIX_WEEKS, d.decided_on <= r.received_on + decide_days)
    return {name: Figure(n, of) for name, (n, of) in counts.items()}


def _assessment_known(r: RequestView, known: date) -> bool:
    a = r.assessment
    return a is not None and (a.outcome_on is None or a.outcome_on <= known)


def _exception(r: RequestView, known: date) -> bool:
    """SEN2 Week20 = 1 on the assessment (R-EXCEPTION)."""
    return _assessment_known(r, known) and r.assessment is not None and r.assessment.exception


def _mediation_or_tribunal(r: RequestView, known: date) -> bool:
    if r.mediation or r.tribunal:
        return True
    a = r.assessment
    return _assessment_known(r, known) and a is not None and (a.mediation or a.tribunal) is True


def relevant_dates(journey: Journey) -> list[date]:
    """The dates a journey's figures are counted by (plans issued, requests received): each
    leaves the rolling 12 months ``WINDOW_DAYS`` after it."""
    found = [p.issued_on for p in plans(journey) if p.issued_on is not None]
    return found + [r.received_on for r in requests(journey)]


# England's published figures for each calendar year (DfE, "Education, health and care plans",
# explore-education-statistics.service.gov.uk/find-statistics/education-health-and-care-plans;
# the release of June in the following year). 2019-2023 from earlier releases (rules.md §8);
# 2024 from reporting year 2025, published 26 June 2025. The DfE publishes no figure without
# mediation or tribunal cases: those are absent here, never guessed.
ENGLAND_SOURCE = (
    "DfE, Education, health and care plans (explore-education-statistics.service.gov.uk/"
    "find-statistics/education-health-and-care-plans), reporting year {release}"
)
ENGLAND: dict[int, dict[str, float]] = {
    2019: {TWENTY_WEEKS_EXCLUDING_EXCEPTIONS: 0.604, TWENTY_WEEKS: 0.587},
    2022: {TWENTY_WEEKS_EXCLUDING_EXCEPTIONS: 0.492, TWENTY_WEEKS: 0.477},
    2023: {TWENTY_WEEKS_EXCLUDING_EXCEPTIONS: 0.503, TWENTY_WEEKS: 0.491},
    2024: {TWENTY_WEEKS_EXCLUDING_EXCEPTIONS: 0.464, TWENTY_WEEKS: 0.459, SIX_WEEKS: 0.848},
}


def england(year: int) -> dict[str, object] | None:
    """England's published figures for calendar ``year`` with their source, or None when the
    DfE has not published that year (the current year never is)."""
    found = ENGLAND.get(year)
    if found is None:
        return None
    return {"year": year, "source": ENGLAND_SOURCE.format(release=year + 1), "figures": found}
