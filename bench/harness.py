"""Real parts for the benchmarks: the embedded broker, topics, a fast producer, the worker as a
child process, and its metrics. Loopback only; every child process is stopped by its PID."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from aiokafka import AIOKafkaProducer

from services.cli import all_topics
from services.runtime.broker import EmbeddedBroker, ensure_topics, free_port
from services.runtime.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def broker_with_topics(home: Path, partitions: int = 4) -> Iterator[EmbeddedBroker]:
    home.mkdir(parents=True, exist_ok=True)
    with EmbeddedBroker(log_path=home / "broker.log") as broker:
        settings = Settings(kafka_bootstrap=broker.bootstrap, partitions=partitions)
        names, compacted = all_topics(settings)
        ensure_topics(broker.bootstrap, partitions, names, compacted)
        yield broker


async def _produce(bootstrap: str, topic: str, records: Sequence[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=20,
        max_batch_size=256 * 1024,
        compression_type="lz4",  # as ingest publishes
        acks="all",
    )
    await producer.start()
    try:
        for start in range(0, len(records), 5000):
            futures = [
                await producer.send(topic, key=k, value=v) for k, v in records[start : start + 5000]
            ]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


def produce(bootstrap: str, topic: str, records: Sequence[tuple[bytes, bytes]]) -> float:
    """Publish ``records`` keyed by person; returns seconds taken."""
    started = time.perf_counter()
    asyncio.run(_produce(bootstrap, topic, records))
    return time.perf_counter() - started


def worker_env(broker: EmbeddedBroker, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CASEWATCH_KAFKA_BOOTSTRAP": broker.bootstrap,
        "CASEWATCH_SHORT_TIMEOUTS": "1",
        "CASEWATCH_DATA_DIR": str(data_dir),
        "CASEWATCH_WORKER_WEB_PORT": str(free_port()),
        "CASEWATCH_CLOCK_DATE": "2026-11-23",
        **extra,
    }


@contextmanager
def worker_process(
    env: dict[str, str], log: Path, prefix: Sequence[str] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """``casewatch worker`` (optionally under a profiler ``prefix``); SIGTERM then SIGKILL."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "services.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        yield proc
    finally:
        stop(proc, signal.SIGINT if prefix else signal.SIGTERM)  # py-spy writes on SIGINT


def stop(proc: subprocess.Popen[bytes], how: signal.Signals, grace: float = 30.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(how)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def metrics(port: str | int) -> dict[str, float]:
    """Every sample of the worker's /metrics, summed over labels except those asked for by
    name with labels, e.g. ``casewatch_sweep_journeys_total{reason="changed"}``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return {}
    found: dict[str, float] = {}
    for name, labels, value in re.findall(r"^(\w+)(\{[^}]*\})? (\S+)$", text, re.M):
        found[name] = found.get(name, 0.0) + float(value)
        if labels:
            found[name + labels] = float(value)
    return found


def wait_for(probe: Callable[[], bool], *, timeout: float, what: str, every: float = 0.25) -> float:
    """Poll until ``probe()``; returns the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return time.monotonic()
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
