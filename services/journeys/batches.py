"""A batch is acknowledged only when the agent has finished it.

faust's ``Stream.take_events`` acknowledges a batch's events in a ``finally``: when the agent
asks for the next batch, but also when the agent raised or was cancelled halfway through it
(the generator is closed). Acknowledged offsets are committed, so a batch that failed — or a
worker stopped in the middle of one — was committed as if processed: this is how one poison
message lost valid events of *other* partitions for good (issue 13).

``Stream.withhold()`` makes the stream refuse every acknowledgement from then on; the agent
calls it before letting an exception out of a batch (``app.journeys``), so the batch's events
stay unacknowledged and are delivered again to whichever worker next owns their partitions.

The batch window adapts (``Stream.window_by``): ``take_events`` waits a fixed ``within`` for
its buffer to fill, and that wait is what every event pays before it is folded. A long window
keeps a replay cheap (each journey written once per batch, however many of its events the
batch holds); a short one keeps a live event's wait short. The agent gives the stream a
function returning the window in force — long while a partition is behind, short otherwise —
and ``take_events`` (faust-streaming 0.15) asks for it before every wait, through
``wait_for_stopped``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust


class Stream(faust.Stream):  # type: ignore[type-arg]
    _withheld = False
    _window: Callable[[], float] | None = None

    def withhold(self) -> None:
        """Acknowledge nothing more: the batch in hand (and any after it) was not processed."""
        self._withheld = True

    def window_by(self, window: Callable[[], float]) -> None:
        """From now on each of ``take_events``' waits lasts ``window()`` seconds, not its
        ``within``."""
        self._window = window

    async def wait_for_stopped(self, *coros: Any, timeout: Any = None) -> bool:
        if self._window is not None and timeout is not None:  # take_events' batch wait
            timeout = self._window()
        return bool(await super().wait_for_stopped(*coros, timeout=timeout))

    async def ack(self, event: Any) -> bool:
        if self._withheld:
            return False
        return bool(await super().ack(event))
