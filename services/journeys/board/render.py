"""The board pack as one self-contained HTML file (inline CSS and SVG, no script, no network),
A4 when printed. Every number passes through ``suppress`` first; every table cell that holds
a figure names it (``data-figure``), so a test can hold each one to ``replay --measures``."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import date

from services.journeys.board import charts
from services.journeys.board.figures import BoardFigures, Fraction, Sen2Year
from services.journeys.board.suppress import Cell, count, rate, table
from services.journeys.domain.measures import OVERDUE_BANDS
from services.journeys.domain.sen2_figures import (
    ENGLAND,
    TWENTY_WEEKS_EXCLUDING_EXCEPTIONS,
)

DOCS = "docs/dashboards.md"  # in the casewatch repository: where each definition is cited
PHASE_WORDS = {
    "reception": "Starting school (Reception)",
    "infant-junior": "Infant to junior school",
    "primary-secondary": "Primary to secondary (Year 6)",
    "secondary-post16": "Secondary to post-16 (Year 11)",
    "year9-pfa": "Year 9 preparing-for-adulthood review",
}
PHASE_SHORT = {
    "reception": "Reception",
    "infant-junior": "Infant-junior",
    "primary-secondary": "Year 6",
    "secondary-post16": "Year 11",
    "year9-pfa": "Year 9 PfA",
}
STATUS_WORDS = {"done": "Done", "due": "Not yet, on track", "overdue": "Deadline missed"}
SEN2_WORDS = {
    "twenty_weeks": "Plans issued within 20 weeks (including exceptions)",
    "twenty_weeks_excluding_exceptions": "Plans issued within 20 weeks (excluding exceptions)",
    "six_weeks": "Requests decided within 6 weeks",
}

CSS = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "Liberation Sans", Arial, sans-serif; color: #0b0c0c; font-size: 10.5pt;
       line-height: 1.35; margin: 0; }
.cover { page-break-after: always; padding-top: 60mm; }
.cover h1 { font-size: 26pt; margin: 0 0 6mm; }
.cover p { font-size: 12pt; margin: 2mm 0; }
section { page-break-before: always; }
h2 { font-size: 15pt; margin: 0 0 3mm; border-bottom: 2px solid #1d70b8; }
h3 { font-size: 11.5pt; margin: 5mm 0 2mm; }
.reading { font-size: 12pt; font-weight: bold; margin: 2mm 0 3mm; }
.definition { font-size: 9pt; color: #505a5f; margin-top: 3mm; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 2mm 0; }
th, td { border-bottom: 1px solid #b1b4b6; padding: 1.2mm 1.5mm; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #0b0c0c; }
td.suppressed { color: #505a5f; font-style: italic; }
svg { max-width: 100%; height: auto; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _td(cell: Cell, figure: str) -> str:
    cls = ' class="suppressed"' if cell.suppressed else ""
    return f'<td data-figure="{_e(figure)}"{cls}>{_e(cell.text)}</td>'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    th = "".join(f'<th scope="col">{_e(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _pct(f: Fraction) -> float | None:
    cell = rate(*f)
    return None if cell.suppressed else 100 * f[0] / f[1]


def _sen2_reading(year: Sen2Year, england: float | None, key: str) -> str:
    shown = [(m, p) for m, fig in year.months if (p := _pct(fig[key])) is not None]
    total = rate(*year.total[key])
    words = (
        f"{year.year}{'' if year.complete else ' so far'}: {total.text} of plans issued within "
        "20 weeks (excluding exceptions)"
    )
    if len(shown) >= 2:
        (m0, p0), (_, p1) = shown[-2], shown[-1]
        way = "Up" if p1 > p0 else "Down" if p1 < p0 else "Level"
        words += f" ({way} from {p0:.0f}% at the end of {m0:%B})"
    if england is not None:
        words += f"; England {england:.1f}%"
    return words + "."


def _england_year(year: int) -> int | None:
    """The latest year England's figures are published for, up to ``year``."""
    known = [y for y in ENGLAND if y <= year]
    return max(known) if known else None


