"""Real parts for integration tests: the embedded Tansu broker and casewatch processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from services.runtime.broker import EmbeddedBroker, free_port

T = TypeVar("T")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A fresh in-memory broker per test (it starts in well under a second)."""
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as b:
        yield b


def poll_until(probe: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Call ``probe`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


@contextmanager
def casewatch_process(
    args: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``casewatch ARGS`` as a child process; stop it (SIGTERM, then SIGKILL) afterwards."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# a council's own secret: tests ingest exports that are not (or no longer) the demo's
TEST_PERSON_KEY_SECRET = "an-integration-test-person-key-secret"


def service_env(broker: EmbeddedBroker, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "CASEWATCH_PERSON_KEY_SECRET": TEST_PERSON_KEY_SECRET,
        "CASEWATCH_KAFKA_BOOTSTRAP": broker.bootstrap,
        "CASEWATCH_SHORT_TIMEOUTS": "1",
        "CASEWATCH_DATA_DIR": str(data_dir),
        "CASEWATCH_ALERTS_PORT": str(free_port()),
        "CASEWATCH_WORKER_WEB_PORT": str(free_port()),
        **extra,
    }


def read_records(
    bootstrap: str, topic: str, *, quiet: float = 2.0, timeout: float = 60.0
) -> list[Any]:
    """Every record on ``topic`` from the start (aiokafka ``ConsumerRecord``s), read until
    nothing new arrives for ``quiet`` seconds. (Tansu's end offsets count record batches,
    not records, so they cannot tell a reader when it has everything.)"""
    import asyncio

    from aiokafka import AIOKafkaConsumer

    async def drain() -> list[Any]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        found: list[Any] = []
        try:
            deadline = time.monotonic() + timeout
            last_new = time.monotonic()
            while time.monotonic() - last_new < quiet and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=250)
                for records in batch.values():
                    found.extend(records)
                    last_new = time.monotonic()
            return found
        finally:
            await consumer.stop()

    return asyncio.run(drain())


def read_topic(
    bootstrap: str, topic: str, *, quiet: float = 2.0, timeout: float = 60.0
) -> list[bytes]:
    """Every record value on ``topic`` (tombstones left out), as :func:`read_records`."""
    records = read_records(bootstrap, topic, quiet=quiet, timeout=timeout)
    return [r.value for r in records if r.value is not None]
