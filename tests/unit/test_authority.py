"""Source authority: every cell of the table in docs/ingest.md, through the worker's decoder.

The expected cells are read from the documentation (the table integrators read), so the code
(schemas/authority.py) is held to the published contract, cell by cell.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.authority import AUTHORITY, SOURCES, kind_of, owns_service, refusal, service_refusal
from schemas.events import (
    EVENT_TYPES,
    AssessmentCompleted,
    AssessmentRequested,
    DraftPlanIssued,
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
    make_event,
)
from services.ingest.envelope import event_json
from services.journeys.codec import DeadLetter, decode_event

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ingest.md"
ON = date(2025, 3, 4)
PERSON = "pk-authority-000000000001"

# one payload of each type, with every field the table may withhold set
SAMPLES: dict[str, Any] = {
    "person.registered": PersonRegistered(child_ref="C1", caseworker_id="cw-01", team="north"),
    "person.updated": PersonUpdated(child_ref="C1", caseworker_id="cw-01", team="north"),
    "person.left": PersonLeft(left_on=ON),
    "assessment.requested": AssessmentRequested(request_id="R1", received_on=ON),
    "request.decided": RequestDecided(request_id="R1", outcome="Y", decided_on=ON),
    "assessment.completed": AssessmentCompleted(request_id="R1", outcome="Y", outcome_on=ON),
    "plan.draft_issued": DraftPlanIssued(request_id="R1", drafted_on=ON),
    "plan.issued": PlanIssued(plan_id="P1", issued_on=ON),
    "plan.amended": PlanAmended(plan_id="P1", amended_on=ON),
    "plan.ceased": PlanCeased(plan_id="P1", ceased_on=ON),
    "plan.transferred_in": PlanTransferredIn(plan_id="P1", transferred_on=ON, anchor_on=ON),
    "review.meeting_scheduled": ReviewMeetingScheduled(plan_id="P1", meeting_on=ON),
    "review.meeting_held": ReviewMeetingHeld(plan_id="P1", meeting_on=ON),
    "review.decided": ReviewDecided(plan_id="P1", decided_on=ON),
    "review.draft_issued": ReviewDraftIssued(plan_id="P1", drafted_on=ON),
    "phase.transfer": PhaseTransfer(plan_id="P1", transfer_due_on=ON),
    "placement.recorded": PlacementRecorded(placement_id="S1", setting="100001"),
    "referral.received": ReferralReceived(referral_id="H1", service="autism", received_on=ON),
    "referral.first_contact": ReferralFirstContact(referral_id="H1", contact_on=ON),
    "referral.closed": ReferralClosed(referral_id="H1", closed_on=ON),
}
KINDS = {
    "case management": "case_management",
    "SEN2 return": "sen2_return",
    "health": "health",
    "school census": "school_census",
}


def documented() -> tuple[dict[str, str], dict[tuple[str, str], frozenset[str] | None]]:
    """(source name -> kind, (kind, event type) -> withheld fields, or None where refused)."""
    text = DOCS.read_text()
    names: dict[str, str] = {}
    for label, listed in re.findall(r"^\| (case management|SEN2 return|health|school census) "
                                    r"\| ([a-z0-9, -]+) \|$", text, re.M):  # fmt: skip
        names.update({n.strip(): KINDS[label] for n in listed.split(",")})
    table = text.split("<!-- authority-table", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip("|").split("|") for line in table.splitlines()[1:] if line.startswith("|")]
    header = [KINDS.get(c.strip()) for c in rows[0]]
    cells: dict[tuple[str, str], frozenset[str] | None] = {}
    for row in rows[2:]:
        event_type = row[0].strip()
        for kind, cell in zip(header[1:], row[1:], strict=True):
            cell = cell.strip()
            assert kind is not None and (cell in ("yes", "—") or cell.startswith("yes, without "))
            fields = cell.removeprefix("yes").removeprefix(", without ").split(", ")
            cells[(kind, event_type)] = None if cell == "—" else frozenset(f for f in fields if f)
    return names, cells


NAMES, CELLS = documented()
NAME_OF = {kind: next(n for n, k in NAMES.items() if k == kind) for kind in KINDS.values()}


def test_the_documented_table_covers_every_event_type_and_kind() -> None:
    assert {t for _, t in CELLS} == set(EVENT_TYPES) == set(SAMPLES)
    assert {k for k, _ in CELLS} == set(AUTHORITY)
    assert dict(SOURCES) == NAMES


def message(source: str, payload: Any) -> bytes:
    at = datetime(2025, 3, 4, tzinfo=UTC)
    event = make_event(
        source_system=source,
        source_record_key="r:1",
        person_key=PERSON,
        occurred_at=at,
        recorded_at=at,
        payload=payload,
    )
    return event_json(event)


@pytest.mark.parametrize(("kind", "event_type"), sorted(CELLS))
def test_each_cell_of_the_table_holds_in_the_worker(kind: str, event_type: str) -> None:
    """A fact from a source not entitled to it is dead-lettered with the reason; one it is
    entitled to is folded (also from a suffixed name such as health-camhs)."""
    # a health source's suffix names its service (the samples' referral is to autism)
    suffix = "autism-east" if kind == "health" else "east"
    for source in (NAME_OF[kind], f"{NAME_OF[kind]}-{suffix}"):
        decoded = decode_event(PERSON.encode(), message(source, SAMPLES[event_type]))
        withheld = CELLS[(kind, event_type)]
        if withheld is None or withheld:
            assert isinstance(decoded, DeadLetter), (source, event_type)
            assert decoded.reason == "not_entitled"
            assert event_type in decoded.detail and source in decoded.detail
            assert all(f in decoded.detail for f in withheld or ())
        else:
            assert not isinstance(decoded, DeadLetter), decoded.detail


@pytest.mark.parametrize(("kind", "event_type"), sorted(k for k, v in CELLS.items() if v))
def test_a_source_may_state_the_fact_without_the_fields_it_does_not_own(
    kind: str, event_type: str
) -> None:
    withheld = CELLS[(kind, event_type)] or frozenset()
    payload = SAMPLES[event_type].model_copy(update=dict.fromkeys(withheld))
    assert not isinstance(
        decode_event(PERSON.encode(), message(NAME_OF[kind], payload)), DeadLetter
    )


def test_the_issue_s_attacks_are_refused() -> None:
    # a health integrator resolved an annual-review breach, and moved an alert to cw-evil
    assert refusal("health", "plan.ceased", {}) == (
        "a health source ('health') may not assert plan.ceased"
    )
    moved = {"caseworker_id": "cw-evil", "team": "nowhere"}
    assert "may not assert person.updated" in (refusal("health", "person.updated", moved) or "")
    assert "caseworker_id, team" in (refusal("sen2", "person.updated", moved) or "")


@pytest.mark.parametrize("source", ["test", "bench", "healthy", "health_", "sen2x", "-health", ""])
def test_a_source_of_no_kind_may_state_nothing(source: str) -> None:
    assert kind_of(source) is None
    reason = refusal(source, "referral.received", {})
    assert reason is not None and "not in the authority table" in reason


def test_the_longest_name_decides_the_kind() -> None:
    assert kind_of("capita-one") == kind_of("capita-one-north") == "case_management"
    assert kind_of("capita") is None
    assert kind_of("school-census-2025") == "school_census"


def test_the_source_metric_label_is_bounded_to_the_table() -> None:
    from schemas.authority import SOURCES, source_label

    assert source_label("health-camhs") == "health" and source_label("liquidlogic") == "liquidlogic"
    assert source_label('north"><script>') == "other" and source_label("x" * 64) == "other"
    assert {source_label(f"{name}-{i}") for name in SOURCES for i in range(50)} == set(SOURCES)


@pytest.mark.parametrize(
    ("source", "service", "owned"),
    [
        ("health", "camhs", True),  # a trust-wide extract
        ("health-camhs", "camhs", True),
        ("health-camhs-north", "camhs", True),
        ("health-salt", "camhs", False),  # the issue's gap
        ("health-salt", "salt", True),
        ("health-camhsx", "camhs", False),
        ("health-east", "autism", False),  # a suffix names a service, not a place
        ("health-autism", "autism-east", False),
    ],
)
def test_a_health_source_speaks_for_its_own_services(
    source: str, service: str, owned: bool
) -> None:
    assert owns_service(source, service) is owned
    reason = refusal(source, "referral.received", {"service": service, "referral_id": "H1"})
    assert (reason is None) is owned
    if not owned:
        assert reason is not None and source in reason and f"not to {service!r}" in reason
        assert reason == service_refusal(source, service)
    # the worker refuses it off the topic alike
    payload = ReferralReceived(referral_id="H1", service=service, received_on=ON)
    decoded = decode_event(PERSON.encode(), message(source, payload))
    assert isinstance(decoded, DeadLetter) is not owned
    if isinstance(decoded, DeadLetter):
        assert decoded.reason == "not_entitled"


def test_only_health_sources_are_judged_by_service() -> None:
    assert service_refusal("liquidlogic", "camhs") is None  # refusal() refuses it anyway
    assert "may not assert referral.received" in (
        refusal("liquidlogic", "referral.received", {"service": "camhs"}) or ""
    )
