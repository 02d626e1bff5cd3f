"""The event contract on ``casewatch.events``: a versioned envelope around typed payloads.

Every event is one fact from a case system about one child, keyed by a pseudonymous person
key.  ``event_id`` is deterministic (see :func:`event_id_for`), so publishing the same export
twice yields the same ids and the journey fold ignores the repeats.

Payload ``type`` values are the discriminator; they are part of the public contract and
never change meaning.  A new field is added as optional; anything else is a new
``SCHEMA_VERSION``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    model_serializer,
    model_validator,
)

SCHEMA_VERSION: Literal[1] = 1

RequestOutcome = Literal["Y", "N", "A", "W", "H"]  # SEN2 requestoutcometype / assessmentoutcometype
ReviewOutcome = Literal["M", "A", "C"]  # SEN2 reviewoutcometype: maintain, amend, cease
SenType = Literal[
    "SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "DS", "OTH"
]  # SEN2 sentype (5.8a)


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _WithAdditions(_Payload):
    """A payload with fields added after the first release (``_ADDED``): they are left out of
    the JSON while unset, so events that do not use them keep their bytes and their
    deterministic ids (ingest's encoder reads the same ``_ADDED``)."""

    _ADDED: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_unset_additions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self._ADDED:
            if data.get(name) is None:
                data.pop(name, None)
        return data


class PersonRegistered(_WithAdditions):
    """A child or young person as the case system holds them (registered or changed).

    casewatch keeps no names: ``child_ref`` is the case system's own reference, which a
    caseworker opens in that system.
    """

    type: Literal["person.registered"] = "person.registered"
    child_ref: str = Field(min_length=1, description="case system's person reference")
    date_of_birth: date | None = None
    recorded_year_group: int | None = Field(
        default=None, ge=-3, le=14, description="NCY recorded out of cohort, if any"
    )
    year_group_recorded_on: date | None = Field(
        default=None, description="when recorded_year_group applied (R-NCY override)"
    )
    caseworker_id: str | None = None
    team: str | None = None
    primary_need: SenType | None = Field(
        default=None, description="SEN2 5.8 SENneed rank 1 on the plan in force (added in 1.1)"
    )
    secondary_need: SenType | None = Field(
        default=None, description="SEN2 5.8 SENneed rank 2 on the plan in force (added in 1.1)"
    )

    _ADDED: ClassVar[tuple[str, ...]] = ("primary_need", "secondary_need")


class PersonUpdated(PersonRegistered):
    """A change to a person already registered (same fields; the latest statement wins)."""

    type: Literal["person.updated"] = "person.updated"  # type: ignore[assignment]


class AssessmentRequested(_Payload):
    """An EHC needs assessment request received by the LA (SEN2 2.1): the 20 weeks start."""

    type: Literal["assessment.requested"] = "assessment.requested"
    request_id: str = Field(min_length=1)
    received_on: date


class RequestDecided(_WithAdditions):
    """The LA's decision whether to assess (SEN2 2.4/2.5)."""

    type: Literal["request.decided"] = "request.decided"
    request_id: str = Field(min_length=1)
    outcome: RequestOutcome
    decided_on: date | None = None
    mediation: bool | None = Field(
        default=None,
        description="SEN2 2.6 RequestMediation: mediation about the decision to assess",
    )
    tribunal: bool | None = Field(
        default=None, description="SEN2 2.7 RequestTribunal: appeal about the decision to assess"
    )

    _ADDED: ClassVar[tuple[str, ...]] = ("mediation", "tribunal")


class AssessmentCompleted(_WithAdditions):
    """The decision whether to issue a plan after assessment (SEN2 3.1/3.2/3.7)."""

    type: Literal["assessment.completed"] = "assessment.completed"
    request_id: str = Field(min_length=1)
    outcome: RequestOutcome
    outcome_on: date | None = None
    exception: bool = Field(default=False, description="Reg 10(4) exception applies (Week20=1)")
    mediation: bool | None = Field(
        default=None, description="SEN2 3.3 AssessmentMediation: about the decision to issue"
    )
    tribunal: bool | None = Field(
        default=None, description="SEN2 3.4 AssessmentTribunal: about not issuing a plan"
    )
    other_mediation: bool | None = Field(
        default=None, description="SEN2 3.5 OtherMediation: about other appealable decisions"
    )
    other_tribunal: bool | None = Field(
        default=None, description="SEN2 3.6 OtherTribunal: about other matters"
    )

    _ADDED: ClassVar[tuple[str, ...]] = (
        "mediation",
        "tribunal",
        "other_mediation",
        "other_tribunal",
    )


class PlanIssued(_Payload):
    """A final EHC plan issued (SEN2 4.1 StartDate)."""

    type: Literal["plan.issued"] = "plan.issued"
    plan_id: str = Field(min_length=1)
    request_id: str | None = None
    issued_on: date


class PlanCeased(_Payload):
    """A plan that actually ended (SEN2 4.5/4.6), after any appeal period."""

    type: Literal["plan.ceased"] = "plan.ceased"
    plan_id: str = Field(min_length=1)
    ceased_on: date
    reason: int | None = Field(default=None, ge=1, le=9)


class ReviewMeetingHeld(_Payload):
    """An annual review meeting held (SEN2 ReviewMeeting)."""

    type: Literal["review.meeting_held"] = "review.meeting_held"
    plan_id: str = Field(min_length=1)
    meeting_on: date
    pfa_focus: bool | None = Field(
        default=None, description="preparing for adulthood focus (from Year 9, R-PFA-Y9)"
    )
    notice_sent_on: date | None = Field(default=None, description="R-AR-STEPS: 14 days before")
    advice_circulated_on: date | None = Field(
        default=None, description="R-AR-STEPS: 14 days before"
    )
    report_sent_on: date | None = Field(default=None, description="R-AR-STEPS: 14 days after")


class ReviewDecided(_Payload):
    """The LA's decision after a review meeting (SEN2 5.4b LastReview, ReviewOutcome).

    ``decided_on`` anchors the next annual review (R-AR-DUE), not the meeting date.
    """

    type: Literal["review.decided"] = "review.decided"
    plan_id: str = Field(min_length=1)
    decided_on: date
    outcome: ReviewOutcome | None = None
    meeting_on: date | None = None


class PersonLeft(_Payload):
    """The child moved away from the LA or otherwise left its responsibility: clocks stop."""

    type: Literal["person.left"] = "person.left"
    left_on: date
    reason: str | None = Field(default=None, description="e.g. moved LA, died, not known")


class DraftPlanIssued(_Payload):
    """A draft EHC plan served on the family (Reg 13(1)); at least 15 days before the final."""

    type: Literal["plan.draft_issued"] = "plan.draft_issued"
    request_id: str = Field(min_length=1)
    drafted_on: date


class PlanTransferredIn(_Payload):
    """A plan transferred in from another LA (Reg 15, SEN2 TransferLA)."""

    type: Literal["plan.transferred_in"] = "plan.transferred_in"
    plan_id: str = Field(min_length=1)
    transferred_on: date
    from_la: str | None = Field(default=None, pattern=r"^\d{3}$", description="3-digit LA code")
    anchor_on: date = Field(description="last review decision, else issue date, at the old LA")


class PlanAmended(_Payload):
    """A final amended plan issued (after a review or a Tribunal order)."""

    type: Literal["plan.amended"] = "plan.amended"
    plan_id: str = Field(min_length=1)
    amended_on: date
    tribunal_ordered: bool = Field(default=False, description="does not move the review anchor")
    names_next_setting: bool = Field(
        default=False, description="amends the plan to name the setting after a phase transfer"
    )


class ReviewMeetingScheduled(_Payload):
    """An annual review meeting booked for a future date."""

    type: Literal["review.meeting_scheduled"] = "review.meeting_scheduled"
    plan_id: str = Field(min_length=1)
    meeting_on: date


class ReviewDraftIssued(_Payload):
    """Proposed amendments sent after a review (SEN2 ReviewDraft): final due in 8 weeks."""

    type: Literal["review.draft_issued"] = "review.draft_issued"
    plan_id: str = Field(min_length=1)
    drafted_on: date


class PhaseTransfer(_Payload):
    """A phase transfer for a child with a plan (SEN2 PhaseTransferDueDate/FinalDate)."""

    type: Literal["phase.transfer"] = "phase.transfer"
    plan_id: str | None = None
    transfer_due_on: date | None = Field(default=None, description="PhaseTransferDueDate")
    final_on: date | None = Field(
        default=None, description="PhaseTransferFinalDate: final amended plan naming the setting"
    )
    next_setting: str | None = Field(default=None, description="URN, UKPRN or SENsetting code")


class PlacementRecorded(_Payload):
    """A placement in a setting (SEN2 PlacementDetail)."""

    type: Literal["placement.recorded"] = "placement.recorded"
    placement_id: str = Field(min_length=1)
    setting: str = Field(min_length=1, description="URN, UKPRN or SENsetting code")
    phase: str | None = Field(default=None, description="early years, primary, secondary, post-16")
    rank: int = Field(default=1, ge=1, le=2)
    entry_on: date | None = None
    leaving_on: date | None = None


ServiceCode = str  # a service in the rule pack's waits, e.g. autism, camhs, salt


class ReferralReceived(_Payload):
    """A referral received by a health or therapy service: the wait starts (R-WAIT)."""

    type: Literal["referral.received"] = "referral.received"
    referral_id: str = Field(min_length=1)
    service: ServiceCode = Field(min_length=1)
    received_on: date


class ReferralFirstContact(_Payload):
    """The first substantive contact the service's standard names: the wait stops."""

    type: Literal["referral.first_contact"] = "referral.first_contact"
    referral_id: str = Field(min_length=1)
    contact_on: date


class ReferralClosed(_Payload):
    """A referral closed without (or after) the first contact."""

    type: Literal["referral.closed"] = "referral.closed"
    referral_id: str = Field(min_length=1)
    closed_on: date


Payload = Annotated[
    PersonRegistered
    | PersonUpdated
    | AssessmentRequested
    | RequestDecided
    | AssessmentCompleted
    | PlanIssued
    | PlanCeased
    | ReviewMeetingHeld
    | ReviewDecided
    | PersonLeft
    | DraftPlanIssued
    | PlanTransferredIn
    | PlanAmended
    | ReviewMeetingScheduled
    | ReviewDraftIssued
    | PhaseTransfer
    | PlacementRecorded
    | ReferralReceived
    | ReferralFirstContact
    | ReferralClosed,
    Field(discriminator="type"),
]

EVENT_TYPES: tuple[str, ...] = (
    "person.registered",
    "person.updated",
    "assessment.requested",
    "request.decided",
    "assessment.completed",
    "plan.issued",
    "plan.ceased",
    "review.meeting_held",
    "review.decided",
    "person.left",
    "plan.draft_issued",
    "plan.transferred_in",
    "plan.amended",
    "review.meeting_scheduled",
    "review.draft_issued",
    "phase.transfer",
    "placement.recorded",
    "referral.received",
    "referral.first_contact",
    "referral.closed",
)


class Event(BaseModel):
    """The envelope every message on ``casewatch.events`` carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str = Field(min_length=16, max_length=64)
    event_type: str
    source_system: str = Field(min_length=1, description="e.g. liquidlogic, sen2, health")
    source_record_key: str = Field(min_length=1, description="table and primary key upstream")
    person_key: str = Field(min_length=16, description="keyed hash; never a raw identifier")
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    payload: Payload

    @model_validator(mode="after")
    def _type_matches_payload(self) -> Event:
        if self.event_type != self.payload.type:
            raise ValueError(
                f"event_type {self.event_type!r} does not match payload type {self.payload.type!r}"
            )
        return self


EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def event_id_for(source_system: str, source_record_key: str, payload: _Payload) -> str:
    """Deterministic id: a hash of source system, source record key and content.

    Same fact published twice → same id; a changed fact → a new id.
    """
    content = json.dumps(payload.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{source_system}\x1f{source_record_key}\x1f{content}".encode())
    return digest.hexdigest()[:32]


def make_event(
    *,
    source_system: str,
    source_record_key: str,
    person_key: str,
    occurred_at: datetime,
    recorded_at: datetime,
    payload: Any,
    event_id: str | None = None,
) -> Event:
    """Build an envelope with its deterministic id (``event_id`` if the caller computed it
    already, e.g. ingest's faster encoder held equal to :func:`event_id_for`)."""
    return Event(
        event_id=event_id or event_id_for(source_system, source_record_key, payload),
        event_type=payload.type,
        source_system=source_system,
        source_record_key=source_record_key,
        person_key=person_key,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        payload=payload,
    )
