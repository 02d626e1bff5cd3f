"""Pseudonymous person keys: raw case-system identifiers never reach Kafka keys or logs.

The key is a keyed hash (HMAC-SHA256) of the source system and its person id.  Without the
secret, a key cannot be recomputed from a guessed id, so it is not a lookup table for
identifiers; with it, every export of the same child gives the same key.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

KEY_HEX_CHARS = 32  # 128 bits: collisions are not a concern at any council's scale


@lru_cache(maxsize=8)
def keyed(secret: str) -> hmac.HMAC:
    """HMAC-SHA256 keyed with ``secret``, to be copied per message (:func:`keyed_hex`)."""
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def keyed_hex(secret: str, message: bytes, chars: int) -> str:
    """``hmac.digest(secret, message, "sha256").hex()[:chars]``, from a copy of the keyed
    HMAC instead of keying it again: an export hashes several identifiers per child."""
    mac = keyed(secret).copy()
    mac.update(message)
    return mac.hexdigest()[:chars]


def person_key(secret: str, source_system: str, person_id: str) -> str:
    """The person key of ``person_id`` in ``source_system``: 32 lowercase hex characters."""
    if not secret:
        raise ValueError("the person-key secret is empty: keys would be plain hashes of ids")
    if not source_system or not person_id:
        raise ValueError("a person key needs both a source system and a person id")
    message = f"{source_system}:person:{person_id}".encode()
    return keyed_hex(secret, message, KEY_HEX_CHARS)
