"""Building envelopes fast: the same events as ``schemas.events.make_event``, for bulk ingest.

An export of 100,000 rows makes about as many events, and ``event_id_for`` spends most of
its time in the standard library's JSON encoder.  Here each payload is turned into its JSON
fields once (pydantic-core), and both the deterministic id and the message are encoded from
them:

- the id: pydantic-core's encoder on the sorted fields is byte for byte the ``json.dumps(...,
  sort_keys=True, separators=(",", ":"))`` of ``event_id_for`` for ASCII content without
  DEL (0x7F, which ``json.dumps`` escapes), and ``event_id_for`` itself is used
  otherwise;
- the message (:func:`event_json`): the envelope's fields in declaration order, encoded by
  pydantic-core, is byte for byte ``Event.model_dump_json()`` (about a quarter of its cost).

The envelope is not run through pydantic again (its validator cost as much as everything
else here): :func:`_checked` makes each check ``Event``'s validator would, on values that
are mostly right by construction (the id, the type, the validated payload), and hands
anything it cannot vouch for to the validator itself, which then raises as usual.
``tests/unit/test_ingest_envelope.py`` holds ids, events and bytes equal to ``event_id_for``,
``make_event`` and ``model_dump_json``, and the same errors for bad envelopes.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, get_args

from pydantic_core import to_json

from schemas.events import SCHEMA_VERSION, Event, Payload, event_id_for

_VALIDATE = Event.__pydantic_validator__.validate_python
_SET = object.__setattr__
_PAYLOADS: dict[str, type] = {  # payload type -> its model (the union's discriminator)
    model.model_fields["type"].default: model for model in get_args(get_args(Payload)[0])
}
_GIVEN = frozenset(Event.model_fields) - {"schema_version"}  # what make_event sets
_SORTED: dict[tuple[str, ...], tuple[str, ...]] = {}  # a payload's keys -> sorted


def _fields(payload: Payload) -> dict[str, Any]:
    """The payload's JSON fields (what ``model_dump(mode="json")`` gives)."""
    fields: dict[str, Any] = payload.__pydantic_serializer__.to_python(payload, mode="json")
    return fields


def _id(
    source_system: str, source_record_key: str, payload: Payload, fields: dict[str, Any]
) -> str:
    keys = tuple(fields)
    order = _SORTED.get(keys)
    if order is None:
        order = _SORTED[keys] = tuple(sorted(keys))
    content = to_json({k: fields[k] for k in order})
    if not content.isascii() or b"\x7f" in content:  # json.dumps escapes both, serde neither
        return event_id_for(source_system, source_record_key, payload)
    prefix = f"{source_system}\x1f{source_record_key}\x1f".encode()
    return hashlib.sha256(prefix + content).hexdigest()[:32]


def event_id(source_system: str, source_record_key: str, payload: Payload) -> str:
    """``event_id_for(source_system, source_record_key, payload)``, faster."""
    return _id(source_system, source_record_key, payload, _fields(payload))


_KEYS = (
    "schema_version",
    "event_id",
    "event_type",
    "source_system",
    "source_record_key",
    "person_key",
    "occurred_at",
    "recorded_at",
    "payload",
)
if tuple(Event.model_fields) != _KEYS:  # pragma: no cover - a new envelope field
    raise RuntimeError("the envelope changed: update services/ingest/envelope.py's _KEYS")


def _build(
    source_system: str,
    source_record_key: str,
    person_key: str,
    occurred_at: datetime,
    recorded_at: datetime,
    payload: Payload,
    encode: bool,
) -> tuple[Event, bytes]:
    fields = _fields(payload)
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "event_id": _id(source_system, source_record_key, payload, fields),
        "event_type": payload.type,
        "source_system": source_system,
        "source_record_key": source_record_key,
        "person_key": person_key,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "payload": fields,
    }
    value = to_json(data) if encode else b""
    data["payload"] = payload
    return _checked(data), value


def _aware(moment: object) -> bool:
    return isinstance(moment, datetime) and (moment.tzinfo is UTC or moment.utcoffset() is not None)


def _checked(data: dict[str, Any]) -> Event:
    """``Event(**data)`` for ``data`` built by :func:`_build`, without validating again what
    is right by construction; anything else goes through ``Event``'s validator."""
    payload = data["payload"]
    model = _PAYLOADS.get(getattr(payload, "type", None))  # type: ignore[arg-type]
    vouched = (
        model is not None
        and isinstance(payload, model)
        and type(data["source_system"]) is str
        and data["source_system"]
        and type(data["source_record_key"]) is str
        and data["source_record_key"]
        and type(data["person_key"]) is str
        and len(data["person_key"]) >= 16
        and _aware(data["occurred_at"])
        and _aware(data["recorded_at"])
    )
    if not vouched:
        validated: Event = _VALIDATE(data)
        return validated
    # what Event.model_construct does (at a fifth of its cost): the fields as given, and
    # "set" as make_event sets them
    event = Event.__new__(Event)
    _SET(event, "__dict__", data)
    _SET(event, "__pydantic_fields_set__", set(_GIVEN))
    _SET(event, "__pydantic_extra__", None)
    _SET(event, "__pydantic_private__", None)
    return event


def envelope_and_json(
    *,
    source_system: str,
    source_record_key: str,
    person_key: str,
    occurred_at: datetime,
    recorded_at: datetime,
    payload: Payload,
) -> tuple[Event, bytes]:
    """An :class:`Event` from a validated payload (the envelope is validated by ``Event``'s
    own validator), and its message: the bytes of ``event.model_dump_json()``."""
    return _build(
        source_system, source_record_key, person_key, occurred_at, recorded_at, payload, True
    )


def envelope(
    *,
    source_system: str,
    source_record_key: str,
    person_key: str,
    occurred_at: datetime,
    recorded_at: datetime,
    payload: Payload,
) -> Event:
    """An :class:`Event` from a validated payload (its envelope is validated as usual)."""
    return _build(
        source_system, source_record_key, person_key, occurred_at, recorded_at, payload, False
    )[0]


def event_json(event: Event) -> bytes:
    """The message of an event: the bytes of ``event.model_dump_json()``, faster."""
    data = {name: getattr(event, name) for name in _KEYS}
    data["payload"] = _fields(event.payload)
    return to_json(data)
