"""person_key: a keyed hash, stable for one secret, unguessable without it."""

import hashlib
import hmac
from datetime import date

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

from services.ingest.linking import IdentityLinker, demographic  # noqa: E402


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


# --- name and date of birth: weak, for a young person with no UPN or ULN -------------------

BORN = date(2010, 10, 22)


def test_a_case_system_child_is_found_by_name_and_birth_date() -> None:
    """SEN2 names a young person with neither UPN nor ULN by name and DOB; the case-system
    record of that child registered them, so the return reaches it (not a second journey)."""
    linker = IdentityLinker("s3cret")
    named = demographic("Flo", "Madeup", BORN)
    assert named is not None
    case = linker.resolve(("liquidlogic", "1001"), [named])
    sen2 = linker.resolve(None, [("demographic", "flo|madeup|2010-10-22")])
    assert sen2.person_key == case.person_key
    assert linker.named_by_a_system(sen2.person_key or "")


def test_name_and_birth_date_ignore_case_and_spacing_but_need_all_three() -> None:
    assert demographic(" Mary  Ann ", "O'NEIL", BORN) == demographic("mary ann", "o'neil", BORN)
    assert demographic("Mary", "", BORN) is None
    assert demographic("Mary", "Smith", None) is None
    assert demographic("Mary", "Smith", BORN) != demographic("Mary", "Smith", date(2010, 10, 23))


def test_two_children_sharing_a_name_and_birthday_stay_apart_and_keep_their_upns() -> None:
    """Name and DOB never merge two case-system children, never conflict, and never stop the
    second child's UPN from linking (its SEN2 record must still reach it)."""
    linker = IdentityLinker("s3cret")
    same = demographic("Sam", "Smith", BORN)
    assert same is not None
    first = linker.resolve(("liquidlogic", "1"), [("upn", "A123456789012"), same])
    second = linker.resolve(("liquidlogic", "2"), [("upn", "B123456789012"), same])
    other = linker.resolve(("capita", "9"), [same])  # another system: still not merged
    assert len({first.person_key, second.person_key, other.person_key}) == 3
    assert second.conflicts == () == other.conflicts
    assert linker.resolve(None, [("upn", "B123456789012")]).person_key == second.person_key
    assert linker.resolve(None, [same]).person_key == first.person_key  # the first keeps them


def test_a_case_system_record_joins_the_child_a_return_named_by_name_and_birth_date() -> None:
    linker = IdentityLinker("s3cret")
    sen2 = linker.resolve(None, [("demographic", "flo|madeup|2010-10-22")])
    named = demographic("FLO", "Madeup", BORN)
    assert named is not None
    case = linker.resolve(("liquidlogic", "1001"), [("nhs", "9990000001"), named])
    assert (case.person_key, case.conflicts) == (sen2.person_key, ())


def test_a_return_record_with_nothing_to_know_the_child_by_says_so() -> None:
    found = IdentityLinker("s3cret").resolve(None, [])
    assert found.person_key is None
    assert "no UPN, ULN, or name and date of birth" in found.message()


@given(st.text(min_size=1, max_size=200), st.lists(st.binary(max_size=300), max_size=4))
def test_copied_keyed_hashes_are_fresh_hmacs(secret: str, messages: list[bytes]) -> None:
    """The keyed HMAC is copied per message: each digest is that of a freshly keyed HMAC,
    whatever was hashed before with the same secret (keys longer than a block included)."""
    for message in messages:
        expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        assert keyed_hex(secret, message, 40) == expected[:40]
