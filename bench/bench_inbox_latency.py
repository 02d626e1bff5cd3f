"""Event to inbox: from an event published to its alert visible through the JSON API, under a
steady background of other events, on the embedded stack as ``casewatch up`` runs it.

    .venv/bin/python bench/bench_inbox_latency.py [--seconds 60] [--rate 500]
                                                 [--probe-every 2.0] [--env NAME=VALUE ...]

Starts the embedded Tansu broker (4 partitions), the journeys worker and the alerts service as
child processes with ``casewatch up``'s environment (short timeouts, a 30 s verify timer, the
demo roster and managers, a token from ``casewatch token``). Then, for ``--seconds``:

- **background**: bench/workload.py's synthetic histories (~30 events a child, shuffled as a
  replay of many exports), published at ``--rate`` events/s (lz4, acks=all), paced every 20 ms;
- **probes**, one every ``--probe-every`` seconds among them: a new child's request for an
  assessment received 60 days ago and never decided, which must raise R-DECIDE-6W (a
  statutory breach) with subject ``request:PRB<run>-<n>``.

For each probe it records, from the moment ``send`` is called:

1. **baseline, the broker round trip**: a raw aiokafka consumer (assigned, at the end of
   ``casewatch.events``) receives the probe event;
2. the journeys worker's flag for it on ``casewatch.flags`` (another raw consumer);
3. **the alert visible** to ``GET /alerts?q=PRB<run>-<n>`` (admin bearer token), polled every
   ``--poll-ms`` (40) from publication until it answers with the alert.

and prints p50 / p95 / p99 / max of each, and of the stages between them (worker: 2 - 1;
alerts service: 3 - 2). ``--env NAME=VALUE`` overrides a variable of the stack (e.g.
``CASEWATCH_WORKER_SETTLE_SECONDS=0``), to measure what each knob costs. Not a test: figures
go to bench/RESULTS.md. Logs and the stack's data are in var/bench/inbox-latency/.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as `python bench/bench_inbox_latency.py`
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from datetime import time as clock_time  # noqa: E402

import httpx  # noqa: E402
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402

from bench.harness import broker_with_topics, load_average, stop  # noqa: E402
from bench.workload import encoded  # noqa: E402
from schemas.events import AssessmentRequested, make_event  # noqa: E402
from services.alerts.commands import DEMO_TEAM_MANAGERS, demo_roster  # noqa: E402
from services.runtime.broker import free_port, wait_for_port  # noqa: E402
from services.runtime.roster import write_roster  # noqa: E402
from services.runtime.settings import Settings  # noqa: E402

EVENTS = "casewatch.events"
FLAGS = "casewatch.flags"


@dataclass
class Probe:
    n: int
    ref: str
    key: bytes
    sent: float
    acked: float | None = None
    event_seen: float | None = None
    flag_seen: float | None = None
    visible: float | None = None


@dataclass
class Run:
    tag: str
    probes: dict[str, Probe] = field(default_factory=dict)  # by ref
    by_key: dict[bytes, Probe] = field(default_factory=dict)
    background_sent: int = 0
    background_seconds: float = 0.0
    api_requests: int = 0
    api_seconds: list[float] = field(default_factory=list)


def stack_env(home: Path, bootstrap: str, overrides: dict[str, str]) -> dict[str, str]:
    """The environment ``casewatch up`` gives its children (services/runtime/stack.py)."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CASEWATCH_KAFKA_BOOTSTRAP": bootstrap,
        "CASEWATCH_SHORT_TIMEOUTS": "1",
        "CASEWATCH_DATA_DIR": str(home),
        "CASEWATCH_ALERTS_PORT": str(free_port()),
        "CASEWATCH_WORKER_WEB_PORT": str(free_port()),
        "CASEWATCH_WORKER_TIMER_SECONDS": "30",
        "CASEWATCH_ALERTS_TEAM_MANAGERS": json.dumps(DEMO_TEAM_MANAGERS),
        "CASEWATCH_ROSTER_FILE": str(write_roster(home / "roster.csv", demo_roster())),
        **overrides,
    }


