"""The alert lifecycle, as plain values: which casework is allowed in which status.

::

              flag raised                acknowledge
    (none) ──────────────► open ─────────────────────────► acknowledged
                            │  ▲ ╲ N working days             │
                            │  │  ╲ unacknowledged            │ snooze
                            │  │   ▼                          ▼
                            │  │  escalated ──acknowledge──► (acknowledged)
                            │  └── woke (date reached) ◄── snoozed ◄── snooze (from any
                            │                                           live status)
                            └── flag resolved (from any live status) ──► resolved
                                 flag raised again ──► open (times_raised + 1)

Reassignment keeps the status. Only the journey (a resolved flag) resolves an alert: there
is no "close" button, because an alert stands for a statutory duty still unmet.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

AlertStatus = Literal["open", "escalated", "acknowledged", "snoozed", "resolved"]
Action = Literal[
    "opened",
    "reopened",
    "resolved",
    "acknowledged",
    "snoozed",
    "woke",
    "reassigned",
    "rerouted",
    "escalated",
]
Casework = Literal["acknowledged", "snoozed", "reassigned", "escalated", "woke"]

STATUSES: tuple[AlertStatus, ...] = ("open", "escalated", "acknowledged", "snoozed", "resolved")
LIVE: frozenset[AlertStatus] = frozenset({"open", "escalated", "acknowledged", "snoozed"})
"""Not resolved: the alert is in somebody's inbox (the ``casewatch_alerts_open`` gauge)."""
UNACKNOWLEDGED: frozenset[AlertStatus] = frozenset({"open", "escalated"})

ALLOWED_FROM: dict[Casework, frozenset[AlertStatus]] = {
    "acknowledged": frozenset({"open", "escalated", "snoozed", "acknowledged"}),
    "snoozed": LIVE,
    "reassigned": LIVE,
    "escalated": frozenset({"open"}),
    "woke": frozenset({"snoozed"}),
}
RESULT: dict[Casework, AlertStatus | None] = {
    "acknowledged": "acknowledged",
    "snoozed": "snoozed",
    "reassigned": None,  # keeps the status
    "escalated": "escalated",
    "woke": "open",
}
REASON_MAX_CHARS = 500


class CaseworkRefused(ValueError):
    """The casework is not possible in the alert's status (HTTP 409)."""


class CaseworkInvalid(CaseworkRefused):
    """The request itself is wrong: no reason, a snooze date out of range (HTTP 422)."""


def status_after(status: AlertStatus, casework: Casework) -> AlertStatus:
    if status not in ALLOWED_FROM[casework]:
        raise CaseworkRefused(f"cannot be {casework} while {status}")
    return RESULT[casework] or status


def as_status(value: str) -> AlertStatus:
    for status in STATUSES:
        if status == value:
            return status
    raise ValueError(f"unknown alert status {value!r}")


def checked_reason(reason: str | None, *, required: bool) -> str | None:
    """The reason as it will be audited: trimmed, bounded, present when ``required``."""
    text = (reason or "").strip()
    if required and not text:
        raise CaseworkInvalid("a reason is required")
    if len(text) > REASON_MAX_CHARS:
        raise CaseworkInvalid(f"the reason is longer than {REASON_MAX_CHARS} characters")
    return text or None


def check_snooze_until(until: date, today: date, max_days: int) -> None:
    """A snooze ends on a future date, at most ``max_days`` away: a statutory deadline must
    come back to someone's attention."""
    if until <= today:
        raise CaseworkInvalid("the snooze must end after today")
    if until > today + timedelta(days=max_days):
        raise CaseworkInvalid(f"a snooze can last at most {max_days} days")
