"""The clock at scale, in process (no Kafka): one tick with 1,000,000 journeys indexed and 0.1%
due, against full scans of the same partition in the same run.

    .venv/bin/python bench/bench_sweep.py [--journeys 1000000] [--due 0.001]

The full system cannot hold a million journeys on this machine in a benchmark's time (it
would take ~1M events through the worker and ~1M evaluations, about half an hour), so this
measures the parts a tick is made of, on the worker's own code:

- the index: ``DeadlineIndex``/``EvaluationSchedule`` holding 1M keys (64 hex characters, as
  ingest makes them) with deadlines spread over two years, 0.1% due on the clock date;
  memory per journey by ``tracemalloc``;
- a tick: ``JourneyProcessor.tick`` over that schedule — plan, then load, assess, encode
  every due journey (stored values from bench/workload.py children), within the worker's
  default tick budget; then the time to clear all due journeys tick after tick;
- full scans of the same million stored values: headers only (the cheapest scan that could
  find what is due without an index), and evaluating every journey (timed on a sample and
  scaled, since a million evaluations take minutes).
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a file: bench.* too

from bench.workload import TODAY, events_for
from services.journeys.codec import JourneyHeader, decode_header, decode_stored, encode_stored
from services.journeys.config import WorkerTuning
from services.journeys.domain.assess import assess
from services.journeys.domain.journey import apply
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.state import JourneyState
from services.journeys.processor import JourneyProcessor
from services.journeys.scheduling import EvaluationSchedule

PARTITION = 0


def sample_states(n_events: int) -> list[JourneyState]:
    states: dict[str, JourneyState] = {}
    for e in events_for(n_events, seed=9):
        s = states.get(e.person_key) or JourneyState.new(e.person_key)
        states[e.person_key] = s.model_copy(update={"journey": apply(s.journey, e)})
    return list(states.values())


def build_index(
    journeys: int, due_share: float, rng: random.Random
) -> tuple[EvaluationSchedule, list[bytes], float]:
    """A schedule with ``journeys`` keys; returns it, the due keys and bytes per journey."""
    schedule = EvaluationSchedule(
        settle=1.0, verify_every=1e9, tick_seconds=1.0, pack_version=DEFAULT_PACK.version
    )
    n_due = int(journeys * due_share)
    keys = [rng.randbytes(32).hex().encode() for _ in range(journeys)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    headers = (
        (k, JourneyHeader(PARTITION, 1, False, _due(i, n_due, rng), DEFAULT_PACK.version))
        for i, k in enumerate(keys)
    )
    schedule.adopt(PARTITION, headers, now=0.0)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_journey = (after - before) / journeys + 97  # + the key object itself (64-byte bytes)
    return schedule, keys[:n_due], per_journey


def _due(i: int, n_due: int, rng: random.Random) -> date:
    if i < n_due:
        return TODAY - timedelta(days=rng.randint(0, 3))
    return TODAY + timedelta(days=rng.randint(1, 730))


def stored_values(keys: list[bytes], states: list[JourneyState]) -> dict[bytes, bytes]:
    """Each key stands for one of the sample journeys (re-keyed, so flags are its own)."""
    values = {}
    for n, key in enumerate(keys):
        state = states[n % len(states)]
        journey = type(state.journey)(key.decode(), state.journey.facts)
        header = JourneyHeader(PARTITION, 1, False, TODAY, DEFAULT_PACK.version)
        values[key] = encode_stored(header, JourneyState(journey=journey))
    return values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--due", type=float, default=0.001)
    parser.add_argument("--scan-sample", type=int, default=2_000)
    parser.add_argument("--gc-freeze", action="store_true", help="as the worker does")
    args = parser.parse_args()
    rng = random.Random(1)
    states = sample_states(60_000)
    started = time.perf_counter()
    schedule, due_keys, per_journey = build_index(args.journeys, args.due, rng)
    print(
        f"{args.journeys:,} journeys indexed in {time.perf_counter() - started:.1f}s; "
        f"{len(due_keys):,} due on {TODAY}; index {per_journey:,.0f} bytes/journey"
    )

    started = time.perf_counter()
    plan = schedule.plan(PARTITION, now=10.0, as_of=TODAY, limit=10_000)
    lookup = time.perf_counter() - started
    print(
        f"  index lookup (plan) of the due keys      {lookup * 1e3:8.2f} ms "
        f"({len(plan.due):,} keys)"
    )

    due_values = stored_values(due_keys, states)
    if args.gc_freeze:
        gc.freeze()
    tuning = WorkerTuning()
    processor = JourneyProcessor(
        lambda key, _: due_values.get(key),
        pack=DEFAULT_PACK,
        tuning=tuning,
        schedule=schedule,
        partitions=4,
    )
    wall = datetime.now(UTC)
    ticks, took = [], []
    while True:
        started = time.perf_counter()
        swept = processor.tick(
            PARTITION, as_of=TODAY, wall=wall, mono=10.0, budget=tuning.tick_budget_seconds
        )
        took.append(time.perf_counter() - started)
        ticks.append(sum(swept.evaluated.values()))
        if not swept.evaluated.get("due"):
            break
    print(
        f"  one tick (plan + evaluate within budget)  {took[0] * 1e3:8.2f} ms "
        f"({ticks[0]} journeys evaluated; budget {tuning.tick_budget_seconds * 1e3:.0f} ms)"
    )
    print(
        f"  ticks to clear every due journey          {len(ticks) - 1:8d} "
        f"(max {max(took) * 1e3:.1f} ms each, {sum(took):.2f} s of work in all)"
    )

    all_values = [next(iter(due_values.values()))] * args.journeys
    started = time.perf_counter()
    found = sum(1 for v in all_values if (h := decode_header(v)).due and h.due <= TODAY)
    scan = time.perf_counter() - started
    print(f"  full scan, headers only (1 partition)     {scan * 1e3:8.0f} ms ({found:,} seen due)")
    sample = list(due_values.values())[: args.scan_sample]
    started = time.perf_counter()
    for value in sample:
        assess(decode_stored(value)[1], TODAY, DEFAULT_PACK)
    per = (time.perf_counter() - started) / len(sample)
    print(
        f"  full scan, evaluating every journey       {per * args.journeys:8.0f} s "
        f"(scaled from {len(sample):,}: {per * 1e6:.0f} µs per journey)"
    )


if __name__ == "__main__":
    main()
