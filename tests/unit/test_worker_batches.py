"""The agent's stream: the batch window it waits is the one in force when it waits."""

import asyncio
import inspect
from typing import Any

import faust
import pytest

from services.journeys.batches import Stream


def test_take_events_waits_for_its_batch_through_wait_for_stopped() -> None:
    """What ``Stream.window_by`` relies on in faust-streaming: ``take_events`` waits for its
    buffer with ``wait_for_stopped(..., timeout=within)``. If an upgrade changes that, the
    window stops adapting; this says so."""
    source = inspect.getsource(faust.Stream.take_events)
    assert "self.wait_for_stopped(" in source and "timeout=timeout" in source


def test_each_wait_asks_the_window_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[Any] = []

    async def parent_wait(self: Any, *coros: Any, timeout: Any = None) -> bool:
        waits.append(timeout)
        return False

    monkeypatch.setattr(faust.Stream, "wait_for_stopped", parent_wait)
    stream = Stream.__new__(Stream)  # only the override is exercised, nothing of faust's
    behind = [True, False, False]
    windows = iter(behind)
    stream.window_by(lambda: 1.0 if next(windows) else 0.1)

    async def batch_waits() -> None:
        for _ in behind:
            await stream.wait_for_stopped(asyncio.Event(), timeout=1.0)
        await stream.wait_for_stopped(asyncio.Event())  # no timeout: not a batch wait

    asyncio.run(batch_waits())
    assert waits == [1.0, 0.1, 0.1, None]


def test_without_a_window_the_stream_waits_what_it_is_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[Any] = []

    async def parent_wait(self: Any, *coros: Any, timeout: Any = None) -> bool:
        waits.append(timeout)
        return False

    monkeypatch.setattr(faust.Stream, "wait_for_stopped", parent_wait)
    stream = Stream.__new__(Stream)
    asyncio.run(stream.wait_for_stopped(asyncio.Event(), timeout=1.0))
    assert waits == [1.0]
