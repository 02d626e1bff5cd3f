"""Which journeys a clock tick evaluates. Plain Python, so it is tested without faust.

A council export states one child's facts as several events (person, request, plan,
review …). Evaluating after each of them raises flags that the next event resolves — on the
demo authority, 93 alerts instead of 48. So a changed journey is evaluated once it has been
quiet for ``settle`` seconds, on the next tick of its partition; and every partition gets a
full sweep when it is first ticked in this process (after a restart or rebalance), when the
clock's date changes, and at least every ``full_every`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class TickPlan:
    full: bool  # evaluate every journey of the partition (except those settling)
    keys: tuple[bytes, ...]  # when not full: the settled changed journeys
    settling: frozenset[bytes]  # changed too recently: left for a later tick


@dataclass
class EvaluationSchedule:
    settle: float
    full_every: float
    _changed: dict[int, dict[bytes, float]] = field(default_factory=dict)
    _last_full: dict[int, tuple[float, date]] = field(default_factory=dict)

    def changed(self, partition: int, key: bytes, now: float) -> None:
        self._changed.setdefault(partition, {})[key] = now

    def forget(self, partition: int) -> None:
        """The partition left this worker: its next owner sweeps it in full."""
        self._changed.pop(partition, None)
        self._last_full.pop(partition, None)

    def plan(self, partition: int, now: float, as_of: date) -> TickPlan:
        changed = self._changed.get(partition, {})
        settled = {k for k, t in changed.items() if now - t >= self.settle}
        settling = frozenset(changed.keys() - settled)
        for key in settled:
            del changed[key]
        last = self._last_full.get(partition)
        full = last is None or last[1] != as_of or now - last[0] >= self.full_every
        if full:
            self._last_full[partition] = (now, as_of)
        return TickPlan(full=full, keys=tuple(sorted(settled)), settling=settling)
