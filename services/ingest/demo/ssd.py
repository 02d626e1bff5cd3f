"""The synthetic authority as SSD CSVs: the seven SEND tables, extension columns, placements
and caseworker assignments; clean, or as messy as integrators' files are."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from services.ingest.demo.history import impossible, wrong_check_digit, wrong_check_letter
from services.ingest.demo.types import (
    ASSESSMENT_FLAGS,
    CASEWORKERS,
    REQUEST_FLAGS,
    DemoChild,
    flag_cells,
    names,
    nhs_number,
    person_id,
    uln,
    upn,
    upn_unknown,
)

Faults = Mapping[int, frozenset[str]]

Cell = str | date | int | None

PERSON_COLUMNS = (
    "pers_person_id", "pers_legacy_id", "pers_upn", "pers_forename", "pers_surname", "pers_sex",
    "pers_gender", "pers_ethnicity", "pers_dob", "pers_single_unique_id", "pers_upn_unknown",
    "pers_send_flag", "pers_expected_dob", "pers_death_date", "pers_is_mother",
    "pers_nationality", "caseworker_id", "team",
)  # fmt: skip
SEND_COLUMNS = ("send_table_id", "send_person_id", "send_upn", "send_uln", "send_upn_unknown")
REQUEST_COLUMNS = (
    "ehcr_ehcp_request_id", "ehcr_send_table_id", "ehcr_ehcp_req_date",
    "ehcr_ehcp_req_outcome_date", "ehcr_ehcp_req_outcome", *REQUEST_FLAGS,
)  # fmt: skip
ASSESSMENT_COLUMNS = (
    "ehca_ehcp_assessment_id", "ehca_ehcp_request_id", "ehca_ehcp_assessment_outcome_date",
    "ehca_ehcp_assessment_outcome", "ehca_ehcp_assessment_exceptions", *ASSESSMENT_FLAGS,
)  # fmt: skip
PLAN_COLUMNS = (
    "ehcn_named_plan_id", "ehcn_ehcp_asmt_id", "ehcn_named_plan_start_date",
    "ehcn_named_plan_ceased_date", "ehcn_named_plan_ceased_reason",
)  # fmt: skip
ACTIVE_COLUMNS = (
    "ehcp_active_ehcp_id", "ehcp_ehcp_request_id", "ehcp_active_ehcp_last_review_date",
    "ReviewMeeting", "ReviewOutcome", "PhaseTransferDueDate", "PhaseTransferFinalDate",
    "TransferLA",
)  # fmt: skip
NEED_COLUMNS = (
    "senn_table_id", "senn_active_ehcp_id", "senn_active_ehcp_need_type",
    "senn_active_ehcp_need_rank",
)  # fmt: skip
PLACEMENT_COLUMNS = ("person_id", "URN", "SENSetting", "PlacementRank", "EntryDate")
ASSIGNMENT_COLUMNS = ("person_id", "caseworker_id", "team", "from_date")


@dataclass
class Style:
    """How files are written: clean (``rng`` None) or messy, as integrators' files arrive."""

    rng: random.Random | None = None

    def cell(self, value: Cell) -> str:
        if value is None:
            return ""
        if not isinstance(value, date):
            return str(value)
        if self.rng is None:
            return value.isoformat()
        shape = self.rng.randrange(3)  # ISO, SQL Server, an English Excel re-save
        return (value.isoformat(), f"{value.isoformat()} 00:00:00.000", f"{value:%d/%m/%Y}")[shape]

    def write(self, path: Path, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n" if self.rng else "\n")
        blank = ["", ""] if self.rng else []  # blank trailing columns
        writer.writerow([*header, *blank])
        for row in rows:
            cells = [*(self.cell(c) for c in row), *blank]
            writer.writerow(cells)
            if self.rng is not None and self.rng.random() < 0.03:
                writer.writerow(cells)  # a repeated row
        bom = "\ufeff" if self.rng else ""
        path.write_bytes((bom + out.getvalue()).encode("utf-8"))


def _upn(child: DemoChild, faults: Faults) -> str:
    found = upn(child)
    return wrong_check_letter(found) if "upn" in faults.get(child.number, ()) else found


def _uln(child: DemoChild, faults: Faults) -> str:
    found = uln(child)
    return wrong_check_digit(found) if "uln" in faults.get(child.number, ()) else found


def _person_row(child: DemoChild, faults: Faults) -> list[Cell]:
    forename, surname = names(child)
    sex = ("F", "M")[child.number % 2]
    team = CASEWORKERS[child.caseworker]
    return [person_id(child), "", _upn(child, faults), forename, surname, sex, "", "",
            child.born, nhs_number(child), upn_unknown(child), "Y", None, None, "", "",
            child.caseworker, team]  # fmt: skip


def _request_rows(child: DemoChild, faults: Faults) -> list[list[Cell]]:
    n = child.number
    rows: list[list[Cell]] = []
    for k, earlier in enumerate(child.earlier, start=1):
        decided: Cell = earlier.decided
        if "date" in faults.get(n, ()):
            decided = impossible(earlier.decided)
        flags = flag_cells(earlier.flags, REQUEST_FLAGS)
        rows.append([f"REQ{n:05d}-{k}", f"SEND{n:05d}", earlier.received, decided, "N", *flags])
    outcome, on = child.decision if child.decision else ("", None)
    flags = flag_cells(child.flags, REQUEST_FLAGS) if outcome else ["", ""]
    rows.append([f"REQ{n:05d}", f"SEND{n:05d}", child.received, on, outcome, *flags])
    return rows


def _assessment_rows(child: DemoChild, faults: Faults) -> list[list[Cell]]:
    if child.assessment is None:
        return []
    outcome, on, exception = child.assessment
    n = child.number
    flags = flag_cells(child.flags, ASSESSMENT_FLAGS) if outcome else ["", "", "", ""]
    return [[f"ASMT{n:05d}", f"REQ{n:05d}", on, outcome, "1" if exception else "0", *flags]]


def _plan_rows(child: DemoChild, faults: Faults) -> list[list[Cell]]:
    plan, n = child.plan, child.number
    if plan is None:
        return []
    return [[f"PLAN{n:05d}", f"ASMT{n:05d}", plan.start, plan.ceased, plan.cease_reason]]


def _active_rows(child: DemoChild, faults: Faults) -> list[list[Cell]]:
    plan, n, x = child.plan, child.number, child.extras
    if plan is None or plan.ceased is not None:
        return []
    return [[f"ACT{n:05d}", f"REQ{n:05d}", plan.last_review, plan.meeting, plan.review_outcome,
             x.phase_due, x.phase_final, x.transfer_la]]  # fmt: skip


def _need_rows(child: DemoChild, faults: Faults) -> list[list[Cell]]:
    n = child.number
    if child.plan is None or child.plan.ceased is not None:
        return []
    return [
        [f"NEED{n:05d}-{rank}", f"ACT{n:05d}", need, rank]
        for rank, need in enumerate(child.extras.needs, start=1)
    ]


def _placement_rows(child: DemoChild, faults: Faults) -> list[list[Cell]]:
    setting, plan = child.extras.setting, child.plan
    if not setting or plan is None:
        return []
    urn, sen_setting = (setting, "") if setting.isdigit() else ("", setting)
    return [[person_id(child), urn, sen_setting, 1, plan.start]]


def write_ssd(
    out_dir: Path, children: Sequence[DemoChild], style: Style, faults: Faults | None = None
) -> None:
    """The SSD CSVs of ``children`` (with ``faults``: ``history.messy_faults``)."""
    faults = faults or {}
    out_dir.mkdir(parents=True, exist_ok=True)
    sends: list[list[Cell]] = [
        [f"SEND{c.number:05d}", person_id(c), _upn(c, faults), _uln(c, faults), upn_unknown(c)]
        for c in children
    ]
    assigned: list[list[Cell]] = [
        [person_id(c), c.caseworker, CASEWORKERS[c.caseworker], c.received] for c in children
    ]
    people = [_person_row(c, faults) for c in children]
    style.write(out_dir / "ssd_person.csv", PERSON_COLUMNS, people)
    style.write(out_dir / "ssd_send.csv", SEND_COLUMNS, sends)
    for table, header, rows_of in (
        ("ssd_ehcp_requests", REQUEST_COLUMNS, _request_rows),
        ("ssd_ehcp_assessment", ASSESSMENT_COLUMNS, _assessment_rows),
        ("ssd_ehcp_named_plan", PLAN_COLUMNS, _plan_rows),
        ("ssd_ehcp_active_plans", ACTIVE_COLUMNS, _active_rows),
        ("ssd_sen_need", NEED_COLUMNS, _need_rows),
        ("ssd_placements", PLACEMENT_COLUMNS, _placement_rows),
    ):
        rows = [row for c in children for row in rows_of(c, faults)]
        style.write(out_dir / f"{table}.csv", header, rows)
    style.write(out_dir / "ssd_caseworker_assignments.csv", ASSIGNMENT_COLUMNS, assigned)
