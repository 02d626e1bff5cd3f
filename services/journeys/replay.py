"""``casewatch replay``: fold an export through the same domain code with the clock set to a
date, and list every open flag — the answer the streaming system gives on that date."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date

from schemas.events import Event
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


def render_measures(t: Totals, fmt: str, as_of: date, pack: RulePack) -> str:
    """JSON: headline figures, every gauge series and histogram; text: the headline and gauges."""
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
        return json.dumps(body, indent=2) + "\n"
    lines = [f"measures as of {as_of.isoformat()} (rule pack {pack.version})"]
    for field, value in asdict(headline(t)).items():
        shown = "-" if value is None else f"{value:.1%}" if isinstance(value, float) else value
        lines.append(f"  {field:<40} {shown}")
    lines.append("")
    for s in series:
        tags = ",".join(f"{k}={v}" for k, v in s["labels"].items())  # type: ignore[attr-defined]
        lines.append(f"{s['name']}{{{tags}}} {s['value']}")
    return "\n".join(lines) + "\n"