def _sen2_section(fig: BoardFigures) -> str:
    parts = [
        '<section id="timeliness"><h2>EHC needs assessments: the DfE\'s timeliness figures</h2>'
    ]
    for year in fig.sen2:
        ey = _england_year(year.year)
        england = 100 * ENGLAND[ey][TWENTY_WEEKS_EXCLUDING_EXCEPTIONS] if ey is not None else None
        parts.append(f"<h3>{year.year}{' (complete year)' if year.complete else ' to date'}</h3>")
        reading = _sen2_reading(year, england, TWENTY_WEEKS_EXCLUDING_EXCEPTIONS)
        parts.append(f'<p class="reading">{_e(reading)}</p>')
        months = [f"{m:%b}" for m, _ in year.months]
        series = [
            (SEN2_WORDS[k], [_pct(f[k]) for _, f in year.months])
            for k in ("twenty_weeks_excluding_exceptions", "twenty_weeks", "six_weeks")
        ]
        reference = (
            (f"England {ey}, 20 weeks excl. exceptions", england) if ey and england else None
        )
        parts.append(
            charts.rate_lines(
                f"Year to date at each month end, {year.year}", months, series, reference
            )
        )
        head = [
            "Year to date at the end of",
            "Plans issued",
            "Within 20 weeks",
            "%",
            "Excl. exceptions: issued",
            "within 20 weeks",
            "%",
            "Requests received",
            "Decided within 6 weeks",
            "%",
        ]
        rows = []
        for m, f in [*year.months, (None, year.total)]:
            name = f"{m:%B}" if m is not None else "The year" + ("" if year.complete else " so far")
            slug = f"{m:%Y-%m}" if m is not None else str(year.year)
            row = [f'<th scope="row">{_e(name)}</th>']
            for key in SEN2_WORDS:
                n, d = f[key]
                row += [
                    _td(count(d), f"sen2.{key}.denominator.{slug}"),
                    _td(count(n), f"sen2.{key}.numerator.{slug}"),
                    _td(rate(n, d), f"sen2.{key}.rate.{slug}"),
                ]
            rows.append(row)
        parts.append(_table(head, rows))
    parts.append(
        '<p class="definition">Each row counts from 1 January to the end of the month. '
        "Definitions (DfE, SEN2): a plan counts in the calendar year it was issued, on time "
        "if issued within 20 weeks (140 days) of the request; the "
        "exceptions of Reg 10(4) are taken out of both numerator and denominator in the DfE "
        "headline. The 6-week figure counts requests received in the period and whether the "
        'decision whether to assess was made within 42 days. England: DfE "Education, health '
        f'and care plans" (most recent published year). See <a href="{DOCS}#sen2-figures">'
        "docs/dashboards.md</a>.</p></section>"
    )
    return "".join(parts)


def _overdue_section(fig: BoardFigures) -> str:
    bands = [band for _, band in OVERDUE_BANDS]
    values = {("overdue", b): fig.overdue_by_band.get(b, 0) for b in bands}
    t = table(["overdue"], bands, values, column_totals=False)
    cells = t.cells[0]
    total = t.row_totals[0] if t.row_totals else count(sum(values.values()))
    trend_cells = [count(n) for _, n in fig.overdue_trend]
    reading = f"{total.text} annual reviews overdue on {fig.period.as_of:%d %B %Y}"
    if len(trend_cells) >= 2 and not trend_cells[-2].suppressed and not total.suppressed:
        before = trend_cells[-2].text
        reading += f" (end of {fig.overdue_trend[-2][0]:%B}: {before})"
    rows = [
        [f'<th scope="row">{_e(b)}</th>', _td(c, f"overdue.band.{b}")]
        for b, c in zip(bands, cells, strict=True)
    ]
    rows.append(['<th scope="row">All overdue</th>', _td(total, "overdue.total")])
    trend_rows = [
        [f'<th scope="row">{d:%d %b %Y}</th>', _td(c, f"overdue.trend.{d.isoformat()}")]
        for (d, _), c in zip(fig.overdue_trend, trend_cells, strict=True)
    ]
    return (
        '<section id="reviews"><h2>Annual reviews overdue</h2>'
        f'<p class="reading">{_e(reading)}.</p>'
        + charts.bars(
            "Overdue reviews by how long overdue", bands, [c.shown for c in cells], "reviews"
        )
        + _table(["How long overdue", "Reviews"], rows)
        + charts.trend(
            "Overdue reviews at each month end",
            [f"{d:%b %y}" for d, _ in fig.overdue_trend],
            [c.shown for c in trend_cells],
            "reviews",
        )
        + _table(["Month end", "Reviews overdue"], trend_rows)
        + '<p class="definition">An annual review is overdue when no completed review (the '
        "local authority's decision after the meeting) falls within 12 months of the last one "
        "or of the plan's first issue (R-AR-DUE; R-TRANSFER-IN for plans transferred in). "
        f'Bands are days overdue. See <a href="{DOCS}#overdue-reviews">docs/dashboards.md</a>.'
        "</p></section>"
    )


