"""The SSD export's files as the adapter reads them (``../shared/domain/ssd-tables.md``).

The seven SEND tables of the Data to Insight SSD, the SEN2-named extension columns on
``ssd_ehcp_active_plans``, and two extension files: placements (SEN2 PlacementDetail) and
caseworker assignments.  Only ``ssd_person.csv`` is required; a file's rows are read only if
the files they link through were read.
"""

from __future__ import annotations

from services.ingest.csvtable import TableSpec

PERSON = TableSpec(
    "ssd_person",
    key="pers_person_id",
    columns=("pers_person_id", "pers_dob"),
    optional=(
        "caseworker_id",
        "team",
        "pers_upn",
        "pers_single_unique_id",
        "pers_upn_unknown",
        "pers_forename",  # with pers_dob, links a SEN2 record of a child with no UPN or ULN
        "pers_surname",
    ),
    required_file=True,
    personal=True,
)
SEND = TableSpec(
    "ssd_send",
    key="send_table_id",
    columns=("send_table_id", "send_person_id"),
    optional=("send_upn", "send_uln", "send_upn_unknown"),
    needs=("ssd_person",),
    private=frozenset({"send_person_id", "send_upn", "send_uln"}),
)
REQUESTS = TableSpec(
    "ssd_ehcp_requests",
    key="ehcr_ehcp_request_id",
    columns=(
        "ehcr_ehcp_request_id",
        "ehcr_send_table_id",
        "ehcr_ehcp_req_date",
        "ehcr_ehcp_req_outcome_date",
        "ehcr_ehcp_req_outcome",
    ),
    optional=("RequestMediation", "RequestTribunal"),  # SEN2 2.6, 2.7
    needs=("ssd_send",),
)
ASSESSMENTS = TableSpec(
    "ssd_ehcp_assessment",
    key="ehca_ehcp_assessment_id",
    columns=(
        "ehca_ehcp_assessment_id",
        "ehca_ehcp_request_id",
        "ehca_ehcp_assessment_outcome_date",
        "ehca_ehcp_assessment_outcome",
        "ehca_ehcp_assessment_exceptions",
    ),
    # SEN2 3.3-3.6
    optional=("AssessmentMediation", "AssessmentTribunal", "OtherMediation", "OtherTribunal"),
    needs=("ssd_ehcp_requests",),
)
NAMED_PLANS = TableSpec(
    "ssd_ehcp_named_plan",
    key="ehcn_named_plan_id",
    columns=(
        "ehcn_named_plan_id",
        "ehcn_ehcp_asmt_id",
        "ehcn_named_plan_start_date",
        "ehcn_named_plan_ceased_date",
        "ehcn_named_plan_ceased_reason",
    ),
    needs=("ssd_ehcp_assessment",),
)
ACTIVE_PLANS = TableSpec(
    "ssd_ehcp_active_plans",
    key="ehcp_active_ehcp_id",
    columns=("ehcp_active_ehcp_id", "ehcp_ehcp_request_id", "ehcp_active_ehcp_last_review_date"),
    optional=(
        "ReviewMeeting",
        "ReviewOutcome",
        "ReviewDraft",
        "PhaseTransferDueDate",
        "PhaseTransferFinalDate",
        "TransferLA",
    ),
    needs=("ssd_ehcp_requests", "ssd_ehcp_named_plan"),
)
SEN_NEED = TableSpec(
    "ssd_sen_need",
    key="senn_table_id",
    columns=(
        "senn_table_id",
        "senn_active_ehcp_id",
        "senn_active_ehcp_need_type",
        "senn_active_ehcp_need_rank",
    ),
    needs=("ssd_ehcp_active_plans",),
)
PLACEMENTS = TableSpec(
    "ssd_placements",
    key="",  # a placement is named by its setting, rank and entry date unless placement_id
    columns=("person_id", "PlacementRank", "EntryDate"),
    optional=("placement_id", "URN", "UKPRN", "SENSetting", "LeavingDate"),
    needs=("ssd_person",),
    private=frozenset({"person_id"}),
)
ASSIGNMENTS = TableSpec(
    "ssd_caseworker_assignments",
    key="",
    columns=("person_id", "caseworker_id", "from_date"),
    optional=("team",),
    needs=("ssd_person",),
    private=frozenset({"person_id"}),
)
TABLES = (
    PERSON,
    SEND,
    REQUESTS,
    ASSESSMENTS,
    NAMED_PLANS,
    ACTIVE_PLANS,
    SEN_NEED,
    PLACEMENTS,
    ASSIGNMENTS,
)
