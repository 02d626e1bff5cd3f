"""One evaluation, clocks computed once (``domain.assess``), gives exactly what the separate
domain functions give, each computing the clocks itself: flags, next deadline, the snapshot's
clock views and timeline, and the managers' measures — on the demo authority, on the
benchmark's long histories, and through the worker's own path (processor + measures)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from bench.workload import child_events
from schemas.events import (
    EVENT_TYPES,
    AssessmentCompleted,
    AssessmentRequested,
    DraftPlanIssued,
    Event,
    Payload,
    PersonLeft,
    PersonRegistered,
    PersonUpdated,
    PhaseTransfer,
    PlacementRecorded,
    PlanAmended,
    PlanCeased,
    PlanIssued,
    PlanTransferredIn,
    ReferralClosed,
    ReferralFirstContact,
    ReferralReceived,
    RequestDecided,
    ReviewDecided,
    ReviewDraftIssued,
    ReviewMeetingHeld,
    ReviewMeetingScheduled,
)
from services.ingest.demo.authority import write_demo_export
from services.ingest.ssd.adapter import read_ssd_export
from services.journeys.codec import snapshot
from services.journeys.config import WorkerTuning
from services.journeys.domain import measures as domain_measures
from services.journeys.domain.assess import assess, contribution
from services.journeys.domain.calendar import add_months
from services.journeys.domain.journey import Journey, fold
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import clocks, next_deadline
from services.journeys.domain.state import JourneyState, step
from services.journeys.domain.views import journey_clocks, summary, timeline
from services.journeys.measures import JourneyMeasures
from services.journeys.processor import JourneyProcessor, Record
from services.journeys.replay import measures as replay_measures
from services.journeys.scheduling import EvaluationSchedule

TODAY = date(2026, 11, 23)
WALL = datetime(2026, 11, 23, 12, tzinfo=UTC)
DATES = (TODAY - timedelta(days=700), TODAY - timedelta(days=90), TODAY, TODAY + timedelta(200))


@pytest.fixture(scope="module")
def demo_events(tmp_path_factory: pytest.TempPathFactory) -> list[Event]:
    directory = tmp_path_factory.mktemp("demo")
    write_demo_export(Path(directory), children=300, seed=11, today=TODAY)
    extracted_at = datetime.combine(TODAY, time(18), tzinfo=UTC)
    return read_ssd_export(directory, secret="demo-secret", extracted_at=extracted_at).events


def journeys_of(events: list[Event]) -> list[Journey]:
    by_person: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_person[event.person_key].append(event)
    return [fold(key, evs) for key, evs in by_person.items()]


def long_histories(n: int) -> list[Journey]:
    rng = random.Random(5)
    return [fold(evs[0].person_key, evs) for evs in (child_events(i, rng) for i in range(n))]


def assert_same_as_separate(journey: Journey, as_of: date) -> None:
    state = JourneyState(journey=journey)
    earlier, _ = step(state, [], as_of - timedelta(days=120), DEFAULT_PACK)
    for before in (state, earlier):
        expected_state, expected_changes = step(before, [], as_of, DEFAULT_PACK)
        got = assess(before, as_of, DEFAULT_PACK)
        assert got.state == expected_state
        assert got.changes == expected_changes
        assert got.next_due == next_deadline(journey, as_of, DEFAULT_PACK)
        assert got.views == journey_clocks(journey, as_of, DEFAULT_PACK)
        assert list(got.clocks) == clocks(journey, as_of, DEFAULT_PACK)
        alone = snapshot(got.state, as_of=as_of, pack=DEFAULT_PACK, now=WALL)
        shared = snapshot(got.state, as_of=as_of, pack=DEFAULT_PACK, now=WALL, assessed=got)
        assert shared == alone
        assert contribution(got, DEFAULT_PACK) == domain_measures.contribution(
            journey, as_of, DEFAULT_PACK
        )


def test_shared_clocks_give_the_separate_answers_on_the_demo_authority(
    demo_events: list[Event],
) -> None:
    found = journeys_of(demo_events)
    assert len(found) == 300
    for journey in found:
        for as_of in DATES:
            assert_same_as_separate(journey, as_of)


def test_shared_clocks_give_the_separate_answers_on_long_histories() -> None:
    for journey in long_histories(40):
        for as_of in DATES:
            assert_same_as_separate(journey, as_of)


def test_a_contribution_asked_after_other_journeys_is_still_its_own() -> None:
    """The views an assessment computed are kept with it: evaluating other journeys in
    between (a tick evaluates many before the measures are refreshed) changes nothing."""
    found = long_histories(6)
    assessed = [assess(JourneyState(journey=j), TODAY, DEFAULT_PACK) for j in found]
    for a, j in reversed(list(zip(assessed, found, strict=True))):
        assert contribution(a, DEFAULT_PACK) == domain_measures.contribution(j, TODAY, DEFAULT_PACK)


def test_the_worker_path_gives_the_replay_measures_and_flags(demo_events: list[Event]) -> None:
    """Fold through the processor, evaluate on a tick, refresh the measures with the tick's
    assessments: the same totals as ``casewatch replay --measures``, the same flags as
    ``rules.evaluate`` per journey."""
    table: dict[bytes, bytes] = {}
    schedule = EvaluationSchedule(
        settle=0.0, verify_every=1e12, tick_seconds=1.0, pack_version=DEFAULT_PACK.version
    )
    schedule.adopt(0, [], now=0.0)
    processor = JourneyProcessor(
        lambda key, _p: table.get(key),
        pack=DEFAULT_PACK,
        tuning=WorkerTuning(cache_journeys=1_000),
        schedule=schedule,
        partitions=1,
    )
    records = [
        Record(e.person_key.encode(), e.model_dump_json().encode(), 0, n)
        for n, e in enumerate(demo_events)
    ]
    for change in processor.fold(records, wall=WALL, mono=0.0).changes:
        table[change.key] = change.value
    swept = processor.tick(0, as_of=TODAY, wall=WALL, mono=10.0, budget=1e9)
    assert swept.evaluated["changed"] == 300
    assert all(c.assessed is not None for c in swept.changes)
    worker = JourneyMeasures(DEFAULT_PACK, CollectorRegistry())
    worker.refresh(0, TODAY, swept.changes, lambda key, _p: table.get(key))
    expected = replay_measures(demo_events, TODAY, DEFAULT_PACK)
    got = worker.totals()
    assert nonzero(got.counts) == nonzero(expected.counts)
    assert got.histograms == expected.histograms
    raised = {record.flag_id for _, _, record in swept.flags if record.status == "raised"}
    assert raised == {
        fid
        for j in journeys_of(demo_events)
        for fid in step(JourneyState(journey=j), [], TODAY, DEFAULT_PACK)[0].open_flags
    }


def test_measures_kept_compactly_add_up_as_before() -> None:
    """Entries share their counts; replacing and discarding journeys leaves the same totals
    as computing the survivors afresh."""
    found = long_histories(30)
    kept = JourneyMeasures(DEFAULT_PACK)
    for i, j in enumerate(found):
        kept.observe(i % 2, bytes([i]), j, TODAY)
    for i, j in enumerate(found[:10]):  # observed again on a later date, then some gone
        kept.observe(i % 2, bytes([i]), j, TODAY + timedelta(days=40))
    for i in range(10, 15):
        kept.discard(i % 2, bytes([i]))
    fresh = JourneyMeasures(DEFAULT_PACK)
    for i, j in enumerate(found):
        if not 10 <= i < 15:
            fresh.observe(i % 2, bytes([i]), j, TODAY + timedelta(days=40) if i < 10 else TODAY)
    kept_totals, fresh_totals = kept.totals(), fresh.totals()
    assert nonzero(kept_totals.counts) == nonzero(fresh_totals.counts)  # series seen stay at 0
    assert {k: h for k, h in kept_totals.histograms.items() if h.count} == {
        k: h for k, h in fresh_totals.histograms.items() if h.count
    }


def nonzero(counts: dict[Any, int]) -> dict[Any, int]:
    return {k: n for k, n in counts.items() if n}


# --- the timeline's summaries, against the pydantic-dump version they replaced ------------

_OUTCOMES = {
    "Y": "yes",
    "N": "no",
    "A": "not yet decided",
    "W": "withdrawn",
    "H": "historical",
    "M": "maintain",
    "C": "cease",
}


def reference_summary(p: Payload) -> str:
    """``views.summary`` as it was (reading a ``model_dump`` of every payload)."""
    d: dict[str, Any] = p.model_dump()
    outcome = _OUTCOMES.get(str(d.get("outcome")), str(d.get("outcome")))
    if p.type == "review.decided" and d.get("outcome") == "A":
        outcome = "amend"
    return {
        "person.registered": f"Registered (caseworker {d.get('caseworker_id') or 'none'})",
        "person.updated": f"Details updated (caseworker {d.get('caseworker_id') or 'none'})",
        "person.left": f"Left the local authority ({d.get('reason') or 'reason not given'})",
        "assessment.requested": f"EHC needs assessment requested ({d.get('request_id')})",
        "request.decided": f"Decision whether to assess: {outcome}",
        "assessment.completed": f"Decision whether to issue a plan: {outcome}"
        + (" (20-week exception applies)" if d.get("exception") else ""),
        "plan.draft_issued": "Draft plan issued to the family",
        "plan.issued": f"Final EHC plan {d.get('plan_id')} issued",
        "plan.transferred_in": f"Plan {d.get('plan_id')} transferred in"
        + (f" from LA {d['from_la']}" if d.get("from_la") else ""),
        "plan.ceased": f"Plan {d.get('plan_id')} ceased"
        + (f" (reason {d['reason']})" if d.get("reason") else ""),
        "plan.amended": f"Final amended plan {d.get('plan_id')} issued"
        + (" (Tribunal order)" if d.get("tribunal_ordered") else ""),
        "review.meeting_scheduled": "Annual review meeting booked",
        "review.meeting_held": "Annual review meeting held"
        + (" with a preparing-for-adulthood focus" if d.get("pfa_focus") else ""),
        "review.decided": f"Annual review decision: {outcome}",
        "review.draft_issued": "Proposed amendments sent after review",
        "phase.transfer": "Phase transfer recorded"
        + (" (final plan names the next setting)" if d.get("final_on") else ""),
        "placement.recorded": f"Placement at setting {d.get('setting')}",
        "referral.received": f"Referral to {d.get('service')} received",
        "referral.first_contact": "First contact by the service",
        "referral.closed": "Referral closed",
    }.get(p.type, p.type)


D = date(2025, 3, 4)
EVERY_KIND: list[Any] = [
    PersonRegistered(child_ref="C1"),
    PersonRegistered(child_ref="C1", caseworker_id="cw-7", team="north"),
    PersonUpdated(child_ref="C1", caseworker_id="cw-8"),
    PersonLeft(left_on=D),
    PersonLeft(left_on=D, reason="moved LA"),
    AssessmentRequested(request_id="R1", received_on=D),
    *(RequestDecided(request_id="R1", outcome=o, decided_on=D) for o in "YNAWH"),
    *(AssessmentCompleted(request_id="R1", outcome=o, exception=o == "Y") for o in "YNAWH"),
    DraftPlanIssued(request_id="R1", drafted_on=D),
    PlanIssued(plan_id="P1", issued_on=D),
    PlanTransferredIn(plan_id="P1", transferred_on=D, anchor_on=D),
    PlanTransferredIn(plan_id="P1", transferred_on=D, anchor_on=D, from_la="201"),
    PlanCeased(plan_id="P1", ceased_on=D),
    PlanCeased(plan_id="P1", ceased_on=D, reason=3),
    PlanAmended(plan_id="P1", amended_on=D),
    PlanAmended(plan_id="P1", amended_on=D, tribunal_ordered=True),
    ReviewMeetingScheduled(plan_id="P1", meeting_on=D),
    *(ReviewMeetingHeld(plan_id="P1", meeting_on=D, pfa_focus=f) for f in (None, True, False)),
    *(ReviewDecided(plan_id="P1", decided_on=D, outcome=o) for o in (None, "M", "A", "C")),
    ReviewDraftIssued(plan_id="P1", drafted_on=D),
    PhaseTransfer(plan_id="P1", transfer_due_on=D),
    PhaseTransfer(plan_id=None, transfer_due_on=D, final_on=D),
    PlacementRecorded(placement_id="S1", setting="100001", entry_on=D),
    ReferralReceived(referral_id="H1", service="salt", received_on=D),
    ReferralFirstContact(referral_id="H1", contact_on=D),
    ReferralClosed(referral_id="H1", closed_on=D),
]


def test_summaries_read_the_same_as_before(demo_events: list[Event]) -> None:
    assert {p.type for p in EVERY_KIND} == set(EVENT_TYPES)
    for p in [e.payload for e in demo_events] + EVERY_KIND:
        assert summary(p) == reference_summary(p), p


def test_the_timeline_reads_each_fact_once_in_date_order() -> None:
    j = long_histories(1)[0]
    items = timeline(j)
    assert len(items) == len(j.facts)
    assert items == sorted(items, key=lambda i: (i.on, i.kind))
    assert [i.summary for i in items if i.kind == "plan.issued"] == ["Final EHC plan P0 issued"]


def test_add_months_matches_the_calendar_module_on_every_month_end() -> None:
    import calendar

    def reference(d: date, months: int) -> date:
        index = d.year * 12 + (d.month - 1) + months
        year, month0 = divmod(index, 12)
        last_day = calendar.monthrange(year, month0 + 1)[1]
        return date(year, month0 + 1, min(d.day, last_day))

    day = date(2023, 1, 1)
    while day < date(2029, 1, 1):
        for months in (-12, -5, -1, 1, 3, 6, 12, 13, 25):
            assert add_months(day, months) == reference(day, months)
        day += timedelta(days=1)


def test_a_referral_in_the_timeline_names_its_service_in_plain_words() -> None:
    """The rule pack's name, in a sentence: never the service code (issue 15, plain words)."""
    from services.journeys.domain.pack import DEFAULT_PACK

    def said(service: str) -> str:
        return summary(
            ReferralReceived(referral_id="H1", service=service, received_on=D), DEFAULT_PACK
        )

    assert said("salt") == "Referral to speech and language therapy received"
    assert said("autism") == "Referral to autism diagnostic assessment (CYP) received"
    assert said("camhs") == (
        "Referral to children and young people's mental health (CAMHS) received"
    )
    assert said("no-such-service") == "Referral to no-such-service received"  # not in the pack
    for code, wait in DEFAULT_PACK.waits.items():
        assert code not in said(code).split() or code in wait.name.lower().split()
