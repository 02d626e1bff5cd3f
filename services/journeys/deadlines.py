"""The deadline index of one partition: next-deadline date → person keys. Plain Python.

A journey's open flags can change only when an event arrives or on its next deadline
(``rules.next_deadline``), so the clock evaluates the journeys whose deadline has come instead
of scanning the partition. Every journey of the partition is known here (with ``None`` when
it has no deadline), so the slow verification sweep can walk them all.

Memory: one dict entry per journey plus one set entry per dated journey (~200 bytes with a
64-character key; bench/bench_sweep.py measures it). Dates are few (one per day), so finding
what is due walks a heap of distinct dates, never the keys.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date


@dataclass
class DeadlineIndex:
    _due: dict[bytes, date | None] = field(default_factory=dict)
    _by_date: dict[date, set[bytes]] = field(default_factory=dict)
    _dates: list[date] = field(default_factory=list)  # heap; may hold dates with no keys left
    _interned: dict[date, date] = field(default_factory=dict)  # one object per date

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, key: bytes) -> bool:
        return key in self._due

    def set(self, key: bytes, due: date | None) -> None:
        """Index ``key`` under its next deadline (``None``: known, nothing due)."""
        if due is not None:  # each header decodes its own date object: keep one per day
            due = self._interned.setdefault(due, due)
        old = self._due.get(key)
        if old is not None and old != due:
            self._discard(key, old)
        self._due[key] = due
        if due is not None and old != due:
            bucket = self._by_date.get(due)
            if bucket is None:
                bucket = self._by_date[due] = set()
                heapq.heappush(self._dates, due)
            bucket.add(key)

    def remove(self, key: bytes) -> None:
        old = self._due.pop(key, None)
        if old is not None:
            self._discard(key, old)

    def due(self, as_of: date, limit: int | None = None) -> list[bytes]:
        """Keys whose deadline is on or before ``as_of``, earliest first (at most ``limit``).
        They stay indexed until evaluated and ``set`` again."""
        found: list[bytes] = []
        for day in self._due_dates(as_of):
            for key in sorted(self._by_date[day]):  # sorted: the same order in every run
                if limit is not None and len(found) >= limit:
                    return found
                found.append(key)
        return found

    def keys(self) -> list[bytes]:
        return list(self._due)

    def _due_dates(self, as_of: date) -> list[date]:
        days: list[date] = []
        while self._dates and self._dates[0] <= as_of:
            day = heapq.heappop(self._dates)
            if day in self._by_date and (not days or days[-1] != day):
                days.append(day)  # emptied buckets leave stale (or repeated) dates behind
        for day in days:
            heapq.heappush(self._dates, day)
        return days

    def _discard(self, key: bytes, day: date) -> None:
        bucket = self._by_date.get(day)
        if bucket is None:
            return
        bucket.discard(key)
        if not bucket:
            del self._by_date[day]
