"""What the worker's evaluation of one journey costs, and what a journey keeps in memory.

    .venv/bin/python bench/bench_evaluate.py [--children 2000] [--runs 5]
    .venv/bin/python bench/bench_evaluate.py --compare /tmp/casewatch-before   # A/B, one run

Times the worker's own path, without Kafka: journeys (bench/workload.py children, ~20 facts
each, and the demo authority's, ~5) are folded by ``JourneyProcessor.fold`` (not timed), then
one tick evaluates them all — assess, flag records, snapshot, next deadline — and
``JourneyMeasures.refresh`` takes the evaluated journeys, as ``app.sweep`` does. Best of
``--runs``, in µs of CPU time (``time.thread_time``: steadier than wall time on a
shared machine) per journey. ``--memory``: bytes per journey held by the deadline index
and by the measures (every object each holds, counted once).

``--compare DIR`` runs this same script against another checkout of ``services`` (e.g. the
code before a change, copied to DIR), alternating A and B so both share the machine's load.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import threading
import time
import types
from datetime import UTC, datetime
from pathlib import Path

# run as a script: the checkout under test comes from PYTHONPATH, else this one
sys.path.append(str(Path(__file__).resolve().parent.parent))

import random

from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a file: bench.* too

from bench.workload import TODAY, child_events
from schemas.events import Event
from services.journeys.config import WorkerTuning
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.measures import JourneyMeasures
from services.journeys.processor import JourneyProcessor, Record
from services.journeys.scheduling import EvaluationSchedule

WALL = datetime(2026, 11, 23, 12, tzinfo=UTC)
SHARE_KEYS = os.environ.get("BENCH_SHARE_KEYS") == "1"  # measures adopt the index's keys


def workload_events(children: int) -> list[Event]:
    rng = random.Random(7)
    return [e for i in range(children) for e in child_events(i, rng)]


def demo_events(children: int) -> list[Event]:
    from services.ingest.demo.authority import write_demo_export
    from services.ingest.ssd.adapter import read_ssd_export

    with tempfile.TemporaryDirectory() as tmp:
        write_demo_export(Path(tmp), children=children, seed=7, today=TODAY)
        reading = read_ssd_export(Path(tmp), secret="bench", extracted_at=WALL)  # as of TODAY
    return reading.events


def prepared(events: list[Event], children: int) -> tuple[JourneyProcessor, dict[bytes, bytes]]:
    table: dict[bytes, bytes] = {}
    schedule = EvaluationSchedule(
        settle=0.0, verify_every=1e12, tick_seconds=1.0, pack_version=DEFAULT_PACK.version
    )
    schedule.adopt(0, [], now=0.0)
    tuning = WorkerTuning(cache_journeys=children * 2)
    p = JourneyProcessor(
        lambda k, _p: table.get(k),
        pack=DEFAULT_PACK,
        tuning=tuning,
        schedule=schedule,
        partitions=1,
    )
    recs = [
        Record(e.person_key.encode(), e.model_dump_json().encode(), 0, n)
        for n, e in enumerate(events)
    ]
    folded = p.fold(recs, wall=WALL, mono=0.0)
    for c in folded.changes:
        table[c.key] = c.value
    return p, table


def evaluate_all(p: JourneyProcessor, table: dict[bytes, bytes], measures: JourneyMeasures) -> int:
    swept = p.tick(0, as_of=TODAY, wall=WALL, mono=10.0, budget=1e9)
    measures.refresh(0, TODAY, swept.changes, lambda k, _p: table.get(k))
    return sum(swept.evaluated.values())


def timed(events: list[Event], children: int, runs: int, collector: str) -> tuple[float, int]:
    """``collector``: "on" (the cyclic GC collecting as usual), "frozen" (everything before
    the tick frozen, as the worker does after indexing), "off" (no collection at all)."""
    best, n = float("inf"), 0
    for _ in range(runs):
        p, table = prepared(events, children)
        measures = JourneyMeasures(DEFAULT_PACK, CollectorRegistry())
        gc.collect()
        if collector == "frozen":
            gc.freeze()
        elif collector == "off":
            gc.disable()
        started = time.thread_time()
        n = evaluate_all(p, table, measures)
        best = min(best, time.thread_time() - started)
        gc.enable()
        gc.unfreeze()
    return best / max(n, 1) * 1e6, n


def deep_size(root: object, skip: tuple[object, ...] = ()) -> int:
    """Bytes of every object reachable from ``root`` (each counted once), not entering
    ``skip``, modules, classes or functions."""
    seen: set[int] = {id(o) for o in skip}
    total, stack = 0, [root]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, type | types.ModuleType | types.FunctionType):
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, list | tuple | set | frozenset):
            stack.extend(o)
        elif hasattr(o, "__dict__") and not isinstance(o, threading.Lock().__class__):
            stack.append(vars(o))
        if hasattr(type(o), "__slots__"):
            stack.extend(getattr(o, name) for name in type(o).__slots__ if hasattr(o, name))
    return total


def memory(events: list[Event], children: int) -> tuple[float, float, float, float, int]:
    """Bytes per journey held by the deadline index (the evaluation schedule) and by the
    measures, as after a restart: both built from the stored journeys (keys fresh from the
    store, as RocksDB hands them out), the measures then computed for every journey. Counted
    by walking what each holds (tracemalloc would also count pydantic-core's string cache,
    which decoding the journeys fills up to its bound). Returns per journey at ``children``
    journeys, and per journey added from half of them to all (what grows with the count:
    shared parts, such as the measures' distinct label sets, are paid once)."""
    from services.journeys.codec import decode_header

    p, table = prepared(events, children)
    swept = p.tick(0, as_of=TODAY, wall=WALL, mono=10.0, budget=1e9)
    for c in swept.changes:
        table[c.key] = c.value
    del swept, p
    stored = list(table.items())

    def held(share: list[tuple[bytes, bytes]]) -> tuple[int, int]:
        schedule = EvaluationSchedule(
            settle=0.0, verify_every=1e12, tick_seconds=1.0, pack_version=DEFAULT_PACK.version
        )
        headers = ((bytes(bytearray(k)), decode_header(v)) for k, v in share)
        schedule.adopt(0, headers, now=0.0)
        measures = JourneyMeasures(DEFAULT_PACK, CollectorRegistry(), budget=1e9)
        indexed = schedule._partitions[0].index.keys()
        if SHARE_KEYS and hasattr(measures, "adopt_keys"):  # keys shared with the index
            measures.adopt_keys(0, indexed)
        else:
            measures.adopt({0}, ((bytes(bytearray(k)), v) for k, v in share))
        measures.refresh(0, TODAY, [], lambda k, _p: table.get(k))
        gc.collect()
        index = deep_size(schedule, skip=(schedule.pack_version,))
        shared = (measures.pack, measures._lock, *indexed)  # keys: counted with the index
        return index, deep_size(measures, skip=shared)

    n, half = len(stored), len(stored) // 2
    index, kept = held(stored)
    index_half, kept_half = held(stored[:half])
    added = n - half
    return index / n, kept / n, (index - index_half) / added, (kept - kept_half) / added, n


def run_one(args: argparse.Namespace) -> None:
    for name, load in (("workload", workload_events), ("demo", demo_events)):
        events = load(args.children)
        if args.memory:
            index, kept, index_added, kept_added, n = memory(events, args.children)
            print(
                f"{name}: {n} journeys, bytes per journey: index {index:.0f}, measures"
                f" {kept:.0f}; per journey added ({n // 2} to {n}): index {index_added:.0f},"
                f" measures {kept_added:.0f}"
            )
        else:
            figures = []
            for collector in ("on", "frozen", "off"):
                us, n = timed(events, args.children, args.runs, collector)
                figures.append(f"gc {collector} {us:.0f}")
            print(
                f"{name}: {n} journeys, CPU µs per journey evaluated (best of {args.runs}): "
                + ", ".join(figures)
            )
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--compare", help="another checkout's root (services, schemas, bench)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not args.compare:
        run_one(args)
        return
    here = str(Path(__file__).resolve().parent.parent)
    passed = [a for a in sys.argv[1:] if a not in ("--compare", args.compare)]
    for r in range(args.rounds):
        for label, root in (("before", args.compare), ("after", here)):
            env = {**os.environ, "PYTHONPATH": root}
            out = subprocess.run(
                [sys.executable, __file__, *passed], env=env, capture_output=True, text=True
            )
            for line in (out.stdout + out.stderr).splitlines():
                print(f"round {r + 1} {label:<6} {line}")


if __name__ == "__main__":
    main()