def _days(v: float | None, waiting: Cell) -> str:
    if waiting.suppressed or v is None:
        return "not shown" if waiting.suppressed else "-"
    return f"{v:.0f} days"


def _waits_section(fig: BoardFigures) -> str:
    rows = []
    past_cells = []
    for w in fig.waits:
        waiting, past = count(w.waiting), count(w.past_standard)
        past_cells.append(past.shown)
        median = Cell(None if waiting.suppressed else 0, _days(w.median_days, waiting))
        longest = Cell(None if waiting.suppressed else 0, _days(w.longest_days, waiting))
        label = w.name + (" (proposed standard)" if w.status == "proposed" else "")
        rows.append(
            [
                f'<th scope="row">{_e(label)}</th>',
                _td(waiting, f"waits.{w.service}.waiting"),
                _td(past, f"waits.{w.service}.past_standard"),
                _td(median, f"waits.{w.service}.median_days"),
                _td(longest, f"waits.{w.service}.longest_days"),
                f"<td>{_e(w.standard)}</td>",
            ]
        )
    worst = max(fig.waits, key=lambda w: w.past_standard, default=None)
    reading = (
        f"{count(worst.past_standard).text} children waiting past the standard for "
        f"{worst.name.lower()}"
        if worst and worst.past_standard
        else "No one waiting past a standard"
    )
    return (
        '<section id="waits"><h2>Waiting for health and therapy services</h2>'
        f'<p class="reading">{_e(reading)}.</p>'
        + charts.bars(
            "Children waiting past the standard",
            [w.service for w in fig.waits],
            past_cells,
            "children",
        )
        + _table(
            ["Service", "Waiting", "Past the standard", "Median wait", "Longest wait", "Standard"],
            rows,
        )
        + '<p class="definition">A wait runs from the referral received by the service to the '
        "first contact the standard names (assessment or treatment started, first help), as "
        "R-WAIT counts it; past the standard = beyond the rule pack's first threshold. Median "
        "and longest waits are shown only where 5 or more children are waiting. "
        f'See <a href="{DOCS}#waits">docs/dashboards.md</a>.</p></section>'
    )


def _cohorts_section(fig: BoardFigures) -> str:
    phases = list(fig.cohorts)
    statuses = ["done", "due", "overdue"]
    values = {(p, s): fig.cohorts[p][s] for p in phases for s in statuses}
    t = table(phases, statuses, values, column_totals=False)
    rows = []
    for p, cells, total in zip(phases, t.cells, t.row_totals or (), strict=True):
        rows.append(
            [f'<th scope="row">{_e(PHASE_WORDS.get(p, p))}</th>']
            + [_td(c, f"cohorts.{p}.{s}") for s, c in zip(statuses, cells, strict=True)]
            + [_td(total, f"cohorts.{p}.total")]
        )
    missed = sum(fig.cohorts[p]["overdue"] for p in phases)
    reading = f"{count(missed).text} transfers or Year 9 reviews past their deadline this year"
    return (
        '<section id="transitions"><h2>This year\'s transition cohorts</h2>'
        f'<p class="reading">{_e(reading)}.</p>'
        + charts.bars(
            "Deadline missed, by transfer",
            [PHASE_SHORT.get(p, p) for p in phases],
            [c[2].shown for c in t.cells],
            "children",
        )
        + _table(
            [
                "Transfer",
                "Done (next setting named / PfA review held)",
                "On track",
                "Deadline missed",
                "Children",
            ],
            rows,
        )
        + '<p class="definition">Children with a plan within 12 months of a transfer between '
        "phases must have the plan amended to name the next setting by 15 February (31 March "
        "for secondary to post-16) of the year of transfer (R-PHASE); from Year 9 every review "
        "has a preparing-for-adulthood focus (R-PFA-Y9). "
        f'See <a href="{DOCS}#transition-cohorts">docs/dashboards.md</a>.</p></section>'
    )


