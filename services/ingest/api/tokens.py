"""Integrator tokens: HS256 JWTs with a scope per source system, signed with a shared secret.

An integrator's token says who they are (``sub``), which source systems they may publish
as (``sources``: ``["liquidlogic"]``, ``["health"]``, or ``["*"]`` for all) and, optionally,
which event types (``event_types``: ``["referral.received"]``; absent: every type the source
authority table, ``schemas.authority``, allows its source).  An event is accepted only if the
token and the table both allow it.  The secret is
``CASEWATCH_INGEST_TOKEN_SECRET`` (at least 32 characters); ``casewatch ingest-token`` mints
tokens with it.  Expiry (``exp``), issue time (``iat``) and audience (``aud``) are required.

Why not the alerts service's token module: its ``Principal`` carries roles and a team, not
source-system scopes, and its audience is the inbox's; integrators are machines holding a
secret the council's data team already manages, and HS256 with one claim is enough.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from schemas.authority import refusal
from schemas.events import EVENT_TYPES

ALGORITHM = "HS256"
ALL_SOURCES = "*"
MIN_SECRET = 32
LEEWAY_S = 30


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not signed with the configured secret."""


@dataclass(frozen=True, slots=True)
class Integrator:
    subject: str
    sources: frozenset[str]
    event_types: frozenset[str] | None = None  # None: what the authority table allows

    def may_publish(self, source_system: str) -> bool:
        return ALL_SOURCES in self.sources or source_system in self.sources

    def refusal(self, source_system: str, event_type: str, fields: Mapping[str, Any]) -> str | None:
        """Why this token may not publish this fact as ``source_system``, or ``None``."""
        if not self.may_publish(source_system):
            return f"the token may not publish as {source_system!r}"
        if self.event_types is not None and event_type not in self.event_types:
            return f"the token may not publish {event_type}"
        return refusal(source_system, event_type, fields)


def _checked(secret: str) -> bytes:
    if len(secret) < MIN_SECRET:
        raise ValueError(f"the ingest token secret must have at least {MIN_SECRET} characters")
    return secret.encode()


def mint_token(
    secret: str,
    *,
    subject: str,
    sources: Collection[str],
    audience: str,
    ttl: timedelta = timedelta(days=90),
    now: datetime | None = None,
    event_types: Collection[str] | None = None,
) -> str:
    if not sources:
        raise ValueError("a token needs at least one source system")
    unknown = sorted(set(event_types or ()) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event types {unknown}: the types are {', '.join(EVENT_TYPES)}")
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl,
        "sources": sorted(sources),
    }
    if event_types is not None:
        claims["event_types"] = sorted(event_types)
    return jwt.encode(claims, _checked(secret), algorithm=ALGORITHM)


def verify_token(secret: str, token: str, *, audience: str) -> Integrator:
    try:
        claims = jwt.decode(
            token,
            _checked(secret),
            algorithms=[ALGORITHM],
            audience=audience,
            leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "sub", "aud"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(type(error).__name__) from error
    sources = claims.get("sources")
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise InvalidToken("the token has no list of source systems")
    types = claims.get("event_types")
    if types is not None and (
        not isinstance(types, list) or not all(isinstance(t, str) for t in types)
    ):
        raise InvalidToken("the token's event_types is not a list of event types")
    return Integrator(
        str(claims["sub"]), frozenset(sources), None if types is None else frozenset(types)
    )
