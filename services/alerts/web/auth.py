"""Who is asking: bearer JWTs checked against the configured issuer, audience and keys.

A council's identity provider publishes its keys at a JWKS URL (``auth_jwks_url``). The
embedded default has no identity provider: it signs its own tokens with an ES256 key kept in
``data_dir/auth/`` (created on first use) and ``casewatch token`` mints them for people.

Roles come from the ``roles`` claim (a list, as Entra ID's app roles; one string is accepted
too) and a manager's team from the ``team`` claim. Unknown roles are ignored.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.alerts.config import AlertSettings
from services.alerts.store.caseload import EVERYTHING, Caseload

ROLES = ("caseworker", "manager", "integrator", "admin")
READERS = frozenset({"caseworker", "manager", "admin"})
LOCAL_ALGORITHM = "ES256"
LOCAL_KEY_ID = "casewatch-local"
SIGNING_KEY_FILE = Path("auth/signing-key.pem")
CSRF_KEY_FILE = Path("auth/csrf.key")
LEEWAY_S = 30


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not from the configured issuer."""


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in person (or system): their subject, roles and team."""

    subject: str
    roles: frozenset[str]
    team: str | None = None

    @property
    def reads_alerts(self) -> bool:
        return bool(self.roles & READERS)

    def caseload(self) -> Caseload:
        """Caseworker: their own alerts. Manager: their team's too. Admin: everything.
        An integrator (ingest only) gets an empty caseload; the API refuses it first."""
        if "admin" in self.roles:
            return EVERYTHING
        own = self.subject if self.roles & {"caseworker", "manager"} else None
        team = self.team if "manager" in self.roles else None
        return Caseload(caseworker_id=own, team=team)


class TokenVerifier:
    """Checks tokens against the IdP's JWKS, or against this installation's own key."""

    def __init__(self, config: AlertSettings, data_dir: Path) -> None:
        self._config = config
        self._key_for: Callable[[str], Any]
        if config.local_keys:
            public = local_signing_key(data_dir).public_key()
            self._algorithms = [LOCAL_ALGORITHM]
            self._key_for = lambda _token: public
        else:
            client = jwt.PyJWKClient(config.auth_jwks_url, cache_keys=True, lifespan=300)
            self._algorithms = config.auth_algorithms
            self._key_for = lambda token: client.get_signing_key_from_jwt(token).key

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),
                algorithms=self._algorithms,
                audience=self._config.auth_audience,
                issuer=self._config.auth_issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidToken(type(exc).__name__) from exc
        return Principal(
            subject=str(claims["sub"]),
            roles=_roles(claims.get(self._config.auth_roles_claim)),
            team=_text(claims.get(self._config.auth_team_claim)),
        )


def mint_token(
    config: AlertSettings,
    data_dir: Path,
    *,
    subject: str,
    roles: Collection[str],
    team: str | None = None,
    ttl: timedelta = timedelta(hours=8),
    now: datetime | None = None,
) -> str:
    """A token signed by this installation's key (``casewatch token``, tests, demos)."""
    if not config.local_keys:
        raise ValueError("tokens come from the identity provider at auth_jwks_url")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": config.auth_issuer,
        "aud": config.auth_audience,
        "sub": subject,
        "iat": issued,
        "exp": issued + ttl,
        config.auth_roles_claim: sorted(roles),
    }
    if team:
        claims[config.auth_team_claim] = team
    key = local_signing_key(data_dir)
    return jwt.encode(claims, key, algorithm=LOCAL_ALGORITHM, headers={"kid": LOCAL_KEY_ID})


def local_signing_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    pem = _key_file(data_dir / SIGNING_KEY_FILE, _new_signing_key)
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{SIGNING_KEY_FILE} is not an EC key")
    return key


def local_csrf_key(data_dir: Path) -> bytes:
    return _key_file(data_dir / CSRF_KEY_FILE, lambda: secrets.token_bytes(32))


def _new_signing_key() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _key_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """Read the key at ``path``, creating it (mode 0600) if absent. The key is written to a
    temporary file and linked into place, so two processes starting together agree on one."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(make())
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process won the race: use its key
    finally:
        temporary.unlink()
    return path.read_bytes()


def _roles(claim: object) -> frozenset[str]:
    values = [claim] if isinstance(claim, str) else claim if isinstance(claim, list) else []
    return frozenset(v for v in values if isinstance(v, str) and v in ROLES)


def _text(claim: object) -> str | None:
    return claim if isinstance(claim, str) and claim else None
