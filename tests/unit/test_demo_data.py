"""The synthetic authority: deterministic, clean, and what the domain rules find in it."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from schemas.events import Event, ReviewDecided
from services.ingest.demo.authority import (
    CASEWORKERS,
    FORENAMES,
    SURNAMES,
    DemoSummary,
    write_demo_export,
)
from services.ingest.identifiers import upn_fault
from services.ingest.ssd.adapter import ExportReading, read_ssd_export
from services.journeys.domain.journey import Journey, fold, person, plans, requests
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import evaluate

TODAY = date(2025, 11, 3)
FILES = (
    "ssd_person",
    "ssd_send",
    "ssd_ehcp_requests",
    "ssd_ehcp_assessment",
    "ssd_ehcp_named_plan",
    "ssd_ehcp_active_plans",
    "ssd_sen_need",
    "ssd_placements",
    "ssd_caseworker_assignments",
)


def ingest(directory: Path, today: date) -> ExportReading:
    extracted_at = datetime.combine(today, time(18), tzinfo=UTC)
    return read_ssd_export(directory, secret="demo-secret", extracted_at=extracted_at)


def journeys(events: list[Event]) -> list[Journey]:
    by_person: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_person[event.person_key].append(event)
    return [fold(key, evs) for key, evs in by_person.items()]


SUMMARISED_RULES = ("R-AR-DUE", "R-ISSUE-20W")  # what DemoSummary counts


@dataclass
class Found:
    """What the domain rules and views find in the ingested export on one day."""

    flags: Counter[str]
    exception_breaches: int
    flags_by_caseworker: dict[str, Counter[str]]
    caseload: Counter[str]
    plans: int
    plans_in_force: int
    plans_within_20_weeks: int


def find(reading: ExportReading, as_of: date) -> Found:
    found = Found(Counter(), 0, defaultdict(Counter), Counter(), 0, 0, 0)
    for journey in journeys(reading.events):
        registered = person(journey)
        assert registered is not None and registered.caseworker_id is not None
        found.caseload[registered.caseworker_id] += 1
        for flag in evaluate(journey, as_of, DEFAULT_PACK).values():
            if flag.rule_id not in SUMMARISED_RULES:
                continue
            found.flags[flag.rule_id] += 1
            found.flags_by_caseworker[registered.caseworker_id][flag.rule_id] += 1
            found.exception_breaches += flag.rule_id == "R-ISSUE-20W" and flag.exception
        received = {r.request_id: r.received_on for r in requests(journey)}
        for plan in plans(journey):
            assert plan.request_id is not None
            found.plans += 1
            found.plans_in_force += plan.in_force_on(as_of)
            found.plans_within_20_weeks += plan.issued_on <= received[plan.request_id] + timedelta(
                days=140
            )
    return found


def bytes_of(directory: Path) -> dict[str, bytes]:
    return {name: (directory / f"{name}.csv").read_bytes() for name in FILES}


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    first = write_demo_export(tmp_path / "a", children=150, seed=11, today=TODAY)
    second = write_demo_export(tmp_path / "b", children=150, seed=11, today=TODAY)
    assert first == second
    assert bytes_of(tmp_path / "a") == bytes_of(tmp_path / "b")


def test_another_seed_writes_another_authority(tmp_path: Path) -> None:
    write_demo_export(tmp_path / "a", children=150, seed=11, today=TODAY)
    write_demo_export(tmp_path / "b", children=150, seed=12, today=TODAY)
    assert bytes_of(tmp_path / "a") != bytes_of(tmp_path / "b")


# --- the summary is what the rules find ----------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "today"),
    [(1, TODAY), (7, date(2024, 2, 29)), (42, date(2025, 3, 31)), (3, date(2026, 8, 31))],
)
def test_summary_is_what_the_domain_rules_flag(tmp_path: Path, seed: int, today: date) -> None:
    summary = write_demo_export(tmp_path, children=400, seed=seed, today=today)
    reading = ingest(tmp_path, today)
    assert reading.issues == []
    found = find(reading, today)
    assert found.flags == Counter(
        {"R-AR-DUE": summary.lapsed_reviews, "R-ISSUE-20W": summary.open_20w_breaches}
    )
    assert found.exception_breaches == summary.open_20w_breaches_with_exception
    for caseworker in CASEWORKERS:
        flags = found.flags_by_caseworker[caseworker]
        assert flags["R-AR-DUE"] == summary.lapsed_by_caseworker[caseworker]
        assert flags["R-ISSUE-20W"] == summary.breaches_by_caseworker[caseworker]
    assert found.caseload == Counter(summary.caseload)
    assert (found.plans, found.plans_in_force) == (summary.plans, summary.plans_in_force)
    assert found.plans_within_20_weeks == summary.plans_within_20_weeks


def test_the_cross_check_can_fail(tmp_path: Path) -> None:
    """A year on, every reviewed plan has lapsed too: the counts no longer match the summary."""
    summary = write_demo_export(tmp_path, children=200, seed=5, today=TODAY)
    later = find(ingest(tmp_path, TODAY), TODAY + timedelta(days=400))
    assert later.flags["R-AR-DUE"] > summary.lapsed_reviews


def test_adapter_reads_every_row_without_issues(tmp_path: Path) -> None:
    write_demo_export(tmp_path, children=300, seed=2, today=TODAY)
    reading = ingest(tmp_path, TODAY)
    rows = sum(len((tmp_path / f"{name}.csv").read_text().splitlines()) - 1 for name in FILES)
    assert (reading.issues, reading.rows_read, reading.rows_rejected) == ([], rows, 0)


# --- a realistic authority (rules.md §8) ---------------------------------------------------


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, ExportReading]:
    directory = tmp_path_factory.mktemp("demo")
    summary = write_demo_export(directory, children=1000, seed=2026, today=TODAY)
    return summary, ingest(directory, TODAY)


def test_mix_looks_like_the_national_figures(large: tuple[DemoSummary, ExportReading]) -> None:
    summary, _ = large
    assert 0.65 <= summary.plans / summary.children <= 0.75
    assert 0.40 <= summary.plans_within_20_weeks / summary.plans <= 0.60
    assert 0.80 <= summary.decisions_within_6_weeks / summary.decisions <= 0.90
    assert 0.15 <= summary.lapsed_reviews / summary.plans_in_force <= 0.20
    assert summary.open_20w_breaches > summary.open_20w_breaches_with_exception > 0
    assert summary.ceased_plans > 0 and summary.withdrawn_requests > 0
    assert set(summary.caseload) == set(CASEWORKERS) and all(summary.caseload.values())


def test_review_decisions_follow_meetings_as_nationally(
    large: tuple[DemoSummary, ExportReading],
) -> None:
    """DfE 2024: 44.4% of review decisions within 4 weeks of the meeting."""
    _, reading = large
    decisions = [e.payload for e in reading.events if isinstance(e.payload, ReviewDecided)]
    gaps = [(d.decided_on - d.meeting_on).days for d in decisions if d.meeting_on is not None]
    assert len(gaps) > len(decisions) / 3
    assert all(1 <= gap <= 70 for gap in gaps)
    assert 0.37 <= sum(gap <= 28 for gap in gaps) / len(gaps) <= 0.52


def test_people_are_plainly_fictional(tmp_path: Path) -> None:
    write_demo_export(tmp_path, children=100, seed=3, today=TODAY)
    with (tmp_path / "ssd_person.csv").open(newline="") as handle:
        people = list(csv.DictReader(handle))
    assert {p["pers_forename"] for p in people} <= set(FORENAMES)
    assert {p["pers_surname"] for p in people} <= set(SURNAMES)
    assert all(re.fullmatch(r"[A-Z]999\d{9}", p["pers_upn"]) for p in people)  # 999: no LA's
    assert all(upn_fault(p["pers_upn"]) is None for p in people)  # with their check letters
    assert all(p["pers_single_unique_id"].startswith("999") for p in people)  # test NHS range
    assert {(p["caseworker_id"], p["team"]) for p in people} <= set(CASEWORKERS.items())


def test_no_children_is_an_empty_but_valid_export(tmp_path: Path) -> None:
    summary = write_demo_export(tmp_path, children=0, seed=1, today=TODAY)
    reading = ingest(tmp_path, TODAY)
    assert (summary.children, reading.issues, reading.events) == (0, [], [])


# --- the other exports, messy files, and what replay shows ---------------------------------


def test_messy_files_ingest_to_the_same_events(tmp_path: Path) -> None:
    from services.ingest.export import read_export

    write_demo_export(tmp_path / "clean", children=200, seed=8, today=TODAY)
    write_demo_export(tmp_path / "messy", children=200, seed=8, today=TODAY, messy=True)
    raw = (tmp_path / "messy" / "ssd_ehcp_requests.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and b",,\r\n" in raw
    assert b" 00:00:00.000" in raw and re.search(rb"\d\d/\d\d/\d{4}", raw)
    at = datetime.combine(TODAY, time(18), tzinfo=UTC)
    clean = read_export(tmp_path / "clean", secret="s", extracted_at=at)
    messy = read_export(tmp_path / "messy", secret="s", extracted_at=at)
    assert clean.issues == []
    assert {i.rule for i in messy.issues} == {"R-DATA-REPEAT"} and messy.rows_rejected == 0
    assert sorted(e.event_id for e in messy.events) == sorted(e.event_id for e in clean.events)


def test_replay_of_the_demo_shows_transfers_year_9_and_long_waits(tmp_path: Path) -> None:
    from services.ingest.export import read_export
    from services.journeys.domain.rules.transition import ncy_on
    from services.journeys.replay import journeys_of, open_flags

    today = date(2026, 3, 2)  # after 15 February: missed transfers show too
    write_demo_export(tmp_path, children=400, seed=5, today=today)
    reading = read_export(
        tmp_path, secret="s", extracted_at=datetime.combine(today, time(18), tzinfo=UTC)
    )
    assert reading.issues == []
    rules = Counter(f.rule_id for f in open_flags(reading.events, today, DEFAULT_PACK))
    for rule in ("R-PHASE-MISSED", "R-PFA-Y9", "R-WAIT", "R-AR-DUE", "R-ISSUE-20W"):
        assert rules[rule] > 0, rule
    with_plans = [j for j in journeys_of(reading.events) if plans(j)]
    year_groups = Counter(ncy_on(j, today) for j in with_plans)
    assert all(year_groups[n] >= 5 for n in (6, 9, 11)), year_groups
    transfers = [e for e in reading.events if e.event_type == "phase.transfer"]
    assert any(e.payload.final_on for e in transfers)  # type: ignore[union-attr]


def test_primary_needs_follow_the_national_mix(large: tuple[DemoSummary, ExportReading]) -> None:
    from schemas.events import PersonRegistered

    _, reading = large
    needs = Counter(
        e.payload.primary_need
        for e in reading.events
        if isinstance(e.payload, PersonRegistered) and e.payload.primary_need
    )
    total = sum(needs.values())
    assert 0.27 <= needs["ASD"] / total <= 0.39
    assert 0.16 <= needs["SLCN"] / total <= 0.26
    assert needs.most_common(3)[0][0] == "ASD"


def test_the_demo_sen2_return_validates_against_the_2026_schema(tmp_path: Path) -> None:
    from lxml import etree

    from services.ingest.sen2.schema import parser, schema

    write_demo_export(tmp_path, children=150, seed=9, today=TODAY, la_code="355")
    document = etree.parse(str(tmp_path / "sen2" / "sen2_return.xml"), parser())
    assert schema(2026).validate(document), list(schema(2026).error_log)[:3]
    assert document.findtext("Header/Source/LEA") == "355"
