"""The one place a decoded event is judged before it is folded.

``admit(event)`` runs every check in ``CHECKS`` in order and returns the first refusal: the
dead letter's reason (a short fixed code, also a metric label), or None to fold the event.
A check is a pure function of the event (no I/O, no clock): the same event is judged the same
way on every worker and on every redelivery. The processor calls ``admit`` once per event,
after decoding and before the fold (``JourneyProcessor._admit``); a check that raises
dead-letters the event as ``check_failed`` rather than stopping the worker.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas.events import Event

Check = Callable[[Event], str | None]  # the reason the event is refused, or None

CHECKS: tuple[Check, ...] = ()


def admit(event: Event) -> str | None:
    for check in CHECKS:
        reason = check(event)
        if reason is not None:
            return reason
    return None
