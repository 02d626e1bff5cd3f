"""Source authority: which source system may assert which facts about a child.

An event is a statement by a source system (``Event.source_system``).  A source may only state
what it owns: a health trust knows when it received a referral and first saw the child, not
that a plan ceased or who the caseworker is.  The table below is the contract; it is checked
on every path in (the HTTP ingest API, ``casewatch ingest``, and the journeys worker for
events already on the topic) and stated in docs/ingest.md (a test holds the two equal).

Source systems are named by their kind: a name in ``SOURCES``, or such a name followed by
``-`` and a suffix of the council's choosing (``health-camhs``, ``liquidlogic-eh``).  A name
of no kind may assert nothing.  Pure: no I/O, imported by ingest and the worker alike.

A health source speaks for its own services only (``service_refusal``): ``health-SERVICE``
(or ``health-SERVICE-anything``) states referrals to that rule-pack service alone; plain
``health`` is a trust-wide extract and states referrals to any.  A first contact, closure
or restatement of a referral is judged against the referral's service as the journey knows
it (the worker does this: ``services/journeys/domain/journey.py``, ``owner_refusal``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from schemas.events import EVENT_TYPES, Event

SourceKind = Literal["case_management", "sen2_return", "health", "school_census"]

# source system name -> its kind
SOURCES: Mapping[str, SourceKind] = {
    "liquidlogic": "case_management",
    "mosaic": "case_management",
    "capita-one": "case_management",
    "eclipse": "case_management",
    "ssd": "case_management",  # a Standard Safeguarding Dataset extract of any case system
    "sen2": "sen2_return",
    "health": "health",
    "school-census": "school_census",
}

_PERSON = ("person.registered", "person.updated")
_CASEWORK = (
    "assessment.requested",
    "request.decided",
    "assessment.completed",
    "plan.draft_issued",
    "plan.issued",
    "plan.amended",
    "plan.ceased",
    "plan.transferred_in",
    "review.meeting_scheduled",
    "review.meeting_held",
    "review.decided",
    "review.draft_issued",
    "phase.transfer",
    "placement.recorded",
)
_REFERRALS = ("referral.received", "referral.first_contact", "referral.closed")

# kind -> the event types it may assert
AUTHORITY: Mapping[SourceKind, frozenset[str]] = {
    # the council's record of the child: who they are, who holds the case, every statutory step
    "case_management": frozenset((*_PERSON, *_CASEWORK, "person.left")),
    # the statutory return, derived from the case system: its steps, never who holds the case
    "sen2_return": frozenset((*_PERSON, *_CASEWORK)),
    # a health or therapy service: its own referrals, first contacts and closures
    "health": frozenset(_REFERRALS),
    # the school census: where the child is on roll
    "school_census": frozenset(("placement.recorded",)),
}

# (kind, event type) -> payload fields that kind may not assert (they must be left unset)
WITHHELD: Mapping[tuple[SourceKind, str], frozenset[str]] = {
    ("sen2_return", "person.registered"): frozenset({"caseworker_id", "team"}),
    ("sen2_return", "person.updated"): frozenset({"caseworker_id", "team"}),
}

if not all(t in EVENT_TYPES for types in AUTHORITY.values() for t in types):
    raise AssertionError("the authority table names an event type the contract does not have")


def kind_of(source_system: str) -> SourceKind | None:
    """The kind of ``source_system``: its own entry, or the entry its name extends with
    ``-suffix`` (the longest such); ``None`` when it is of no kind."""
    found = SOURCES.get(source_system)
    if found is not None:
        return found
    best = ""
    for name in SOURCES:
        if source_system.startswith(name + "-") and len(name) > len(best):
            best = name
    return SOURCES[best] if best else None


def source_label(source_system: str) -> str:
    """A bounded metric label for ``source_system``: its entry in ``SOURCES`` (``health`` for
    ``health-camhs``), or ``other``. Suffixes are an integrator's free text: never a label."""
    if source_system in SOURCES:
        return source_system
    named = [n for n in SOURCES if source_system.startswith(n + "-")]
    return max(named, key=len) if named else "other"


def may_assert(source_system: str, event_type: str) -> bool:
    kind = kind_of(source_system)
    return kind is not None and event_type in AUTHORITY[kind]


def owns_service(source_system: str, service: str) -> bool:
    """Whether a health source speaks for ``service``: plain ``health`` (a trust-wide
    extract) for any; ``health-SERVICE`` or ``health-SERVICE-…`` for that one alone."""
    if source_system == "health":
        return True
    own = "health-" + service
    return source_system == own or source_system.startswith(own + "-")


def service_refusal(source_system: str, service: str) -> str | None:
    """Why ``source_system`` may not state a referral to ``service`` (a rule-pack service
    code, not personal data), or ``None`` if it may.  Only health sources are judged here:
    whether a source may state referrals at all is :func:`refusal`'s question."""
    if kind_of(source_system) != "health" or owns_service(source_system, service):
        return None
    return (
        f"a health source ({source_system!r}) may state referrals to its own service only, "
        f"not to {service!r} (name it health-{service}, or health for a trust-wide extract)"
    )


def refusal(source_system: str, event_type: str, fields: Mapping[str, Any]) -> str | None:
    """Why ``source_system`` may not state this fact, or ``None`` if it may.  ``fields``: the
    payload's fields (their values are looked at only to see whether they are set, and for a
    referral its service code; no other value appears in the reason)."""
    kind = kind_of(source_system)
    if kind is None:
        known = ", ".join(sorted(SOURCES))
        return (
            f"source system {source_system!r} is not in the authority table "
            f"(known: {known}, or one of them followed by -name)"
        )
    if event_type not in AUTHORITY[kind]:
        return f"a {kind} source ({source_system!r}) may not assert {event_type}"
    withheld = sorted(f for f in WITHHELD.get((kind, event_type), ()) if fields.get(f) is not None)
    if withheld:
        names = ", ".join(withheld)
        return f"a {kind} source ({source_system!r}) may not assert {names} on {event_type}"
    service = fields.get("service")
    if event_type == "referral.received" and isinstance(service, str):
        return service_refusal(source_system, service)
    return None


def event_refusal(event: Event) -> str | None:
    """:func:`refusal` of an event."""
    payload = event.payload
    fields = {name: getattr(payload, name) for name in type(payload).model_fields}
    return refusal(event.source_system, event.event_type, fields)


def sources_for(event_type: str) -> list[str]:
    """The source systems named in ``SOURCES`` that may assert ``event_type``."""
    return [name for name, kind in SOURCES.items() if event_type in AUTHORITY[kind]]
