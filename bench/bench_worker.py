"""Throughput of the journeys worker against the raw client, on the same topic in one run.

    .venv/bin/python bench/bench_worker.py [--events 200000] [--store rocksdb://]
                                           [--profile py-spy|none]

Starts the embedded broker, publishes ``--events`` synthetic events (bench/workload.py, ~20
per child, lz4 like ingest), then times on that topic:

1. raw aiokafka consume + ``json.loads`` + dict fold (design.md's baseline);
2. raw aiokafka consume + casewatch decoding (pydantic) + ``journey.apply`` in a dict: the
   worker's domain work with no faust, no table, no flags;
3. the real worker (``casewatch worker`` as a child process, one consumer group member):
   from its first folded event to the last event folded, and to the last journey evaluated
   (flags and snapshots published; the settle window is ``--settle`` seconds).

With ``--profile py-spy`` the worker runs under ``py-spy record`` and the flame graph and a
top-functions table go to var/bench/. Not a test: figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a file: bench.* too

from bench.harness import (
    ROOT,
    broker_with_topics,
    load_average,
    metrics,
    produce,
    rss_mb,
    wait_for,
    worker_env,
    worker_process,
)
from bench.workload import encoded
from schemas.events import Event
from services.journeys.codec import decode_event
from services.journeys.domain.journey import Journey, apply

TOPIC = "casewatch.events"


async def _raw_loop(bootstrap: str, total: int, fold: str) -> float:
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        state: dict[bytes, object] = {}
        seen, started = 0, 0.0
        while seen < total:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if not started:
                started = time.perf_counter()
            for records in batch.values():
                for r in records:
                    seen += 1
                    if fold == "json":
                        body = json.loads(r.value)
                        facts = state.setdefault(r.key, {})
                        facts[body["payload"]["type"]] = body  # type: ignore[index]
                    else:
                        event = decode_event(r.key, r.value)
                        assert isinstance(event, Event)
                        journey = state.get(r.key) or Journey(event.person_key)
                        state[r.key] = apply(journey, event)  # type: ignore[arg-type]
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def raw_loop(bootstrap: str, total: int, fold: str) -> float:
    return asyncio.run(_raw_loop(bootstrap, total, fold))


def run_worker(
    bootstrap_env: dict[str, str], home: Path, total: int, children: int, profile: str
) -> dict[str, float]:
    port = bootstrap_env["CASEWATCH_WORKER_WEB_PORT"]
    prefix: list[str] = []
    if profile == "py-spy":
        prefix = [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--rate",
            "200",
            "--format",
            "raw",
            "-o",
            str(home / "worker.pyspy.txt"),
            "--",
        ]
    launched = time.monotonic()
    with worker_process(bootstrap_env, home / "worker.log", prefix) as proc:

        def folded() -> float:
            return metrics(port).get("casewatch_events_total", 0.0)

        first = wait_for(lambda: folded() > 0, timeout=180, what="the first folded event")
        last = wait_for(lambda: folded() >= total, timeout=600, what="every event folded")
        key = 'casewatch_sweep_journeys_total{reason="changed"}'

        def evaluated() -> float:
            return metrics(port).get(key, 0.0)

        wait_for(lambda: evaluated() >= children, timeout=600, what="every journey evaluated")
        done, seen = time.monotonic(), evaluated()
        while time.monotonic() - done < 3:  # quiet for 3 s: nothing left to evaluate
            time.sleep(0.1)
            if (now := evaluated()) != seen:
                done, seen = time.monotonic(), now
        sample = metrics(port)
        rss = rss_mb(proc.pid if not prefix else _child_pid(proc.pid))
    return {
        "startup": first - launched,
        "fold": last - first,
        "end_to_end": done - first,
        "evaluated": seen,
        "flags": sample.get("casewatch_flags_total", 0.0),
        "writes": sample.get("casewatch_journeys_written_total", 0.0),
        "rss_mb": rss,
    }


def _child_pid(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if children else pid


def top_functions(raw_profile: Path, out: Path, n: int = 25) -> None:
    """Self time per function from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    total = 0
    for line in raw_profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frame = stack.rsplit(";", 1)[-1]
        own[frame] = own.get(frame, 0) + int(count)
        total += int(count)
    rows = sorted(own.items(), key=lambda kv: -kv[1])[:n]
    out.write_text(
        "\n".join(f"{100 * c / total:5.1f}%  {frame}" for frame, c in rows) + "\n", "utf-8"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--store", default="rocksdb://")
    parser.add_argument("--settle", default="0.5")
    parser.add_argument("--profile", choices=["none", "py-spy"], default="none")
    args = parser.parse_args()
    if args.profile == "py-spy" and not (Path(sys.executable).parent / "py-spy").exists():
        parser.error("--profile needs py-spy in this venv: .venv/bin/pip install py-spy")
    home = ROOT / "var" / "bench" / "worker"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    records = encoded(args.events)
    children = len({k for k, _ in records})
    print(f"load average before: {load_average()}")
    print(f"{len(records)} events, {children} children, store {args.store}")
    with broker_with_topics(home) as broker:
        took = produce(broker.bootstrap, TOPIC, records)
        print(f"  produce (aiokafka, lz4)             {len(records) / took:>10,.0f} events/s")
        raw_json = raw_loop(broker.bootstrap, len(records), "json")
        print(f"  raw aiokafka + json + dict fold     {len(records) / raw_json:>10,.0f} events/s")
        raw_domain = raw_loop(broker.bootstrap, len(records), "domain")
        rate = len(records) / raw_domain
        print(f"  raw aiokafka + pydantic + apply     {rate:>10,.0f} events/s")
        env = worker_env(
            broker,
            home / "data",
            CASEWATCH_WORKER_STORE=args.store,
            CASEWATCH_WORKER_SETTLE_SECONDS=args.settle,
            CASEWATCH_WORKER_TICK_SECONDS=args.settle,
            CASEWATCH_WORKER_TIMER_SECONDS="3600",
        )
        w = run_worker(env, home, len(records), children, args.profile)
    fold_rate = len(records) / w["fold"]
    e2e_rate = len(records) / w["end_to_end"]
    print(f"  worker: startup to first event      {w['startup']:>10.1f} s")
    print(
        f"  worker: events folded (table)       {fold_rate:>10,.0f} events/s"
        f"  ({fold_rate / (len(records) / raw_json):.2f}x raw json,"
        f" {fold_rate * raw_domain / len(records):.2f}x raw pydantic)"
    )
    print(
        f"  worker: folded + every journey      {e2e_rate:>10,.0f} events/s"
        f"  ({e2e_rate / (len(records) / raw_json):.2f}x raw json;"
        f" {w['evaluated']:.0f} evaluations, {w['flags']:.0f} flag changes,"
        f" {w['writes']:.0f} table writes, RSS {w['rss_mb']:.0f} MB)"
    )
    print(f"load average after: {load_average()}")
    if args.profile == "py-spy":
        top_functions(home / "worker.pyspy.txt", home / "worker.top.txt")
        subprocess.run(["head", "-25", str(home / "worker.top.txt")], check=False)


if __name__ == "__main__":
    main()
