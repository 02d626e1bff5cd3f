"""Memory per journey and restart-to-processing time of the real worker with 100,000 journeys.

    .venv/bin/python bench/bench_restart.py [--children 100000] [--store rocksdb://]

Publishes three events per child (registered, assessment requested, decided: every journey
is indexed, most raise a flag), runs ``casewatch worker`` until every journey is evaluated,
and records its RSS against its RSS before the first event. Then restarts it twice on the same
data directory — after SIGTERM (a deploy) and after SIGKILL (a crash, which also waits for the
dead member's session to expire: 8 s with ``CASEWATCH_SHORT_TIMEOUTS``) — and times, from
launching the new process: the deadline index rebuilt (from its log line), and a new event
folded (a probe published at launch). Not a test: figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

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
)
from bench.workload import child_events

TOPIC = "casewatch.events"
EVALUATED = 'casewatch_sweep_journeys_total{reason="changed"}'


def records_for(children: int, first: int = 0) -> list[tuple[bytes, bytes]]:
    rng = random.Random(first)
    out = []
    for i in range(first, first + children):
        for e in child_events(i, rng)[:3]:
            out.append((e.person_key.encode(), e.model_dump_json().encode()))
    return out


def launch(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


def indexed_seconds(log: Path, after: int) -> float | None:
    """Seconds the last restart spent building the index, from its own log line."""
    lines = log.read_text(errors="replace").splitlines()[after:]
    found = [m for line in lines if (m := re.search(r"indexed partitions .* in ([\d.]+)s", line))]
    return sum(float(m.group(1)) for m in found) if found else None


def restart(env: dict[str, str], log: Path, bootstrap: str, how: signal.Signals, probe: int) -> str:
    """Stop the running worker with ``how``, relaunch, publish a probe; time to fold it."""
    port = env["CASEWATCH_WORKER_WEB_PORT"]
    lines_before = len(log.read_text(errors="replace").splitlines())
    launched = time.monotonic()
    proc = launch(env, log)
    produce(bootstrap, TOPIC, records_for(1, first=probe))
    done = wait_for(
        lambda: metrics(port).get("casewatch_events_total", 0) >= 1, timeout=300, what="probe"
    )
    wait_for(lambda: indexed_seconds(log, lines_before) is not None, timeout=120, what="index")
    index = indexed_seconds(log, lines_before)
    RUNNING[0] = proc
    took = done - launched
    return f"{how.name:<8} restart: new event folded {took:5.1f} s after launch (index {index}s)"


RUNNING: list[subprocess.Popen[bytes]] = []


def stop(how: signal.Signals) -> None:
    proc = RUNNING[0]
    os.kill(proc.pid, how)
    proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--store", default="rocksdb://")
    args = parser.parse_args()
    home = ROOT / "var" / "bench" / "restart"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    records = records_for(args.children)
    print(f"load average before: {load_average()}")
    print(f"{args.children:,} children, {len(records):,} events, store {args.store}")
    with broker_with_topics(home) as broker:
        env = worker_env(
            broker,
            home / "data",
            CASEWATCH_WORKER_STORE=args.store,
            CASEWATCH_WORKER_TIMER_SECONDS="86400",
        )
        port, log = env["CASEWATCH_WORKER_WEB_PORT"], home / "worker.log"
        RUNNING.append(launch(env, log))
        wait_for(lambda: bool(metrics(port)), timeout=60, what="metrics")
        time.sleep(10)  # joined the group, topics created, nothing to do yet
        empty = rss_mb(RUNNING[0].pid)
        started = time.monotonic()
        half = len(records) // 2 // 3 * 3  # whole children
        rss = []
        for part, evaluated in ((records[:half], half // 3), (records[half:], args.children)):
            produce(broker.bootstrap, TOPIC, part)
            wait_for(
                lambda n=evaluated: metrics(port).get(EVALUATED, 0) >= n,
                timeout=3600,
                what="every journey evaluated",
                every=1.0,
            )
            rss.append(rss_mb(RUNNING[0].pid))
        full = rss[-1]
        per = (full - empty) * 1024 * 1024 / args.children
        marginal = (rss[1] - rss[0]) * 1024 * 1024 / (args.children - half // 3)
        print(f"  published, folded and evaluated in {time.monotonic() - started:.0f} s")
        print(
            f"  RSS {empty:.0f} MB empty, {rss[0]:.0f} MB at {half // 3:,} journeys, "
            f"{full:.0f} MB at {args.children:,}: {per:,.0f} bytes/journey in all, "
            f"{marginal:,.0f} bytes per journey added (second half)"
        )
        disk = sum(f.stat().st_size for f in (home / "data").rglob("*") if f.is_file())
        print(f"  RocksDB on disk {disk / 1e6:.0f} MB ({disk / args.children:,.0f} bytes/journey)")
        for n, how in enumerate((signal.SIGTERM, signal.SIGKILL)):
            stop(how)
            print("  " + restart(env, log, broker.bootstrap, how, args.children + n))
        stop(signal.SIGTERM)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