@contextmanager
def service(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        stop(proc, signal.SIGTERM)


def token(env: dict[str, str]) -> str:
    """An admin bearer token, as a person would get one: ``casewatch token``."""
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "token", "--role", "admin", "--sub", "bench"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def probe_event(ref: str, today: date) -> tuple[bytes, bytes]:
    """A new child's request received 60 days ago, never decided: R-DECIDE-6W is overdue."""
    key = hashlib.sha256(f"bench-probe-{ref}".encode()).hexdigest()
    received = today - timedelta(days=60)
    at = datetime.combine(received, clock_time(9), tzinfo=UTC)
    event = make_event(
        # a case system may state a request (schemas/authority.py); "bench" would be refused
        source_system="liquidlogic-bench",
        source_record_key=f"probe:{ref}",
        person_key=key,
        occurred_at=at,
        recorded_at=at,
        payload=AssessmentRequested(request_id=ref, received_on=received),
    )
    return key.encode(), event.model_dump_json().encode()


async def at_end(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    # a short fetch wait: the embedded Tansu holds a fed fetch about half of it (500 ms default)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20
    )
    await consumer.start()
    partitions = consumer.partitions_for_topic(topic) or set()
    if not partitions:
        await consumer.force_metadata_update()  # type: ignore[no-untyped-call]
        partitions = consumer.partitions_for_topic(topic) or set()
    consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
    await consumer.seek_to_end()
    return consumer


async def watch_events(consumer: AIOKafkaConsumer, run: Run, done: asyncio.Event) -> None:
    while not done.is_set():
        batch = await consumer.getmany(timeout_ms=100)
        now = time.monotonic()
        for records in batch.values():
            for record in records:
                probe = run.by_key.get(record.key)
                if probe is not None and probe.event_seen is None:
                    probe.event_seen = now


async def watch_flags(consumer: AIOKafkaConsumer, run: Run, done: asyncio.Event) -> None:
    prefix = f"request:{run.tag}-"
    while not done.is_set():
        batch = await consumer.getmany(timeout_ms=100)
        now = time.monotonic()
        for records in batch.values():
            for record in records:
                if record.value is None or prefix.encode() not in record.value:
                    continue
                subject = json.loads(record.value).get("subject", "")
                probe = run.probes.get(subject.removeprefix("request:"))
                if probe is not None and probe.flag_seen is None:
                    probe.flag_seen = now


async def poll_api(url: str, bearer: str, run: Run, done: asyncio.Event, every: float) -> None:
    headers = {"Authorization": f"Bearer {bearer}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:
        while not done.is_set():
            waiting = [p for p in run.probes.values() if p.visible is None]
            for probe in waiting:
                started = time.monotonic()
                answer = await client.get("/alerts", params={"q": probe.ref})
                now = time.monotonic()
                run.api_requests += 1
                run.api_seconds.append(now - started)
                answer.raise_for_status()
                if any(a["subject"] == f"request:{probe.ref}" for a in answer.json()):
                    probe.visible = now
            await asyncio.sleep(every)


async def background(
    producer: AIOKafkaProducer,
    records: list[tuple[bytes, bytes]],
    rate: float,
    run: Run,
    done: asyncio.Event,
) -> None:
    """``rate`` events/s, paced every 20 ms (catching up if a tick was late)."""
    started = time.monotonic()
    sent = 0
    while not done.is_set() and sent < len(records):
        due = min(len(records), int((time.monotonic() - started) * rate))
        for key, value in records[sent:due]:
            await producer.send(EVENTS, key=key, value=value)
        sent = max(sent, due)
        await asyncio.sleep(0.02)
    run.background_sent = sent
    run.background_seconds = time.monotonic() - started


async def send_probe(producer: AIOKafkaProducer, run: Run, n: int, today: date) -> Probe:
    ref = f"{run.tag}-{n:04d}"
    key, value = probe_event(ref, today)
    probe = Probe(n, ref, key, sent=time.monotonic())
    run.probes[ref] = probe
    run.by_key[key] = probe
    future = await producer.send(EVENTS, key=key, value=value)
    await future
    probe.acked = time.monotonic()
    return probe


async def measure(
    bootstrap: str, url: str, bearer: str, args: argparse.Namespace, run: Run
) -> None:
    today = date.today()
    total = int(args.rate * (args.seconds + args.warmup + args.drain)) + 1
    print(f"encoding {total:,} background events …", flush=True)
    records = encoded(total, seed=11)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=5, compression_type="lz4", acks="all"
    )
    await producer.start()
    events_watch = await at_end(bootstrap, EVENTS)
    flags_watch = await at_end(bootstrap, FLAGS)
    done = asyncio.Event()
    tasks = [
        asyncio.create_task(background(producer, records, args.rate, run, done)),
        asyncio.create_task(watch_events(events_watch, run, done)),
        asyncio.create_task(watch_flags(flags_watch, run, done)),
        asyncio.create_task(poll_api(url, bearer, run, done, args.poll_ms / 1000)),
    ]
    try:
        # warm-up: the worker has joined its group and the first probe goes all the way
        warm = await send_probe(producer, run, 0, today)
        deadline = time.monotonic() + 120
        while warm.visible is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the warm-up probe never reached the inbox; see the logs")
            await asyncio.sleep(0.1)
        await asyncio.sleep(max(0.0, args.warmup - (time.monotonic() - warm.sent)))
        print(f"warm: first alert after {warm.visible - warm.sent:.1f} s; measuring", flush=True)
        first = time.monotonic()
        n = 1
        while time.monotonic() - first < args.seconds:
            await send_probe(producer, run, n, today)
            await asyncio.sleep(max(0.0, first + n * args.probe_every - time.monotonic()))
            n += 1
        deadline = time.monotonic() + args.drain
        while any(p.visible is None for p in run.probes.values()):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    finally:
        done.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await events_watch.stop()
        await flags_watch.stop()
        await producer.stop()


def percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def report(run: Run, args: argparse.Namespace, overrides: dict[str, str]) -> None:
    probes = [p for p in run.probes.values() if p.n > 0]
    missed = [p.ref for p in probes if p.visible is None]
    rows: list[tuple[str, list[float]]] = [
        ("publish acknowledged (acks=all)", [p.acked - p.sent for p in probes if p.acked]),
        (
            "baseline: broker round trip (raw consumer sees the event)",
            [p.event_seen - p.sent for p in probes if p.event_seen],
        ),
        (
            "flag on casewatch.flags (raw consumer)",
            [p.flag_seen - p.sent for p in probes if p.flag_seen],
        ),
        (
            "ALERT VISIBLE: GET /alerts?q= answers with it",
            [p.visible - p.sent for p in probes if p.visible],
        ),
        (
            "  stage: worker (flag seen - event seen)",
            [p.flag_seen - p.event_seen for p in probes if p.flag_seen and p.event_seen],
        ),
        (
            "  stage: alerts service (visible - flag seen)",
            [p.visible - p.flag_seen for p in probes if p.visible and p.flag_seen],
        ),
    ]
    rate = run.background_sent / run.background_seconds if run.background_seconds else 0.0
    print()
    print(f"overrides: {overrides or 'none (as casewatch up)'}")
    print(
        f"background: {run.background_sent:,} events in {run.background_seconds:.1f} s "
        f"({rate:.0f}/s); probes: {len(probes)} every {args.probe_every} s, "
        f"{len(missed)} not visible within the drain ({args.drain} s)"
    )
    calls = run.api_seconds
    if calls:
        print(
            f"API polls: {run.api_requests:,}, each {percentile(calls, 0.5) * 1000:.0f} ms p50 / "
            f"{percentile(calls, 0.99) * 1000:.0f} ms p99 (every {args.poll_ms} ms per "
            "probe still waiting)"
        )
    print(f"load average after: {load_average()}")
    print()
    print(f"{'from publish to':<62}{'n':>5}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}")
    for name, values in rows:
        if not values:
            print(f"{name:<62}{0:>5}")
            continue
        cells = [percentile(values, q) * 1000 for q in (0.5, 0.95, 0.99, 1.0)]
        print(f"{name:<62}{len(values):>5}" + "".join(f"{c:>7.0f}ms" for c in cells))
    if missed:
        print(f"never visible: {', '.join(missed[:10])}")
    tenths = by_tenth(probes)
    if tenths:
        print()
        print("alert visible by tenth of the run (p50 / max, ms): does latency grow with time?")
        print("  ".join(f"{p50 * 1000:.0f}/{top * 1000:.0f}" for p50, top in tenths))


def by_tenth(probes: list[Probe]) -> list[tuple[float, float]]:
    """p50 and max of 'alert visible' for each tenth of the probes, in the order sent: a
    stack that falls behind under the background shows a rising row, one that keeps up a
    flat one (a single p99 over the run hides which)."""
    seen = sorted((p.n, p.visible - p.sent) for p in probes if p.visible is not None)
    if len(seen) < 10:
        return []
    size = len(seen) / 10
    parts = [[v for _, v in seen[round(i * size) : round((i + 1) * size)]] for i in range(10)]
    return [(percentile(part, 0.5), max(part)) for part in parts]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long probes are sent")
    parser.add_argument("--rate", type=float, default=500.0, help="background events per second")
    parser.add_argument("--probe-every", type=float, default=2.0, help="seconds between probes")
    parser.add_argument("--poll-ms", type=int, default=40, help="API poll per waiting probe")
    parser.add_argument("--warmup", type=float, default=15.0, help="background before probes")
    parser.add_argument("--drain", type=float, default=30.0, help="wait for the last probes")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the stack")
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.env)
    home = ROOT / "var" / "bench" / "inbox-latency"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    run = Run(tag=f"PRB{uuid.uuid4().hex[:6].upper()}")
    print(f"load average before: {load_average()}")
    with broker_with_topics(home, partitions=Settings().partitions) as broker:
        env = stack_env(home, broker.bootstrap, overrides)
        port = int(env["CASEWATCH_ALERTS_PORT"])
        with (
            service(["worker"], env, home / "worker.log"),
            service(["serve", "alerts"], env, home / "alerts.log"),
        ):
            wait_for_port("127.0.0.1", port, timeout=60)
            bearer = token(env)
            asyncio.run(measure(broker.bootstrap, f"http://127.0.0.1:{port}", bearer, args, run))
    report(run, args, overrides)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
