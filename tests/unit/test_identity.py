"""person_key: a keyed hash, stable for one secret, unguessable without it."""

import hashlib
import hmac

import pytest

from services.ingest.identity import person_key


def test_is_the_hmac_of_system_and_id() -> None:
    expected = hmac.new(b"s3cret", b"liquidlogic:person:12345", hashlib.sha256).hexdigest()
    assert person_key("s3cret", "liquidlogic", "12345") == expected[:32]


def test_is_stable_and_hex() -> None:
    key = person_key("s3cret", "liquidlogic", "12345")
    assert key == person_key("s3cret", "liquidlogic", "12345")
    assert len(key) == 32
    assert int(key, 16) >= 0


def test_never_contains_the_raw_id() -> None:
    assert "12345" not in person_key("s3cret", "liquidlogic", "12345")


@pytest.mark.parametrize(
    ("secret", "system", "person_id"),
    [
        ("other", "liquidlogic", "12345"),
        ("s3cret", "sen2", "12345"),
        ("s3cret", "liquidlogic", "1234"),
    ],
)
def test_differs_with_secret_system_or_id(secret: str, system: str, person_id: str) -> None:
    assert person_key(secret, system, person_id) != person_key("s3cret", "liquidlogic", "12345")


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        person_key("", "liquidlogic", "12345")


def test_empty_id_is_refused() -> None:
    with pytest.raises(ValueError):
        person_key("s3cret", "liquidlogic", "")
