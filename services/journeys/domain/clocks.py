"""Clocks and flags: what every rule returns, and how a flag's id is made.

A rule returns *clocks*: statutory dates with the window in which the rule's flag is raised.
Given the facts known on a date, a clock is fixed; only the passing of time opens or closes
it.  That one idea gives three things: the open flags on any date (``Clock.open_on``), the
upcoming deadlines for a caseworker, and the next date anything can change without a new
event (``next_deadline``), which lets the worker index journeys instead of scanning them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Literal

Severity = Literal["advisory", "warning", "breach"]


@dataclass(frozen=True)
class Flag:
    """A rule's finding about one journey, open for as long as its condition holds."""

    flag_id: str
    rule_id: str
    severity: Severity
    statutory: bool
    subject: str
    due_on: date
    exception: bool = False


@dataclass(frozen=True)
class Clock:
    """A rule's date for one subject, and the window [opens_on, closes_on) of its flag.

    ``due_on`` is the statutory date the flag is about (rules.md §6).  Advisory rules have
    ``statutory=False`` and are never reported as statutory breaches.
    """

    rule_id: str
    severity: Severity
    subject: str
    due_on: date
    opens_on: date
    closes_on: date | None = None
    statutory: bool = True
    exception: bool = False

    def open_on(self, on: date) -> bool:
        return self.opens_on <= on and (self.closes_on is None or on < self.closes_on)

    def flag(self, person_key: str) -> Flag:
        return Flag(
            flag_id=flag_id_for(self.rule_id, person_key, self.subject, self.due_on),
            rule_id=self.rule_id,
            severity=self.severity,
            statutory=self.statutory,
            subject=self.subject,
            due_on=self.due_on,
            exception=self.exception,
        )


def flag_id_for(rule_id: str, person_key: str, subject: str, due_on: date) -> str:
    """Deterministic: the same rule, child, subject and due date always give the same id."""
    raw = f"{rule_id}\x1f{person_key}\x1f{subject}\x1f{due_on.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]
