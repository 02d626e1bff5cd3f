"""What faust itself costs: the same topic consumed by bare faust agents, in the same run as a
raw aiokafka loop — the ceiling any faust worker on this machine can reach.

    .venv/bin/python bench/bench_faust_floor.py [--events 200000]

Modes (each a fresh consumer group in a child process, the embedded broker as for the worker):

- ``raw``: aiokafka ``getmany`` counting messages (no faust);
- ``raw-decode``: the same, decoding each event with the worker's ``decode_event`` (pydantic);
- ``faust-count``: a faust agent (casewatch's transport, raw serialisers) over
  ``stream.take_events(5000, within=0.2)`` counting messages — no decoding, no table;
- ``faust-decode``: the same, decoding each event with the worker's ``decode_event``;
- ``faust-each``: ``async for event in stream.events()`` one by one, counting.

Not a test: figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a file: bench.* too

from bench.harness import ROOT, broker_with_topics, load_average, produce
from bench.workload import encoded

TOPIC = "casewatch.events"


async def _raw(bootstrap: str, total: int, decode: bool) -> float:
    from aiokafka import AIOKafkaConsumer

    from services.journeys.codec import decode_event

    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=f"floor-raw-{decode}",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    seen, started = 0, 0.0
    try:
        while seen < total:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if batch and not started:
                started = time.perf_counter()
            for records in batch.values():
                seen += len(records)
                if decode:
                    for r in records:
                        decode_event(r.key, r.value)
    finally:
        await consumer.stop()
    return time.perf_counter() - started


def _faust(bootstrap: str, total: int, mode: str, data: str) -> float:
    import faust

    from services.journeys.codec import decode_event
    from services.journeys.transport import SCHEME

    app = faust.App(
        f"floor-{mode}",
        broker=f"{SCHEME}://{bootstrap}",
        store="memory://",
        datadir=data,
        topic_partitions=4,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        consumer_max_fetch_size=4 * 1024 * 1024,
        stream_buffer_maxsize=8192,
        broker_session_timeout=8,
        broker_heartbeat_interval=1,
        broker_rebalance_timeout=8,
    )
    topic = app.topic(TOPIC, key_type=bytes, value_type=bytes, partitions=4)
    state: dict[str, Any] = {"seen": 0, "started": 0.0, "took": 0.0}

    def count(n: int) -> None:
        if not state["started"]:
            state["started"] = time.perf_counter()
        state["seen"] += n
        if state["seen"] >= total and not state["took"]:
            state["took"] = time.perf_counter() - state["started"]
            Path(data, "took.json").write_text(json.dumps({"took": state["took"]}))
            os._exit(0)  # faust's shutdown is not what is measured

    @app.agent(topic)
    async def agent(stream: Any) -> None:
        if mode == "faust-each":
            async for _ in stream.events():
                count(1)
            return
        async for batch in stream.take_events(5000, within=0.2):
            if mode == "faust-decode":
                for e in batch:
                    decode_event(e.message.key, e.value)
            count(len(batch))

    worker = faust.Worker(app, loglevel="warning", quiet=True)
    with contextlib.suppress(SystemExit):
        worker.execute_from_commandline()
    return float(state["took"])


def child(bootstrap: str, total: int, mode: str, data: str) -> None:
    Path(data).mkdir(parents=True, exist_ok=True)
    if mode.startswith("raw"):
        took = asyncio.run(_raw(bootstrap, total, mode == "raw-decode"))
        Path(data, "took.json").write_text(json.dumps({"took": took}))
    else:
        _faust(bootstrap, total, mode, data)  # writes took.json and exits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--profile", help="run this mode under py-spy (var/bench/floor/)")
    parser.add_argument("--child", nargs=4, metavar=("BOOTSTRAP", "TOTAL", "MODE", "DATA"))
    args = parser.parse_args()
    if args.profile and not (Path(sys.executable).parent / "py-spy").exists():
        parser.error("--profile needs py-spy in this venv: .venv/bin/pip install py-spy")
    if args.child:
        bootstrap, total, mode, data = args.child
        child(bootstrap, int(total), mode, data)
        return
    home = ROOT / "var" / "bench" / "floor"
    shutil.rmtree(home, ignore_errors=True)
    records = encoded(args.events)
    print(f"load average before: {load_average()}")
    with broker_with_topics(home) as broker:
        produce(broker.bootstrap, TOPIC, records)
        print(f"{len(records)} events on {TOPIC}")
        modes = ("raw", "raw-decode", "faust-count", "faust-decode", "faust-each", "raw")
        for run, mode in enumerate(modes):
            result = home / f"{mode}-{run}" / "took.json"
            prefix: list[str] = []
            if mode == args.profile:
                spy = Path(sys.executable).parent / "py-spy"
                out_file = home / f"{mode}.pyspy.txt"
                prefix = [str(spy), "record", "--rate", "200", "--format", "raw"]
                prefix += ["-o", str(out_file), "--"]
            out = subprocess.run(
                [
                    *prefix,
                    sys.executable,
                    "-m",
                    "bench.bench_faust_floor",
                    "--child",
                    broker.bootstrap,
                    str(len(records)),
                    mode,
                    str(result.parent),
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=900,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            if not result.exists():
                print(f"  {mode}: failed\n{out.stderr[-2000:]}")
                continue
            took = json.loads(result.read_text())["took"]
            print(f"  {mode:<14} {len(records) / took:>10,.0f} events/s")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
