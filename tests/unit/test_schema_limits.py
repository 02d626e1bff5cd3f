"""Bounded sizes: every string and every collection of every topic contract has a maximum."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.events import ID_MAX, AssessmentRequested, PersonRegistered, ReferralReceived
from schemas.generate import CONTRACTS

BOUNDED_FORMATS = {"date", "date-time"}


def unbounded(node: Any, path: str = "") -> Iterator[str]:
    """The paths of every string without maxLength (or enum, const, format) and every array
    without maxItems in a JSON Schema."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "string" and not (
            "maxLength" in node
            or "enum" in node
            or "const" in node
            or node.get("format") in BOUNDED_FORMATS
        ):
            yield path
        if kind == "array" and "maxItems" not in node:
            yield path
        for key, value in node.items():
            yield from unbounded(value, f"{path}/{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from unbounded(value, f"{path}/{n}")


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_every_string_and_collection_of_the_contract_is_bounded(name: str) -> None:
    schema = CONTRACTS[name].json_schema()
    assert list(unbounded(schema)) == []


def test_the_walker_finds_an_unbounded_string_and_list() -> None:
    schema = {"properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {}}}}
    assert list(unbounded(schema)) == ["/properties/a", "/properties/b"]


@given(st.integers(min_value=ID_MAX + 1, max_value=200_000))
def test_an_identifier_longer_than_the_limit_is_refused_naming_the_field(length: int) -> None:
    with pytest.raises(ValidationError) as caught:
        AssessmentRequested(request_id="R" * length, received_on=date(2024, 1, 2))
    (error,) = caught.value.errors()
    assert error["loc"] == ("request_id",) and error["type"] == "string_too_long"


def test_codes_and_references_are_bounded_too() -> None:
    with pytest.raises(ValidationError):
        ReferralReceived(referral_id="R1", service="s" * 65, received_on=date(2024, 1, 2))
    with pytest.raises(ValidationError):
        PersonRegistered(child_ref="c" * (ID_MAX + 1))
    assert PersonRegistered(child_ref="c" * ID_MAX, team="t" * 64).team == "t" * 64
