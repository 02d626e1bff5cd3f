"""``casewatch replay``: fold an export through the same domain code with the clock set to a
date, and list every open flag — the answer the streaming system gives on that date."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date

from schemas.events import Event
from services.journeys.board.figures import WaitRow
from services.journeys.domain import sen2_figures as sen2
from services.journeys.domain.journey import Journey, fold, person
from services.journeys.domain.measures import MEASURES, Totals, contribution, headline, totals
from services.journeys.domain.pack import RulePack
from services.journeys.domain.rules import RULE_TITLES, evaluate


@dataclass(frozen=True)
class OpenFlag:
    rule_id: str
    title: str
    severity: str
    statutory: bool
    child_ref: str | None
    caseworker_id: str | None
    team: str | None
    subject: str
    due_on: date
    days_overdue: int
    exception: bool
    flag_id: str


def journeys_of(events: Iterable[Event]) -> list[Journey]:
    by_person: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_person[event.person_key].append(event)
    return [fold(key, evs) for key, evs in by_person.items()]


def open_flags(events: Iterable[Event], as_of: date, pack: RulePack) -> list[OpenFlag]:
    rows = []
    for journey in journeys_of(events):
        who = person(journey)
        for flag in evaluate(journey, as_of, pack).values():
            rows.append(
                OpenFlag(
                    rule_id=flag.rule_id,
                    title=RULE_TITLES.get(flag.rule_id, flag.rule_id),
                    severity=flag.severity,
                    statutory=flag.statutory,
                    child_ref=who.child_ref if who else None,
                    caseworker_id=who.caseworker_id if who else None,
                    team=who.team if who else None,
                    subject=flag.subject,
                    due_on=flag.due_on,
                    days_overdue=(as_of - flag.due_on).days,
                    exception=flag.exception,
                    flag_id=flag.flag_id,
                )
            )
    return sorted(rows, key=lambda r: (r.rule_id, r.due_on, r.subject, r.flag_id))


def render(rows: list[OpenFlag], fmt: str, as_of: date, pack: RulePack) -> str:
    if fmt == "json":
        body = {
            "as_of": as_of.isoformat(),
            "rule_pack": pack.version,
            "flags": [asdict(r) for r in rows],
        }
        return json.dumps(body, indent=2, default=str) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(OpenFlag.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)
        return out.getvalue()
    return _text(rows, as_of, pack)


def _text(rows: list[OpenFlag], as_of: date, pack: RulePack) -> str:
    lines = [f"open flags as of {as_of.isoformat()} (rule pack {pack.version}): {len(rows)}"]
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r.rule_id] += 1
    lines += [
        f"  {rule:<18} {n:>6}  {RULE_TITLES.get(rule, rule)}" for rule, n in sorted(counts.items())
    ]
    lines.append("")
    for r in rows:
        n = r.days_overdue
        when = f"{n}d overdue" if n > 0 else f"due in {-n}d" if n < 0 else "due today"
        lines.append(
            f"{r.rule_id:<18} {r.severity:<8} due {r.due_on.isoformat()} ({when:>12})  "
            f"child {r.child_ref or '-':<10} caseworker {r.caseworker_id or '-':<6} "
            f"{r.subject}{'  [exception]' if r.exception else ''}"
        )
    return "\n".join(lines) + "\n"


# --- managers' measures (``casewatch replay --measures``) ---------------------------------


def measures(events: Iterable[Event], as_of: date, pack: RulePack) -> Totals:
    """The managers' measures on ``as_of``: the same pure code the worker sums per partition."""
    return totals(contribution(j, as_of, pack) for j in journeys_of(events))


@dataclass(frozen=True)
class Sen2Report:
    """The DfE's SEN2 figures for the period asked for (``--year``, ``--from``/``--to``;
    default the last complete calendar year) and for the board's three periods."""

    period: sen2.Period
    figures: dict[str, sen2.Figure]
    board: tuple[tuple[sen2.Period, dict[str, sen2.Figure]], ...]


