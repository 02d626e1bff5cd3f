"""Building envelopes fast: the same events as ``schemas.events.make_event``, for bulk ingest.

An export of 100,000 rows makes about as many events, and ``event_id_for`` spends most of
its time in the standard library's JSON encoder.  Here each payload is encoded once, as its
*canonical JSON* (its JSON fields with the keys sorted, encoded by pydantic-core), and both
the deterministic id and the message are made from those bytes:

- the id: the canonical JSON is byte for byte the ``json.dumps(..., sort_keys=True,
  separators=(",", ":"))`` of ``event_id_for`` for ASCII content without DEL (0x7F, which
  ``json.dumps`` escapes), and ``event_id_for`` itself is used otherwise;
- the message (:func:`event_json`): the envelope's fields in declaration order, as
  ``Event.model_dump_json()`` writes them, around the payload's canonical JSON.  It decodes
  to the same event; only the order of the payload's keys differs from ``model_dump_json``
  (sorted here), so for ASCII content a reader can recompute the event's id from the
  message's own bytes: ``sha256(source_system 0x1F source_record_key 0x1F payload)``.

The envelope is not run through pydantic again (its validator cost as much as everything
else here): :func:`build_event` makes each check ``Event``'s validator would, on values that
are mostly right by construction (the id, the type, the validated payload), and hands
anything it cannot vouch for to the validator itself, which then raises as usual.
``tests/unit/test_ingest_envelope.py`` holds ids and events equal to ``event_id_for`` and
``make_event``, messages that decode to them, and the same errors for bad envelopes.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, get_args

from pydantic import BaseModel
from pydantic_core import to_json

from schemas.events import (
    CODE_MAX,
    RECORD_KEY_MAX,
    SCHEMA_VERSION,
    Event,
    Payload,
    event_id_for,
)

_VALIDATE = Event.__pydantic_validator__.validate_python
_SET = object.__setattr__
_NEW = object.__new__
_PAYLOADS: dict[str, type[BaseModel]] = {  # payload type -> its model (the union's discriminator)
    model.model_fields["type"].default: model for model in get_args(get_args(Payload)[0])
}
_GIVEN = frozenset(Event.model_fields) - {"schema_version"}  # what make_event sets
_GIVEN_SET = set(_GIVEN)  # shared by the events built here (see build_event)
_SHA256 = hashlib.sha256
_SORTED: dict[tuple[str, ...], tuple[str, ...]] = {}  # a payload's keys -> sorted


def _fields(payload: Payload) -> dict[str, Any]:
    """The payload's JSON fields (what ``model_dump(mode="json")`` gives)."""
    fields: dict[str, Any] = payload.__pydantic_serializer__.to_python(payload, mode="json")
    return fields


_PLAIN: dict[type, bool] = {}  # payload model -> its JSON fields are its attributes, encoded
# the one serializer of the schema this module knows: fields added after the first release
# (the model's _ADDED) are left out of its JSON while they are None (schemas/events.py)
_OMITTING = {"_omit_unset_additions"}


def _plain(model: type) -> bool:
    """Whether encoding the model's attributes as they are gives its JSON fields, leaving
    out its unset additions (``_omitted``): no other serializer, alias or exclusion (its
    values are str, int, bool, date or None, which pydantic-core encodes alike in and out
    of a model)."""
    found = _PLAIN.get(model)
    if found is None:
        decorators = model.__pydantic_decorators__  # type: ignore[attr-defined]
        fields = model.model_fields  # type: ignore[attr-defined]
        found = _PLAIN[model] = not (
            (decorators.model_serializers and set(decorators.model_serializers) != _OMITTING)
            or decorators.field_serializers
            or decorators.computed_fields
            or any(f.exclude or f.alias or f.serialization_alias for f in fields.values())
            or any(k.startswith("ser_json") for k in model.model_config)  # type: ignore[attr-defined]
        )
    return found


def _omitted(model: type) -> frozenset[str]:
    """The fields a plain model leaves out of its JSON while they are None."""
    if set(model.__pydantic_decorators__.model_serializers) == _OMITTING:  # type: ignore[attr-defined]
        return frozenset(model._ADDED)  # type: ignore[attr-defined]
    return frozenset()


_ORDER: dict[type, tuple[str, ...]] = {  # plain payload model -> its fields, sorted
    model: tuple(sorted(model.model_fields)) for model in _PAYLOADS.values() if _plain(model)
}
_OMIT: dict[type, frozenset[str]] = {m: _omitted(m) for m in _ORDER if _omitted(m)}


def _content(payload: Payload) -> bytes:
    """The payload's canonical JSON: its JSON fields, keys sorted, encoded by pydantic-core."""
    model = type(payload)
    order = _ORDER.get(model)
    fields = payload.__dict__
    if order is None or len(order) != len(fields):
        fields = _fields(payload)
        keys = tuple(fields)
        order = _SORTED.get(keys)
        if order is None:
            order = _SORTED[keys] = tuple(sorted(keys))
        return to_json({k: fields[k] for k in order})
    omit = _OMIT.get(model)
    if omit:
        return to_json({k: fields[k] for k in order if fields[k] is not None or k not in omit})
    return to_json({k: fields[k] for k in order})


def _id_of(source_system: str, source_record_key: str, payload: Payload, content: bytes) -> str:
    """The event id from the payload's canonical JSON (``content``)."""
    if not content.isascii() or b"\x7f" in content:  # json.dumps escapes both, serde neither
        return event_id_for(source_system, source_record_key, payload)
    prefix = f"{source_system}\x1f{source_record_key}\x1f".encode()
    return _SHA256(prefix + content).hexdigest()[:32]


def event_id(source_system: str, source_record_key: str, payload: Payload) -> str:
    """``event_id_for(source_system, source_record_key, payload)``, faster."""
    return _id_of(source_system, source_record_key, payload, _content(payload))


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

# the message: Event.model_dump_json(), field by field (the envelope's fields in declaration
# order, each value encoded by pydantic-core as the model encodes it), but for the payload,
# which is its canonical JSON
_MESSAGE = (
    b'{"schema_version":%d,"event_id":"%s","event_type":%s,"source_system":%s,'
    b'"source_record_key":%s,"person_key":%s,"occurred_at":%s,"recorded_at":%s,"payload":%s}'
)
_ENCODED: dict[object, bytes] = {}  # repeated values (systems, types, moments) -> their JSON


def _encoded(value: object) -> bytes:
    found = _ENCODED.get(value)
    if found is None:
        if len(_ENCODED) > 100_000:
            _ENCODED.clear()
        found = _ENCODED[value] = to_json(value)
    return found


def build_event(
    source_system: str,
    source_record_key: str,
    person_key: str,
    occurred_at: datetime,
    recorded_at: datetime,
    payload: Payload,
    encode: bool = True,
) -> tuple[Event, bytes]:
    """An :class:`Event` from a validated payload (its envelope is validated as ``Event``'s
    own validator would), and its message (:func:`event_json`'s bytes; ``b""`` with
    ``encode=False``).  A bulk reader's loop calls it once per event."""
    event_type = getattr(payload, "type", None)
    model = _PAYLOADS.get(event_type)  # type: ignore[arg-type]
    # the checks Event's validator makes, on values that are mostly right by construction;
    # anything this cannot vouch for goes through the validator itself (which then raises)
    vouched = (
        model is not None
        and isinstance(payload, model)
        and type(source_system) is str
        and 0 < len(source_system) <= CODE_MAX
        and type(source_record_key) is str
        and 0 < len(source_record_key) <= RECORD_KEY_MAX
        and type(person_key) is str
        and 16 <= len(person_key) <= 64
        and ((type(occurred_at) is datetime and occurred_at.tzinfo is UTC) or _aware(occurred_at))
        and ((type(recorded_at) is datetime and recorded_at.tzinfo is UTC) or _aware(recorded_at))
    )
    model_type = type(payload)
    order = _ORDER.get(model_type)  # a plain model's fields, sorted
    fields = payload.__dict__
    if order is not None and len(order) == len(fields) and model_type not in _OMIT:
        content = to_json({k: fields[k] for k in order})  # _content's common case, inline
    else:
        content = _content(payload)
    event_id = _id_of(source_system, source_record_key, payload, content)
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "event_id": event_id,
        "event_type": event_type,
        "source_system": source_system,
        "source_record_key": source_record_key,
        "person_key": person_key,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "payload": payload,
    }
    if vouched:
        # what Event.model_construct does (at a fifth of its cost): the fields as given,
        # and "set" as make_event sets them.  Every event shares one set of field names:
        # a frozen model never adds to it (model_copy copies it first), and a set of its own
        # per event was ~0.7 KB and ~3% of an export's reading
        event = _NEW(Event)
        _SET(event, "__dict__", data)
        _SET(event, "__pydantic_fields_set__", _GIVEN_SET)
        _SET(event, "__pydantic_extra__", None)
        _SET(event, "__pydantic_private__", None)
    else:
        event = _VALIDATE(data)
    if not encode:
        return event, b""
    known = _ENCODED.get  # repeated values: a lookup, and a call only for a new one
    value = _MESSAGE % (
        SCHEMA_VERSION,
        event_id.encode(),
        known(event_type) or _encoded(event_type),
        known(source_system) or _encoded(source_system),
        to_json(source_record_key),
        known(person_key) or _encoded(person_key),  # a child's events share it
        known(occurred_at) or _encoded(occurred_at),
        known(recorded_at) or _encoded(recorded_at),
        content,
    )
    return event, value


def _aware(moment: object) -> bool:
    return isinstance(moment, datetime) and (moment.tzinfo is UTC or moment.utcoffset() is not None)


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
    return build_event(
        source_system, source_record_key, person_key, occurred_at, recorded_at, payload, False
    )[0]


def event_json(event: Event) -> bytes:
    """The message of an event: its envelope as ``model_dump_json`` writes it, around the
    payload's canonical JSON (keys sorted)."""
    return _MESSAGE % (
        event.schema_version,
        event.event_id.encode(),
        to_json(event.event_type),
        to_json(event.source_system),
        to_json(event.source_record_key),
        to_json(event.person_key),
        to_json(event.occurred_at),
        to_json(event.recorded_at),
        _content(event.payload),
    )
