"""person_key: a keyed hash, stable for one secret, unguessable without it."""

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.identity import keyed_hex, person_key


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


# --- linking identities across sources -----------------------------------------------------

from services.ingest.linking import IdentityLinker  # noqa: E402


def test_the_first_identifier_decides_the_key_and_later_ones_link_to_it() -> None:
    linker = IdentityLinker("s3cret")
    first = linker.resolve(
        ("liquidlogic", "1001"), [("upn", "a123456789012"), ("nhs", "999 000 0001")]
    )
    assert first.person_key == person_key("s3cret", "liquidlogic", "1001")
    assert linker.resolve(None, [("upn", "A123456789012")]).person_key == first.person_key
    assert linker.resolve(None, [("nhs", "9990000001")]).person_key == first.person_key
    assert linker.named_by_a_system(first.person_key or "")


def test_a_new_id_joins_the_child_its_upn_names() -> None:
    linker = IdentityLinker("s3cret")
    sen2 = linker.resolve(None, [("upn", "A123456789012")])
    assert sen2.person_key == person_key("s3cret", "upn", "A123456789012")
    case = linker.resolve(("liquidlogic", "1001"), [("upn", "A123456789012")])
    assert (case.person_key, case.conflicts) == (sen2.person_key, ())


def test_two_ids_of_one_system_never_share_a_upn() -> None:
    linker = IdentityLinker("s3cret")
    linker.resolve(("liquidlogic", "1001"), [("upn", "A123456789012")])
    other = linker.resolve(("liquidlogic", "1002"), [("upn", "A123456789012")])
    assert other.person_key == person_key("s3cret", "liquidlogic", "1002")
    assert other.conflicts == ("upn",)


def test_identifiers_naming_two_children_are_never_merged() -> None:
    linker = IdentityLinker("s3cret")
    a = linker.resolve(None, [("upn", "A123456789012")]).person_key
    b = linker.resolve(None, [("uln", "12345678")]).person_key
    assert a != b
    both = linker.resolve(None, [("upn", "A123456789012"), ("uln", "12345678")])
    assert (both.person_key, both.conflicts) == (None, ("uln", "upn"))
    assert "name two different children" in both.message()
    own = linker.resolve(("liquidlogic", "7"), [("upn", "A123456789012"), ("uln", "12345678")])
    assert own.person_key == person_key("s3cret", "liquidlogic", "7")
    assert linker.resolve(None, [("upn", "A123456789012")]).person_key == a  # unchanged


def test_links_survive_a_restart_as_hashes_only() -> None:
    linker = IdentityLinker("s3cret")
    key = linker.resolve(("liquidlogic", "1001"), [("upn", "A123456789012")]).person_key
    saved = dict(linker.added)
    assert all("A123456789012" not in d and "1001" not in d for d in saved)
    again = IdentityLinker("s3cret", links=saved)
    assert again.resolve(None, [("upn", "A123456789012")]).person_key == key


@given(st.text(min_size=1, max_size=200), st.lists(st.binary(max_size=300), max_size=4))
def test_copied_keyed_hashes_are_fresh_hmacs(secret: str, messages: list[bytes]) -> None:
    """The keyed HMAC is copied per message: each digest is that of a freshly keyed HMAC,
    whatever was hashed before with the same secret (keys longer than a block included)."""
    for message in messages:
        expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        assert keyed_hex(secret, message, 40) == expected[:40]
