"""Integrator tokens: HS256 JWTs with a scope per source system, signed with a shared secret.

An integrator's token says who they are (``sub``) and which source systems they may publish
as (``sources``: ``["liquidlogic"]``, ``["health"]``, or ``["*"]`` for all).  The secret is
``CASEWATCH_INGEST_TOKEN_SECRET`` (at least 32 characters); ``casewatch ingest-token`` mints
tokens with it.  Expiry (``exp``), issue time (``iat``) and audience (``aud``) are required.

Why not the alerts service's token module: its ``Principal`` carries roles and a team, not
source-system scopes, and its audience is the inbox's; integrators are machines holding a
secret the council's data team already manages, and HS256 with one claim is enough.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

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

    def may_publish(self, source_system: str) -> bool:
        return ALL_SOURCES in self.sources or source_system in self.sources


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
) -> str:
    if not sources:
        raise ValueError("a token needs at least one source system")
    issued = now or datetime.now(UTC)
    claims = {
        "sub": subject,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl,
        "sources": sorted(sources),
    }
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
    return Integrator(str(claims["sub"]), frozenset(sources))
