"""The SEN2 XML adapter: the (patched) DfE schema, what a return publishes, what it reports, and
that the demo return ingests to the same journeys as the demo SSD export."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from lxml import etree

from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    Event,
    PersonRegistered,
    PhaseTransfer,
    PlacementRecorded,
    PlanIssued,
    RequestDecided,
    ReviewDecided,
)
from services.ingest.demo.authority import write_demo_export
from services.ingest.demo.types import sen2_identity, uln, upn
from services.ingest.identity import person_key
from services.ingest.issues import ExportReading
from services.ingest.linking import IdentityLinker
from services.ingest.sen2.adapter import read_sen2_return
from services.ingest.sen2.schema import parser, published_schema, schema
from services.ingest.ssd.adapter import read_ssd_export
from services.journeys.domain.journey import fold
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import evaluate

SECRET = "test-secret"
EXTRACTED = datetime(2025, 6, 30, 18, 0, tzinfo=UTC)

HEADER = """<Header><CollectionDetails><Collection>SEN2</Collection><Year>2026</Year>
<ReferenceDate>2025-06-30</ReferenceDate></CollectionDetails><Source><SourceLevel>L</SourceLevel>
<LEA>{la}</LEA><DMO>Y</DMO><DCO>Y</DCO></Source></Header>"""

ADA = """<Person><Surname>Example</Surname><Forename>Ada</Forename>
<PersonBirthDate>2015-03-04</PersonBirthDate><Sex>F</Sex><Ethnicity>WBRI</Ethnicity>
<UPN>A123456789012</UPN>
<Requests><ReceivedDate>2023-01-10</ReceivedDate><RequestOutcomeDate>2023-02-14</RequestOutcomeDate>
<RequestOutcome>Y</RequestOutcome><Assessment><AssessmentOutcome>Y</AssessmentOutcome>
<AssessmentOutcomeDate>2023-05-20</AssessmentOutcomeDate><Week20>0</Week20>
<NamedPlan><StartDate>2023-05-20</StartDate></NamedPlan></Assessment>
<ActivePlans><TransferLA>358</TransferLA><PlacementDetail><URN>123456</URN>
<PlacementRank>1</PlacementRank><EntryDate>2023-09-01</EntryDate></PlacementDetail>
<SENneed><SENtype>ASD</SENtype><SENtypeRank>1</SENtypeRank></SENneed>
<ReviewMeeting>2024-04-10</ReviewMeeting><ReviewOutcome>M</ReviewOutcome>
<PhaseTransferDueDate>2026-09-01</PhaseTransferDueDate><LastReview>2024-05-02</LastReview>
</ActivePlans></Requests></Person>"""

BO = """<Person><Surname>Sample</Surname><Forename>Bo</Forename>
<PersonBirthDate>2016-05-04</PersonBirthDate><Sex>M</Sex><Ethnicity>WBRI</Ethnicity>
<UniqueLearnerNumber>9276308686</UniqueLearnerNumber>
<Requests><ReceivedDate>2025-03-01</ReceivedDate></Requests></Person>"""


def write(directory: Path, *persons: str, la: str = "358") -> Path:
    path = directory / "return.xml"
    body = "".join(persons)
    text = f"<?xml version='1.0' encoding='UTF-8'?>\n<Message>{HEADER.format(la=la)}"
    text += f"<Persons>{body}</Persons></Message>\n"
    path.write_text(text, encoding="utf-8")
    return path


def read(path: Path, linker: IdentityLinker | None = None) -> ExportReading:
    return read_sen2_return(path, secret=SECRET, extracted_at=EXTRACTED, linker=linker)


def where(reading: ExportReading) -> list[tuple[int | None, str | None, str]]:
    return [(i.row, i.column, i.rule) for i in reading.issues]


# --- the schema ---------------------------------------------------------------------------


def test_any_three_digit_la_code_validates_but_the_published_xsd_refuses_it(
    tmp_path: Path,
) -> None:
    document = etree.parse(str(write(tmp_path, ADA, BO)), parser())
    assert schema(2026).validate(document), list(schema(2026).error_log)
    assert not published_schema(2026).validate(document)
    refused = sorted({e.path.rsplit("/", 1)[-1] for e in published_schema(2026).error_log})
    assert refused == ["LEA", "TransferLA", "URN", "UniqueLearnerNumber"]  # the two patches


def test_a_clean_return_publishes_every_module(tmp_path: Path) -> None:
    reading = read(write(tmp_path, ADA, BO))
    assert reading.issues == []
    assert reading.header == {
        "la_code": "358",
        "reference_date": "2025-06-30",
        "collection_year": "2026",
        "schema_year": "2026",
    }
    found = [e.payload for e in reading.events]
    assert (
        PersonRegistered(
            child_ref=found[0].child_ref,  # type: ignore[union-attr]
            date_of_birth=date(2015, 3, 4),
            primary_need="ASD",
        )
        == found[0]
    )
    assert found[0].child_ref.startswith("SEN2-")  # type: ignore[union-attr]
    request = "SEN2-2023-01-10"
    for expected in (
        AssessmentRequested(request_id=request, received_on=date(2023, 1, 10)),
        RequestDecided(request_id=request, outcome="Y", decided_on=date(2023, 2, 14)),
        AssessmentCompleted(request_id=request, outcome="Y", outcome_on=date(2023, 5, 20)),
        PlanIssued(plan_id=f"{request}-PLAN", request_id=request, issued_on=date(2023, 5, 20)),
        ReviewDecided(
            plan_id=f"{request}-PLAN",
            decided_on=date(2024, 5, 2),
            outcome="M",
            meeting_on=date(2024, 4, 10),
        ),
        PhaseTransfer(plan_id=f"{request}-PLAN", transfer_due_on=date(2026, 9, 1)),
        PlacementRecorded(
            placement_id="123456:1:2023-09-01",
            setting="123456",
            rank=1,
            entry_on=date(2023, 9, 1),
        ),
    ):
        assert expected in found
    keys = {e.person_key for e in reading.events}
    assert keys == {
        person_key(SECRET, "upn", "A123456789012"),
        person_key(SECRET, "uln", "9276308686"),
    }
    assert (reading.rows_read, reading.rows_rejected) == (4, 0)


def test_schema_errors_name_the_element_and_line_and_reject_only_that_person(
    tmp_path: Path,
) -> None:
    bad = ADA.replace("<Sex>F</Sex>", "<Sex>X</Sex>").replace("2015-03-04", "2015-13-04")
    reading = read(write(tmp_path, bad, BO))
    assert [(*w, i.severity) for w, i in zip(where(reading), reading.issues, strict=True)] == [
        (5, "/Message/Persons/Person[1]/PersonBirthDate", "R-SEN2-SCHEMA", "error"),
        (5, "/Message/Persons/Person[1]/Sex", "R-SEN2-SCHEMA", "warning"),
    ]
    assert reading.issues[1].message == (
        "Element 'Sex': [facet 'enumeration'] The value is not an element of the set {'M', 'F'}."
    ).replace("the set {'M', 'F'}", "the codes the schema lists")
    text = " ".join(str(i) for i in reading.issues)
    assert "2015-13-04" not in text and "'X'" not in text  # values of a person file
    assert {e.person_key for e in reading.events} == {person_key(SECRET, "uln", "9276308686")}
    assert reading.rows_rejected == 2  # Ada's Person and her Requests


def test_header_errors_are_reported_and_persons_still_publish(tmp_path: Path) -> None:
    reading = read(write(tmp_path, BO, la="35"))
    assert where(reading) == [(4, "/Message/Header/Source/LEA", "R-SEN2-SCHEMA")]
    assert reading.issues[0].severity == "warning"
    assert len(reading.events) == 2


def test_consistency_errors_reject_one_requests_module(tmp_path: Path) -> None:
    second = (
        "<Requests><ReceivedDate>2025-03-01</ReceivedDate>"
        "<RequestOutcomeDate>2025-02-01</RequestOutcomeDate><RequestOutcome>N</RequestOutcome>"
        "</Requests>"
    )
    future = ADA.replace("2026-09-01", "2026-09-01").replace(
        "<LastReview>2024-05-02", "<LastReview>2025-07-02"
    )
    reading = read(
        write(
            tmp_path, future.replace("</Requests></Person>", "</Requests>" + second + "</Person>")
        )
    )
    rules = [(c.rsplit("/", 1)[-1] if c else c, r) for _, c, r in where(reading)]
    assert rules == [("LastReview", "R-DATA-FUTURE"), ("RequestOutcomeDate", "R-DATA-ORDER")]
    assert reading.rows_rejected == 2
    assert [type(e.payload).__name__ for e in reading.events] == ["PersonRegistered"]


def test_a_second_need_of_one_rank_is_left_out_with_a_warning(tmp_path: Path) -> None:
    twice = ADA.replace(
        "</SENneed>",
        "</SENneed><SENneed><SENtype>MLD</SENtype><SENtypeRank>1</SENtypeRank></SENneed>",
    )
    reading = read(write(tmp_path, twice))
    assert [(i.rule, i.severity) for i in reading.issues] == [("R-DATA-NEED", "warning")]
    registered = [e.payload for e in reading.events if isinstance(e.payload, PersonRegistered)]
    assert [p.primary_need for p in registered] == ["ASD"]  # the first of rank 1, kept


def test_not_xml_is_one_file_issue(tmp_path: Path) -> None:
    path = tmp_path / "return.xml"
    path.write_text("<Message><Header></Message>", encoding="utf-8")
    reading = read(path)
    assert [(i.file, i.row, i.rule) for i in reading.issues] == [
        ("return.xml", None, "R-DATA-FILE")
    ]
    assert "not well-formed" in reading.issues[0].message


def test_entities_are_not_expanded(tmp_path: Path) -> None:
    path = tmp_path / "return.xml"
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("TOPSECRET")
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file://{secret_file}">]>'
        "<Message><Persons><Person><Surname>&x;</Surname></Person></Persons></Message>"
    )
    reading = read(path)
    assert "TOPSECRET" not in str(reading.issues) + str(reading.events)
    assert [i.rule for i in reading.issues] == ["R-DATA-FILE"]
    assert "DOCTYPE" in reading.issues[0].message


def test_a_child_the_case_system_names_is_left_to_it(tmp_path: Path) -> None:
    linker = IdentityLinker(SECRET)
    linker.resolve(("liquidlogic", "1001"), [("upn", "A123456789012")])
    reading = read(write(tmp_path, ADA, BO), linker)
    assert {e.person_key for e in reading.events} == {person_key(SECRET, "uln", "9276308686")}
    assert [(i.rule, i.severity) for i in reading.issues] == [("R-SEN2-LINKED", "warning")]


def test_the_2025_schema_orders_last_review_earlier(tmp_path: Path) -> None:
    from services.ingest.demo.authority import build_children
    from services.ingest.demo.sen2 import write_sen2

    children = build_children(60, 3, date(2025, 6, 30))
    write_sen2(tmp_path / "r.xml", children, today=date(2025, 6, 30), year=2025)
    document = etree.parse(str(tmp_path / "r.xml"), parser())
    assert schema(2025).validate(document), list(schema(2025).error_log)[:3]
    assert read(tmp_path / "r.xml").header["schema_year"] == "2025"


# --- the same authority as SSD and as SEN2 -----------------------------------------------


def _normalised(events: list[Event]) -> dict[str, object]:
    """Facts with ids replaced by what they name: a request by its received date, a plan by
    its request; the person by date of birth and needs (SEN2 has no caseworker)."""
    journey = fold(events[0].person_key, events)
    requests: dict[str, str] = {}
    plans: dict[str, str] = {}
    for fact in journey.facts.values():
        p = fact.payload
        if isinstance(p, AssessmentRequested):
            requests[p.request_id] = p.received_on.isoformat()
    for fact in journey.facts.values():
        p = fact.payload
        if isinstance(p, PlanIssued):
            plans[p.plan_id] = requests.get(p.request_id or "", "-")
    facts = set()
    for fact in journey.facts.values():
        d = fact.payload.model_dump(mode="json")
        if d["type"] == "person.registered":
            d = {k: d.get(k) for k in ("date_of_birth", "primary_need", "secondary_need")}
        for name, table in (("request_id", requests), ("plan_id", plans)):
            if name in d and d[name] is not None:
                d[name] = table.get(d[name], d[name])
        facts.add(tuple(sorted((k, str(v)) for k, v in d.items())))
    return {"facts": facts}


def test_the_demo_return_validates_and_ingests_to_the_same_journeys_as_the_ssd_export(
    tmp_path: Path,
) -> None:
    from services.ingest.demo.authority import build_children

    today = date(2025, 11, 3)
    write_demo_export(tmp_path, children=250, seed=4, today=today, health=False)
    xml = tmp_path / "sen2" / "sen2_return.xml"
    assert schema(2026).validate(etree.parse(str(xml), parser()))
    extracted = datetime.combine(today, time(18), tzinfo=UTC)
    ssd = read_ssd_export(tmp_path, secret=SECRET, extracted_at=extracted)
    sen2 = read_sen2_return(xml, secret=SECRET, extracted_at=extracted)
    assert ssd.issues == [] and sen2.issues == []
    by_key: dict[str, list[Event]] = defaultdict(list)
    for e in ssd.events + sen2.events:
        by_key[e.person_key].append(e)
    children = build_children(250, 4, today)
    assert len(by_key) == 2 * len(children)
    for child in children:
        from_ssd = by_key[person_key(SECRET, "liquidlogic", str(700000 + child.number))]
        from_sen2 = by_key[person_key(SECRET, *sen2_identity(child))]
        assert _normalised(from_ssd) == _normalised(from_sen2), child.number
        flags = [
            sorted(
                (f.rule_id, f.due_on)
                for f in evaluate(fold(evs[0].person_key, evs), today, DEFAULT_PACK).values()
            )
            for evs in (from_ssd, from_sen2)
        ]
        assert flags[0] == flags[1], child.number


@pytest.mark.parametrize("year", [2025, 2026])
def test_both_schemas_load_with_the_patch(year: int) -> None:
    assert schema(year) is schema(year)  # loaded once


# --- a young person with no UPN and no ULN -------------------------------------------------

FLO_SSD = """pers_person_id,pers_upn,pers_forename,pers_surname,pers_dob,pers_upn_unknown
1001,,Flo,MADEUP,22/10/2010,UN9
"""

FLO = """<Person><Surname>Madeup</Surname><Forename>Flo</Forename>
<PersonBirthDate>2010-10-22</PersonBirthDate><Sex>F</Sex><Ethnicity>WBRI</Ethnicity>
<UPNunknown>UN9</UPNunknown>
<Requests><ReceivedDate>2025-03-01</ReceivedDate></Requests></Person>"""


def test_a_child_with_no_upn_or_uln_in_both_exports_is_one_child(tmp_path: Path) -> None:
    """SEN2 knows this young person by name and DOB only; the case-system export's person row
    has them too (in its own spelling and date format), so the return is left to it."""
    (tmp_path / "ssd").mkdir()
    (tmp_path / "ssd" / "ssd_person.csv").write_text(FLO_SSD, encoding="utf-8")
    linker = IdentityLinker(SECRET)
    ssd = read_ssd_export(tmp_path / "ssd", secret=SECRET, extracted_at=EXTRACTED, linker=linker)
    assert [e.person_key for e in ssd.events] == [person_key(SECRET, "liquidlogic", "1001")]
    reading = read(write(tmp_path, FLO), linker)
    assert reading.events == []
    assert [(i.rule, i.severity) for i in reading.issues] == [("R-SEN2-LINKED", "warning")]


@pytest.mark.parametrize("today", [date(2026, 12, 6), date(2027, 3, 1), date(2025, 9, 1)])
@pytest.mark.parametrize("seed", [3, 7])
def test_a_return_of_the_export_s_own_children_publishes_nothing(
    tmp_path: Path, seed: int, today: date
) -> None:
    """Every child of the demo SEN2 return is a child of the SSD export (UPN, ULN, or for
    some, name and DOB alone): read after the export, the return starts no journey."""
    from services.ingest.demo.authority import build_children

    children = build_children(200, seed, today)
    assert any(not upn(c) and not uln(c) for c in children)  # the case this test is for
    write_demo_export(tmp_path, children=200, seed=seed, today=today, health=False)
    extracted = datetime.combine(today, time(18), tzinfo=UTC)
    linker = IdentityLinker(SECRET)
    read_ssd_export(tmp_path, secret=SECRET, extracted_at=extracted, linker=linker)
    xml = tmp_path / "sen2" / "sen2_return.xml"
    reading = read_sen2_return(xml, secret=SECRET, extracted_at=extracted, linker=linker)
    assert reading.events == []
    assert [i.rule for i in reading.issues] == ["R-SEN2-LINKED"]