def sen2_report(
    events: Iterable[Event], as_of: date, pack: RulePack, period: sen2.Period | None = None
) -> Sen2Report:
    """``sen2_figures`` over the export's journeys, for ``period`` and the board's periods."""
    journeys = journeys_of(events)
    asked = period or sen2.board_periods(as_of)[0]
    return Sen2Report(
        asked,
        sen2.sen2_figures(journeys, asked.start, asked.end, as_of, pack),
        tuple(
            (p, sen2.sen2_figures(journeys, p.start, p.end, as_of, pack))
            for p in sen2.board_periods(as_of)
        ),
    )


def _figures_json(figures: dict[str, sen2.Figure]) -> dict[str, dict[str, int]]:
    return {k: {"numerator": f.numerator, "denominator": f.denominator} for k, f in figures.items()}


def _period_json(p: sen2.Period, figures: dict[str, sen2.Figure]) -> dict[str, object]:
    return {
        "period": p.name,
        "label": p.label,
        "from": p.start.isoformat(),
        "to": p.end.isoformat(),
        "figures": _figures_json(figures),
        "england": sen2.england(p.start.year) if p.start.year == p.end.year else None,
    }


def _sen2_text(report: Sen2Report) -> list[str]:
    lines = ["", "SEN2 figures (DfE definitions; docs/dashboards.md)"]
    for p, figures in ((report.period, report.figures), *report.board):
        published = sen2.england(p.start.year) if p.start.year == p.end.year else None
        lines.append(f"  {p.label} ({p.start.isoformat()} to {p.end.isoformat()})")
        for name, f in figures.items():
            shown = "-" if f.ratio is None else f"{f.ratio:.1%}"
            nation = published["figures"].get(name) if published else None  # type: ignore[attr-defined]
            versus = f"   England {p.start.year}: {nation:.1%}" if nation is not None else ""
            lines.append(f"    {name:<60} {f.numerator:>6} / {f.denominator:<6} {shown:>6}{versus}")
    return lines


def render_measures(
    t: Totals,
    fmt: str,
    as_of: date,
    pack: RulePack,
    report: Sen2Report | None = None,
    waits: Sequence[WaitRow] = (),
) -> str:
    """JSON: headline figures, every gauge series and histogram, and (with ``report``) the
    SEN2 figures as ``sen2`` (figure id -> numerator, denominator) with their period and the
    board's periods beside England's; text: the same, for reading."""
    labels = {m.name: m.labels for m in MEASURES}
    series = [
        {"name": name, "labels": dict(zip(labels[name], values, strict=True)), "value": n}
        for (name, values), n in sorted(t.counts.items())
    ]
    if fmt == "json":
        body = {
            "as_of": as_of.isoformat(),
            "rule_pack": pack.version,
            "headline": asdict(headline(t)),
            "series": series,
            "histograms": [
                {
                    "name": name,
                    "labels": dict(zip(labels[name], values, strict=True)),
                    "buckets": h.buckets,
                    "sum": h.total,
                    "count": h.count,
                }
                for (name, values), h in sorted(t.histograms.items())
            ],
        }
        if report is not None:
            body["sen2"] = _figures_json(report.figures)
            body["sen2_period"] = _period_json(report.period, report.figures)
            body["sen2_board"] = [_period_json(p, f) for p, f in report.board]
        if waits:  # open waits per service: how many, how long, how many past the standard
            body["waits_open"] = {w.service: asdict(w) for w in waits}
        return json.dumps(body, indent=2) + "\n"
    lines = [f"measures as of {as_of.isoformat()} (rule pack {pack.version})"]
    for field, value in asdict(headline(t)).items():
        shown = "-" if value is None else f"{value:.1%}" if isinstance(value, float) else value
        lines.append(f"  {field:<40} {shown}")
    if report is not None:
        lines += _sen2_text(report)
    lines.append("")
    for s in series:
        tags = ",".join(f"{k}={v}" for k, v in s["labels"].items())  # type: ignore[attr-defined]
        lines.append(f"{s['name']}{{{tags}}} {s['value']}")
    return "\n".join(lines) + "\n"
