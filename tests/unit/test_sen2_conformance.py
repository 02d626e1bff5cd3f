"""SEN2 conformance: casewatch's own fixtures (tests/fixtures/sen2/), each held to exactly the
verdicts its header comment states and its ``.expected.json`` lists, and the UPN/ULN checks
against the DfE's and the Learning Records Service's definitions."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from schemas.events import AssessmentCompleted, Event, PersonRegistered, RequestDecided
from services.ingest.identifiers import (
    LETTERS,
    uln_fault,
    uln_with_check,
    upn_fault,
    upn_with_check,
)
from services.ingest.identity import person_key
from services.ingest.sen2.adapter import read_sen2_return
from services.ingest.sen2.schema import parser, published_schema, schema, year_of

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sen2"
SECRET = "conformance"
CASES = sorted(p.stem for p in FIXTURES.glob("*.xml"))


def expected(name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((FIXTURES / f"{name}.expected.json").read_text())
    return found


def read(name: str) -> tuple[list[Event], Any]:
    on = date.fromisoformat(expected(name)["extracted"])
    reading = read_sen2_return(
        FIXTURES / f"{name}.xml",
        secret=SECRET,
        extracted_at=datetime.combine(on, time(18), tzinfo=UTC),
    )
    return reading.events, reading


def persons(name: str) -> list[etree._Element]:
    return etree.parse(str(FIXTURES / f"{name}.xml"), parser()).findall("Persons/Person")


def key_of(person: etree._Element) -> str | None:
    """The person key a UPN or ULN gives (None for a child known by name and birth only)."""
    for tag, kind in (("UPN", "upn"), ("UniqueLearnerNumber", "uln")):
        value = (person.findtext(tag) or "").strip()
        if value:
            return person_key(SECRET, kind, value)
    return None


def test_every_fixture_has_its_verdicts() -> None:
    assert {"accepted_2026", "ceased_2025", "warnings_2026", "rejects_2026"} <= set(CASES)
    for name in CASES:
        assert (FIXTURES / f"{name}.expected.json").is_file(), name
        assert "Verdicts" in (FIXTURES / f"{name}.xml").read_text(), name


@pytest.mark.parametrize("name", CASES)
def test_a_fixture_gives_exactly_its_verdicts(name: str) -> None:
    want = expected(name)
    events, reading = read(name)
    assert reading.header["schema_year"] == str(want["schema_year"])
    assert [[i.column, i.rule, i.severity] for i in reading.issues] == want["issues"]
    assert [reading.rows_read, reading.rows_rejected] == want["rows"]
    rejected_persons = set(want["rejected"]["persons"])
    rejected_modules = {tuple(m) for m in want["rejected"]["modules"]}
    published: dict[str, set[str]] = defaultdict(set)  # person key -> module keys stated
    registered = set()
    for event in events:
        module, *rest = event.source_record_key.split(":")
        if module == "Person":
            registered.add(event.person_key)
        else:
            published[event.person_key].add(rest[1])  # Requests:<ref>:<module key>[:...]
    everyone = persons(name)
    assert len(registered) == len(everyone) - len(rejected_persons)
    for number, person in enumerate(everyone, start=1):
        key = key_of(person)
        if key is None:
            continue
        modules = len(person.findall("Requests"))
        if number in rejected_persons:
            assert key not in registered and not published[key], number
            continue
        assert key in registered, number
        kept = modules - sum(1 for p, _ in rejected_modules if p == number)
        assert len(published[key]) == kept, number


def test_warnings_never_drop_a_child_or_a_clock() -> None:
    events, reading = read("warnings_2026")
    assert reading.issues and all(i.severity == "warning" for i in reading.issues)
    plans = [e for e in events if e.event_type == "plan.issued"]
    assert len(plans) == len(persons("warnings_2026"))  # every child's plan, every clock


def test_mediation_and_tribunal_reach_the_events() -> None:
    events, _ = read("accepted_2026")
    decided = [e.payload for e in events if isinstance(e.payload, RequestDecided)]
    refused = next(d for d in decided if d.outcome == "N")
    assert (refused.mediation, refused.tribunal) == (True, True)
    assessed = next(d for d in decided if d.request_id == "SEN2-2024-01-15")
    assert (assessed.mediation, assessed.tribunal) == (False, False)
    completed = {
        e.payload.outcome: e.payload for e in events if isinstance(e.payload, AssessmentCompleted)
    }
    assert (completed["N"].mediation, completed["N"].tribunal) == (True, True)
    assert (completed["Y"].other_mediation, completed["Y"].exception) == (True, True)


def test_each_cease_reason_is_stated() -> None:
    events, _ = read("ceased_2025")
    reasons = sorted(e.payload.reason for e in events if e.event_type == "plan.ceased")  # type: ignore[union-attr]
    assert reasons == list(range(1, 10))


def test_uln_only_and_unknown_upn_children_are_known() -> None:
    events, _ = read("accepted_2026")
    born = {e.payload.date_of_birth for e in events if isinstance(e.payload, PersonRegistered)}
    assert {date(2006, 4, 11), date(2021, 8, 19), date(2009, 12, 1)} <= born


@pytest.mark.parametrize("name", CASES)
def test_fixture_years_are_the_schema_years(name: str) -> None:
    document = etree.parse(str(FIXTURES / f"{name}.xml"), parser())
    assert year_of(document) == expected(name)["schema_year"]


# --- the identifiers ---------------------------------------------------------------------


def test_the_lrs_worked_example_is_a_uln_and_eight_digits_are_not() -> None:
    assert uln_fault("9276308686") is None
    assert uln_fault("12345678") is not None
    assert uln_fault("0276308686") is not None  # the first digit is never 0
    assert uln_fault("9276308687") is not None


def test_the_schema_takes_a_ten_digit_uln_where_the_transcription_took_eight() -> None:
    def person(uln: str) -> etree._ElementTree:
        text = (
            "<Message><Persons><Person><Surname>S</Surname><Forename>F</Forename>"
            "<PersonBirthDate>2008-01-01</PersonBirthDate><Sex>F</Sex><Ethnicity>WBRI</Ethnicity>"
            f"<UniqueLearnerNumber>{uln}</UniqueLearnerNumber></Person></Persons></Message>"
        )
        return etree.ElementTree(etree.fromstring(text, parser()))

    for year in (2025, 2026):
        assert schema(year).validate(person("9276308686"))
        assert not schema(year).validate(person("12345678"))
        assert published_schema(year).validate(person("^12345678$"))  # the transcription's
        assert not published_schema(year).validate(person("9276308686"))


@given(st.text("0123456789", min_size=8, max_size=8), st.sampled_from("123456789"))
def test_every_single_digit_change_to_a_uln_is_caught(rest: str, first: str) -> None:
    uln = uln_with_check(first + rest)
    if uln is None:  # no check digit fits these nine digits: no ULN starts so
        return
    assert uln_fault(uln) is None
    for position in range(10):
        for digit in "0123456789":
            if digit != uln[position]:
                changed = uln[:position] + digit + uln[position + 1 :]
                assert uln_fault(changed) is not None


@given(st.text("0123456789", min_size=11, max_size=11), st.sampled_from("0123456789" + LETTERS))
def test_upns_permanent_and_temporary_carry_their_check_letter(digits: str, last: str) -> None:
    upn = upn_with_check(digits + last)
    assert upn_fault(upn) is None
    assert len(upn) == 13 and upn[0] in LETTERS
    for position in range(1, 12):
        for digit in "0123456789":
            if digit != upn[position]:
                assert upn_fault(upn[:position] + digit + upn[position + 1 :]) is not None
    assert upn_fault(upn + "7") is not None  # 14 characters, as the LIIA samples have
