"""How fast is the pure journey fold? ``python bench/bench_fold.py [--children N]``

Writes the N-child demo authority, reads it through the SSD adapter (not timed), then times,
in the same run and on the same events in stream order:
- baseline: a plain dict-of-dicts fold (last write wins per fact key), the floor any fold pays;
- casewatch's ``journey.apply`` (version check, immutable update);
- ``apply`` plus one evaluation of every rule per journey at the end (what a settled
  journey costs the worker).
Prints events/s for each. Not a test: figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from schemas.events import Event
from services.ingest.demo.authority import write_demo_export
from services.ingest.ssd.adapter import read_ssd_export
from services.journeys.domain.journey import Journey, apply, fact_key
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import evaluate

TODAY = date(2026, 11, 23)


def load(children: int) -> list[Event]:
    with tempfile.TemporaryDirectory() as tmp:
        write_demo_export(Path(tmp), children=children, seed=7, today=TODAY)
        reading = read_ssd_export(Path(tmp), secret="bench", extracted_at=datetime.now(UTC))
    assert not reading.issues
    return reading.events


def baseline(events: list[Event]) -> int:
    state: dict[str, dict[str, object]] = {}
    for e in events:
        state.setdefault(e.person_key, {})[fact_key(e.payload)] = e.payload
    return len(state)


def casewatch_fold(events: list[Event]) -> dict[str, Journey]:
    journeys: dict[str, Journey] = {}
    for e in events:
        j = journeys.get(e.person_key) or Journey(person_key=e.person_key)
        journeys[e.person_key] = apply(j, e)
    return journeys


def fold_and_evaluate(events: list[Event]) -> int:
    journeys = casewatch_fold(events)
    return sum(len(evaluate(j, TODAY, DEFAULT_PACK)) for j in journeys.values())


def best_of(fn: Callable[[list[Event]], object], events: list[Event], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn(events)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    events = load(args.children)
    print(f"{args.children} children, {len(events)} events, best of {args.runs} runs")
    base = best_of(baseline, events, args.runs)
    for name, fn in [
        ("baseline dict fold", baseline),
        ("journey.apply fold", casewatch_fold),
        ("fold + evaluate all rules", fold_and_evaluate),
    ]:
        took = best_of(fn, events, args.runs)
        print(f"  {name:<28} {len(events) / took:>12,.0f} events/s  ({took / base:4.1f}x baseline)")


if __name__ == "__main__":
    main()
