"""A batch is acknowledged only when the agent has finished it.

faust's ``Stream.take_events`` acknowledges a batch's events in a ``finally``: when the agent
asks for the next batch, but also when the agent raised or was cancelled halfway through it
(the generator is closed). Acknowledged offsets are committed, so a batch that failed — or a
worker stopped in the middle of one — was committed as if processed: this is how one poison
message lost valid events of *other* partitions for good (issue 13).

``Stream.withhold()`` makes the stream refuse every acknowledgement from then on; the agent
calls it before letting an exception out of a batch (``app.journeys``), so the batch's events
stay unacknowledged and are delivered again to whichever worker next owns their partitions.
"""

from __future__ import annotations

from typing import Any

import faust


class Stream(faust.Stream):  # type: ignore[type-arg]
    _withheld = False

    def withhold(self) -> None:
        """Acknowledge nothing more: the batch in hand (and any after it) was not processed."""
        self._withheld = True

    async def ack(self, event: Any) -> bool:
        if self._withheld:
            return False
        return bool(await super().ack(event))
