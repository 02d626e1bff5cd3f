"""A child's journey as a pure fold of events.

The journey holds *facts*, each named by a fact key derived from the event (``plan:P1``,
``review-decision:P1:2025-02-05``).  For each key the fact with the greatest version
``(recorded_at, event_id)`` wins: the latest statement by the source system, so a corrected
export replaces what it corrects even when the correction moves a date earlier.  That makes
the fold

- idempotent: a duplicate event has the same version and changes nothing;
- order independent: any delivery order of the same events gives the same journey, because a
  fact's value comes from its winning event alone, never from what came before it.

Views (requests, plans, reviews) are derived from the facts when a rule asks for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    Event,
    Payload,
    PersonRegistered,
    PlanCeased,
    PlanIssued,
    RequestDecided,
    ReviewDecided,
    ReviewMeetingHeld,
)


class Fact(BaseModel):
    model_config = ConfigDict(frozen=True)

    recorded_at: datetime
    event_id: str
    payload: Payload

    @property
    def version(self) -> tuple[datetime, str]:
        return (self.recorded_at, self.event_id)


class Journey(BaseModel):
    """Everything known about one child, keyed by the pseudonymous person key."""

    model_config = ConfigDict(frozen=True)

    person_key: str
    facts: dict[str, Fact] = {}


def fact_key(payload: Payload) -> str:
    """The name of the fact an event states; later versions of the same fact replace it."""
    match payload:
        case PersonRegistered():  # and PersonUpdated, its subclass
            return "person"
        case AssessmentRequested(request_id=r):
            return f"request:{r}"
        case RequestDecided(request_id=r):
            return f"request-decision:{r}"
        case AssessmentCompleted(request_id=r):
            return f"assessment:{r}"
        case PlanIssued(plan_id=p):
            return f"plan:{p}"
        case PlanCeased(plan_id=p):
            return f"plan-cease:{p}"
        case ReviewMeetingHeld(plan_id=p, meeting_on=d):
            return f"review-meeting:{p}:{d.isoformat()}"
        case ReviewDecided(plan_id=p, decided_on=d):
            return f"review-decision:{p}:{d.isoformat()}"
    raise TypeError(f"no fact key for payload type {type(payload).__name__}")  # pragma: no cover


def apply(journey: Journey, event: Event) -> Journey:
    """Fold one event into the journey. Returns the same object when nothing changed."""
    if event.person_key != journey.person_key:
        raise ValueError("event belongs to another journey")
    key = fact_key(event.payload)
    candidate = Fact(recorded_at=event.recorded_at, event_id=event.event_id, payload=event.payload)
    current = journey.facts.get(key)
    if current is not None and current.version >= candidate.version:
        return journey
    return journey.model_copy(update={"facts": {**journey.facts, key: candidate}})


def fold(person_key: str, events: Iterable[Event], journey: Journey | None = None) -> Journey:
    state = journey if journey is not None else Journey(person_key=person_key)
    for event in events:
        state = apply(state, event)
    return state


_P = TypeVar("_P")

# --- views -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    request_id: str
    received_on: date
    decision: RequestDecided | None
    assessment: AssessmentCompleted | None


@dataclass(frozen=True)
class PlanView:
    plan_id: str
    request_id: str | None
    issued_on: date
    ceased: PlanCeased | None
    review_decisions: tuple[ReviewDecided, ...] = field(default=())
    review_meetings: tuple[date, ...] = field(default=())

    def in_force_on(self, on: date) -> bool:
        return self.issued_on <= on and (self.ceased is None or self.ceased.ceased_on > on)


def _payloads(journey: Journey, prefix: str, kind: type[_P]) -> list[_P]:
    return [
        f.payload
        for k, f in sorted(journey.facts.items())
        if k.startswith(prefix) and isinstance(f.payload, kind)
    ]


def _fact(journey: Journey, key: str, kind: type[_P]) -> _P | None:
    fact = journey.facts.get(key)
    return fact.payload if fact is not None and isinstance(fact.payload, kind) else None


def person(journey: Journey) -> PersonRegistered | None:
    return _fact(journey, "person", PersonRegistered)


def requests(journey: Journey) -> list[RequestView]:
    return [
        RequestView(
            request_id=p.request_id,
            received_on=p.received_on,
            decision=_fact(journey, f"request-decision:{p.request_id}", RequestDecided),
            assessment=_fact(journey, f"assessment:{p.request_id}", AssessmentCompleted),
        )
        for p in _payloads(journey, "request:", AssessmentRequested)
    ]


def plans(journey: Journey) -> list[PlanView]:
    return [
        PlanView(
            plan_id=p.plan_id,
            request_id=p.request_id,
            issued_on=p.issued_on,
            ceased=_fact(journey, f"plan-cease:{p.plan_id}", PlanCeased),
            review_decisions=tuple(
                _payloads(journey, f"review-decision:{p.plan_id}:", ReviewDecided)
            ),
            review_meetings=tuple(
                m.meeting_on
                for m in _payloads(journey, f"review-meeting:{p.plan_id}:", ReviewMeetingHeld)
            ),
        )
        for p in _payloads(journey, "plan:", PlanIssued)
    ]