def _unallocated_section(fig: BoardFigures) -> str:
    teams = sorted(fig.unallocated_by_team)
    values = {(t, "children"): fig.unallocated_by_team[t] for t in teams}
    t = table(teams, ["children"], values, row_totals=False)
    total_n = sum(fig.unallocated_by_team.values())
    total = count(total_n)
    if t.column_totals is not None:
        total = t.column_totals[0]
    rows = [
        [f'<th scope="row">{_e(team)}</th>', _td(c[0], f"unallocated.{team}")]
        for team, c in zip(teams, t.cells, strict=True)
    ]
    rows.append(['<th scope="row">All teams</th>', _td(total, "unallocated.total")])
    return (
        '<section id="unallocated"><h2>Children with no allocated caseworker</h2>'
        f'<p class="reading">{_e(total.text if total_n else "No")} children with an open '
        "request or a plan have no caseworker.</p>"
        + _table(["Team", "Children"], rows)
        + '<p class="definition">A child counts when they have an open EHC needs assessment '
        "request or a plan in force and the case system names no caseworker. "
        f'See <a href="{DOCS}#unallocated">docs/dashboards.md</a>.</p></section>'
    )


def _quality_section(fig: BoardFigures) -> str:
    rows = []
    for s in fig.sources:
        last = s.last_fact_on.strftime("%d %b %Y") if s.last_fact_on else "never"
        rows.append(
            [
                f'<th scope="row">{_e(s.source)}</th>',
                _td(Cell(s.facts, f"{s.facts:,}"), f"quality.{s.source}.facts"),
                f"<td>{_e(last)}</td>",
                f"<td>{'gone quiet' if s.quiet else 'current'}</td>",
                _td(Cell(s.errors, f"{s.errors:,}"), f"quality.{s.source}.errors"),
                _td(Cell(s.warnings, f"{s.warnings:,}"), f"quality.{s.source}.warnings"),
            ]
        )
    quiet = [s.source for s in fig.sources if s.quiet]
    reading = f"Gone quiet: {', '.join(quiet)}" if quiet else "Every source is current"
    return (
        '<section id="quality"><h2>Data quality by source</h2>'
        f'<p class="reading">{_e(reading)}.</p>'
        + _table(
            ["Source", "Facts", "Latest fact recorded", "Status", "Records rejected", "Warnings"],
            rows,
        )
        + '<p class="definition">Facts, rejected records and warnings are counts of records, '
        "not children. A source has gone quiet when nothing new was recorded from it for 35 "
        f'days. See <a href="{DOCS}#data-quality">docs/dashboards.md</a>.</p></section>'
    )


def render_html(fig: BoardFigures, authority: str, drawn_up: date) -> str:
    title = f"SEND partnership board — {fig.period.label}"
    cover = (
        f'<div class="cover"><h1>{_e(title)}</h1>'
        f"<p>{_e(authority)}</p>"
        f"<p>Figures as at {fig.period.as_of:%d %B %Y}; drawn up {drawn_up:%d %B %Y}</p>"
        f"<p>Rule pack {_e(fig.rule_pack)}</p>"
        "<p>Aggregate figures only. Counts of 1 to 4 are shown as \u201cfewer than 5\u201d, and "
        "further cells are hidden where a total would reveal them.</p></div>"
    )
    body = "".join(
        (
            cover,
            _sen2_section(fig),
            _overdue_section(fig),
            _waits_section(fig),
            _cohorts_section(fig),
            _unallocated_section(fig),
            _quality_section(fig),
        )
    )
    return (
        f'<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )
