"""Bytes in, bytes out: decoding events (or a dead letter saying why not), the journey table's
values, flag records and snapshots. No faust here, so it is tested with plain values.

A journey table value is a one-line JSON header, a newline, then the ``JourneyState`` JSON.
The header says what the worker needs without decoding the journey: the position of the last
event applied (a redelivery at or below it is skipped unread), whether the journey has changed
since it was last evaluated, and its next deadline — so the deadline index is rebuilt on
recovery by reading headers only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import TypeAdapter, ValidationError

from schemas.authority import event_refusal
from schemas.dates import SCHEDULED_TYPES
from schemas.events import EVENT_ADAPTER, Event
from schemas.flags import FlagRecord
from schemas.journeys import CLOCKS_MAX, TIMELINE_MAX, JourneySnapshot, next_deadline_of
from services.journeys.domain.assess import Assessment
from services.journeys.domain.clocks import Flag
from services.journeys.domain.compact import compact
from services.journeys.domain.journey import Fact, person
from services.journeys.domain.pack import RulePack
from services.journeys.domain.state import FlagChanges, JourneyState
from services.journeys.domain.views import child_facts, journey_clocks, timeline

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 1_000_000  # bytes: the producer's max_request_size (faust's default)
LETTER_ORIGINAL_MAX = 256 * 1024  # an original up to this size travels whole in its letter
LETTER_PREFIX = 16 * 1024  # of a larger original: its first bytes, with its size and digest
DETAIL_MAX = 2_000  # characters of a letter's detail
KEY_MAX = 1_024  # a longer message key is replaced by its digest on the DLQ
_ERRORS_SHOWN = 20
_LOC_PART_MAX = 64
# pydantic messages of these kinds quote the input; the kind is said instead.
_QUOTING = {"value_error", "assertion_error", "union_tag_invalid", "string_pattern_mismatch"}


@dataclass(frozen=True)
class DeadLetter:
    """Why an event cannot be folded. ``detail`` names fields, never their values."""

    # undecodable | unknown_type | schema_invalid | key_mismatch | future_dated
    # | not_entitled (schemas.authority) | fold_failed | journey_too_large | unencodable
    # | check_failed | a check's own reason
    reason: str
    detail: str
    original: bytes | None

    def encode(self, topic: str, partition: int, offset: int) -> bytes:
        """The letter, always well under ``MESSAGE_LIMIT``: an original larger than
        ``LETTER_ORIGINAL_MAX`` is kept as its size, SHA-256 and first ``LETTER_PREFIX``
        bytes (``original_prefix_b64``, ``truncated``) instead of whole (``original_b64``)."""
        original = self.original or b""
        letter: dict[str, object] = {
            "reason": self.reason[:_LOC_PART_MAX],
            "detail": bounded(self.detail, DETAIL_MAX),
            "source": {"topic": topic, "partition": partition, "offset": offset},
            "size": len(original),
            "sha256": hashlib.sha256(original).hexdigest(),
            "truncated": len(original) > LETTER_ORIGINAL_MAX,
        }
        if len(original) > LETTER_ORIGINAL_MAX:
            letter["original_prefix_b64"] = base64.b64encode(original[:LETTER_PREFIX]).decode()
        else:
            letter["original_b64"] = base64.b64encode(original).decode()
        return json.dumps(letter).encode()


def letter_key(key: bytes | None) -> bytes | None:
    """The DLQ message key: the original's, or its SHA-256 (hex) when longer than KEY_MAX."""
    if key is None or len(key) <= KEY_MAX:
        return key
    return hashlib.sha256(key).hexdigest().encode()


def bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field_errors(exc: ValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    shown = []
    for err in errors[:_ERRORS_SHOWN]:
        loc = ".".join(bounded(str(p), _LOC_PART_MAX) for p in err["loc"]) or "(root)"
        kind = err["type"]
        shown.append(f"{loc}: {kind}" if kind in _QUOTING else f"{loc}: {err['msg']}")
    more = len(errors) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def decode_event(
    key: bytes | None, value: bytes | None, *, not_after: datetime | None = None
) -> Event | DeadLetter:
    """The event, or why not; never raises, whatever the bytes (depth, size, encoding).
    ``not_after``: the latest believable occurred/recorded time."""
    try:
        return _decode(key, value, not_after)
    except Exception as exc:  # any failure on input is a dead letter
        # The exception's text may quote the input: only its kind is kept.
        return DeadLetter("undecodable", f"decoding failed: {type(exc).__name__}", value)


def _decode(
    key: bytes | None, value: bytes | None, not_after: datetime | None
) -> Event | DeadLetter:
    if not value:
        return DeadLetter("undecodable", "empty message", value)
    try:
        event = EVENT_ADAPTER.validate_json(value)
    except ValidationError as exc:
        kinds = {err["type"] for err in exc.errors(include_input=False, include_url=False)}
        if "json_invalid" in kinds:  # not JSON, not UTF-8, or nested too deep
            return DeadLetter("undecodable", "not JSON: " + _field_errors(exc), value)
        if "union_tag_invalid" in kinds:
            return DeadLetter("unknown_type", "payload.type is not a known event type", value)
        return DeadLetter("schema_invalid", _field_errors(exc), value)
    if key is not None and key != event.person_key.encode():
        return DeadLetter("key_mismatch", "message key is not the event's person key", value)
    if not_after is not None and (late := _future(event, not_after)):
        # A clock set wrong upstream; folding it would hide the child's real next deadline.
        return DeadLetter("future_dated", late, value)
    if (refused := event_refusal(event)) is not None:  # a source stating what it does not own
        return DeadLetter("not_entitled", refused, value)
    return event


def _future(event: Event, not_after: datetime) -> str | None:
    """Why the event is from the future, if it is: recorded later than ``not_after``, or
    occurring later when it states no scheduled date (a phase transfer due next September
    is recorded today about a later day: schemas/dates.py)."""
    if event.recorded_at > not_after:
        return "recorded_at is in the future"
    if event.occurred_at > not_after and event.event_type not in SCHEDULED_TYPES:
        return f"occurred_at is in the future, and a {event.event_type} is not a scheduled fact"
    return None


def latest_believable(now: datetime, tolerance_seconds: float) -> datetime:
    return now + timedelta(seconds=tolerance_seconds)


@dataclass(frozen=True, slots=True)
class JourneyHeader:
    """What the worker knows about a stored journey without decoding it."""

    partition: int  # of the last event applied (-1: unknown)
    offset: int  # of the last event applied (-1: unknown)
    pending: bool  # changed by an event since it was last evaluated
    due: date | None = None  # next deadline found by the last evaluation
    pack: str | None = None  # the rule pack of that evaluation

    def encode(self) -> bytes:
        # Formatted by hand (written once per changed journey): decodes as plain JSON.
        due = f'"{self.due.isoformat()}"' if self.due else "null"
        pack = "null" if self.pack is None else json.dumps(self.pack)
        pending = "true" if self.pending else "false"
        return (
            f'{{"v":1,"p":{self.partition:d},"o":{self.offset:d},"pending":{pending},'
            f'"due":{due},"pack":{pack}}}'
        ).encode()


LEGACY_HEADER = JourneyHeader(partition=-1, offset=-1, pending=True)


def encode_stored(
    header: JourneyHeader, state: JourneyState, fragments: FactFragments | None = None
) -> bytes:
    return stored_value(header, encode_body(state, fragments))


# A stored value must fit one message of the changelog (faust's producer_max_request_size,
# 1,000,000 bytes by default): the body's share, leaving room for the header, key and batch.
BODY_BYTES_MAX = 900_000
_PACKED = b"z"  # a body compressed with zlib (a JSON body starts with "{")


def encode_body(state: JourneyState, fragments: FactFragments | None = None) -> bytes:
    """The state's part of a stored value: its JSON, or for a journey too large for one
    message, that JSON compressed, and if it is still too large, the journey with its
    settled history taken out (domain/compact.py), compressed if need be."""
    body = fragments.encode(state) if fragments else encode_state(state)
    return body if len(body) <= BODY_BYTES_MAX else fit(state, body)


def fit(state: JourneyState, body: bytes, limit: int = BODY_BYTES_MAX) -> bytes:
    """``body`` (the state's JSON) made to fit ``limit`` bytes, if it can be."""
    packed = _PACKED + zlib.compress(body, 6)
    if len(packed) <= limit:
        return packed
    journey = compact(state.journey)
    if journey is state.journey:
        log.error("a journey of %d bytes has no settled history to compact", len(body))
        return packed
    body = encode_state(state.model_copy(update={"journey": journey}))
    if len(body) <= limit:
        return body
    packed = _PACKED + zlib.compress(body, 6)
    if len(packed) > limit:
        log.error("a journey of %d bytes compacted still takes %d", len(body), len(packed))
    return packed


def stored_value(header: JourneyHeader, body: bytes) -> bytes:
    return header.encode() + b"\n" + body


def stored_body(raw: bytes) -> bytes | None:
    """The state's JSON in a stored value, or None for a value stored before headers."""
    _, sep, body = raw.partition(b"\n")
    return body if sep else None


class FactFragments:
    """``JourneyState`` JSON assembled from one serialised fragment per fact.

    A fold copies the facts mapping but shares its ``Fact`` objects (frozen) between a
    journey's versions, so each fact is serialised once instead of at every write of its
    journey — pydantic's dump of a 20-fact journey costs ~60 µs, most of a write. Decodes
    exactly as ``encode_state``'s output does. Bounded: the oldest fragments are dropped.
    """

    def __init__(self, size: int = 200_000) -> None:
        self._size = size
        self._by_id: OrderedDict[int, tuple[Fact, bytes]] = OrderedDict()

    def encode(self, state: JourneyState) -> bytes:
        journey = state.journey
        facts = b",".join(self._fragment(key, fact) for key, fact in journey.facts.items())
        return b"".join(
            (
                b'{"journey":{"person_key":',
                json.dumps(journey.person_key).encode(),
                b',"facts":{',
                facts,
                b'},"settled":',
                json.dumps(list(journey.settled), separators=(",", ":")).encode(),
                b'},"open_flags":',
                _FLAGS.dump_json(state.open_flags),
                b"}",
            )
        )

    def _fragment(self, key: str, fact: Fact) -> bytes:
        """``"key":{fact}`` — a fact is only ever held under its own fact key."""
        found = self._by_id.get(id(fact))
        if found is not None and found[0] is fact:  # the fact held keeps its id unique
            return found[1]
        fragment = json.dumps(key).encode() + b":" + _FACT.dump_json(fact)
        self._by_id[id(fact)] = (fact, fragment)
        if len(self._by_id) > self._size:
            self._by_id.popitem(last=False)
        return fragment


_FACT: TypeAdapter[Fact] = TypeAdapter(Fact)
_FLAGS: TypeAdapter[dict[str, Flag]] = TypeAdapter(dict[str, Flag])


def decode_header(raw: bytes) -> JourneyHeader:
    first, sep, _ = raw.partition(b"\n")
    if not sep:
        return LEGACY_HEADER  # a bare JourneyState from before the header: evaluate it again
    h = json.loads(first)
    due = date.fromisoformat(h["due"]) if h.get("due") else None
    return JourneyHeader(h["p"], h["o"], h["pending"], due, h.get("pack"))


def decode_stored(raw: bytes) -> tuple[JourneyHeader, JourneyState]:
    first, sep, rest = raw.partition(b"\n")
    if not sep:
        return LEGACY_HEADER, decode_state(raw)
    return decode_header(first + sep), decode_state(rest)


def encode_state(state: JourneyState) -> bytes:
    return state.model_dump_json().encode()


def decode_state(raw: bytes) -> JourneyState:
    if raw[:1] == _PACKED:
        raw = zlib.decompress(raw[1:])
    return JourneyState.model_validate_json(raw)


def flag_record(
    state: JourneyState, flag: Flag, status: str, *, as_of: date, pack: RulePack, now: datetime
) -> FlagRecord:
    who = person(state.journey)
    return FlagRecord(
        flag_id=flag.flag_id,
        status="raised" if status == "raised" else "resolved",
        rule_id=flag.rule_id,
        rule_pack_version=pack.version,
        severity=flag.severity,
        statutory=flag.statutory,
        person_key=state.journey.person_key,
        child_ref=who.child_ref if who else None,
        caseworker_id=who.caseworker_id if who else None,
        team=who.team if who else None,
        subject=flag.subject,
        due_on=flag.due_on,
        as_of=as_of,
        exception=flag.exception,
        changed_at=now,
    )


def encode_flag_records(
    state: JourneyState, changes: FlagChanges, *, as_of: date, pack: RulePack, now: datetime
) -> Iterator[tuple[bytes, bytes, FlagRecord]]:
    """(key, value, record) for each flag raised or resolved, resolutions first."""
    for status, flags in (("resolved", changes.resolved), ("raised", changes.raised)):
        for flag in flags:
            record = flag_record(state, flag, status, as_of=as_of, pack=pack, now=now)
            yield flag.flag_id.encode(), record.model_dump_json().encode(), record


def snapshot(
    state: JourneyState,
    *,
    as_of: date,
    pack: RulePack,
    now: datetime,
    assessed: Assessment | None = None,
) -> JourneySnapshot:
    """The read model published on ``casewatch.journeys`` for the alerts service.
    ``assessed``: the same journey's assessment on ``as_of``, saving a second evaluation."""
    journey = state.journey
    who = person(journey)
    views = assessed.views if assessed else journey_clocks(journey, as_of, pack)
    due = next_deadline_of((c for c, _ in views), as_of)  # one of the clocks shown
    flag_id = assessed.flag_id_of if assessed else lambda c: c.flag(journey.person_key).flag_id
    # Validated in one call from plain values: less than building each entry's model.
    return JourneySnapshot.model_validate(
        {
            "person_key": journey.person_key,
            "child_ref": who.child_ref if who else None,
            "caseworker_id": who.caseworker_id if who else None,
            "team": who.team if who else None,
            "as_of": as_of,
            "next_deadline": due,
            "timeline": [  # the latest entries: a message has a size limit (schemas/journeys)
                {"on": i.on, "kind": i.kind, "summary": i.summary}
                for i in timeline(journey, pack)[-TIMELINE_MAX:]
            ],
            "clocks": [
                {
                    "rule_id": c.rule_id,
                    "subject": c.subject,
                    "due_on": c.due_on,
                    "state": "open" if state_ == "open" else "upcoming",
                    "flag_id": flag_id(c) if state_ == "open" else None,
                }
                for c, state_ in views[:CLOCKS_MAX]
            ],
            "child": child_facts(journey, as_of, pack),
            "updated_at": now,
        }
    )


def encode_snapshot(
    state: JourneyState,
    *,
    as_of: date,
    pack: RulePack,
    now: datetime,
    assessed: Assessment | None = None,
) -> bytes:
    view = snapshot(state, as_of=as_of, pack=pack, now=now, assessed=assessed)
    return view.model_dump_json().encode()


RECORD_OVERHEAD = 512  # bytes of a record beyond its key and value (headers, batch framing)


def fits(key: bytes | None, value: bytes, limit: int = MESSAGE_LIMIT) -> bool:
    """Whether a record of this key and value can be produced under ``limit``."""
    return len(key or b"") + len(value) + RECORD_OVERHEAD <= limit
