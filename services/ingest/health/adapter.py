"""The health referral adapter: a CSV of referrals and a small mapping file, to ``referral.*``.

Every health or therapy system names its columns and services its own way, so a YAML
mapping says which local column is which and which local service code is which rule-pack
service (rules.md §5 R-WAIT)::

    person: {column: nhs_number, identifier: nhs}   # nhs | upn | uln | a case-system name
    columns:                  # casewatch field: the file's column
      referral_id: referral_ref          # optional; default: service and referral date
      service: service_code
      referral_date: date_received
      first_contact: first_seen          # optional
      closed: date_closed                # optional
    services:                 # the file's code: autism, paediatrics, camhs, salt, ot, ...
      ASD-DIAG: autism
      SLT: salt

A row whose service code is not in ``services`` is rejected (R-DATA-SERVICE) and every unknown
code is listed once more at the end.  The person column never appears in a message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path, PurePath

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas.authority import kind_of
from schemas.events import (
    CODE_MAX,
    Payload,
    ReferralClosed,
    ReferralFirstContact,
    ReferralReceived,
)
from services.ingest.csvtable import RowCheck, TableSpec, checks, read_csv, repeat_issue
from services.ingest.dates import DEFAULT_RANGES, DateRanges
from services.ingest.envelope import envelope
from services.ingest.identifiers import identifier_fault
from services.ingest.issues import ExportReading, Issue
from services.ingest.linking import SHARED_KINDS, IdentityLinker, Resolution
from services.journeys.domain.pack import DEFAULT_PACK

MAPPING_FILE = "health_mapping.yaml"
SCOPE = "health_referrals"
FIELDS = ("referral_id", "service", "referral_date", "first_contact", "closed")


class PersonColumn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str = Field(min_length=1)
    identifier: str = Field(default="nhs", min_length=1)


class HealthMapping(BaseModel):
    """The mapping file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    source_system: str = Field(default="health", min_length=1, max_length=CODE_MAX)
    file: str = "health_referrals.csv"
    person: PersonColumn
    columns: dict[str, str]
    services: dict[str, str]

    @field_validator("source_system")
    @classmethod
    def _a_health_source(cls, source_system: str) -> str:
        if kind_of(source_system) != "health":
            raise ValueError(
                f"{source_system!r} is not a health source: name it health or health-NAME "
                "(the source authority table, docs/ingest.md)"
            )
        return source_system

    @field_validator("file")
    @classmethod
    def _beside_the_mapping(cls, file: str) -> str:
        path = PurePath(file)
        if not file.strip() or path.is_absolute() or ".." in path.parts or "\\" in file:
            raise ValueError("must be a file inside the export's folder: a relative path, no '..'")
        return file

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, columns: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(columns) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown fields {unknown}: the fields are {', '.join(FIELDS)}")
        missing = [f for f in ("service", "referral_date") if f not in columns]
        if missing:
            raise ValueError(f"no column given for {', '.join(missing)}")
        return columns

    @field_validator("services")
    @classmethod
    def _pack_services(cls, services: dict[str, str]) -> dict[str, str]:
        unknown = sorted({s for s in services.values() if s not in DEFAULT_PACK.waits})
        if unknown:
            known = ", ".join(sorted(DEFAULT_PACK.waits))
            raise ValueError(f"services {unknown} are not in the rule pack ({known})")
        return {code.strip().upper(): service for code, service in services.items()}

    def spec(self) -> TableSpec:
        renames = {local.strip().lower(): name for name, local in self.columns.items()}
        renames[self.person.column.strip().lower()] = "person"
        labels = {name: local.strip() for name, local in self.columns.items()}
        labels["person"] = self.person.column.strip()
        return TableSpec(
            SCOPE,
            key="referral_id" if "referral_id" in self.columns else "",
            columns=("person", *(f for f in ("service", "referral_date") if f in self.columns)),
            optional=tuple(f for f in FIELDS if f in self.columns),
            private=frozenset({"person"}),
            renames=renames,
            labels=labels,
            filename=self.file,
        )


def load_mapping(path: Path) -> HealthMapping | Issue:
    """The mapping at ``path``, or one issue saying what is wrong with it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        return HealthMapping.model_validate(raw)
    except OSError:
        return Issue(path.name, None, None, "R-DATA-FILE", "the mapping file is missing")
    except (yaml.YAMLError, ValidationError) as error:
        detail = error.errors(include_input=False) if isinstance(error, ValidationError) else []
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in detail)
        message = f"the mapping file is not valid: {reasons or type(error).__name__}"
        return Issue(path.name, None, None, "R-DATA-FILE", message)


def read_health_referrals(
    path: Path,
    *,
    secret: str,
    extracted_at: datetime,
    mapping: Path | None = None,
    linker: IdentityLinker | None = None,
    future_tolerance_days: int = 0,
    date_ranges: DateRanges = DEFAULT_RANGES,
    progress: Callable[[int, int], None] | None = None,
) -> ExportReading:
    """Read a referrals CSV (or the directory holding it and ``health_mapping.yaml``)."""
    if extracted_at.tzinfo is None:
        raise ValueError("extracted_at must be timezone-aware")
    directory = path if path.is_dir() else path.parent
    result = ExportReading([], [], 0, 0)
    loaded = load_mapping(mapping or directory / MAPPING_FILE)
    if isinstance(loaded, Issue):
        result.issues.append(loaded)
        return result
    spec = loaded.spec()
    named = path if path.is_file() else directory / spec.file
    if not path.is_file() and not named.resolve().is_relative_to(directory.resolve()):
        message = f"{spec.file!r} leads outside the export's folder (a link): not read"
        result.issues.append(Issue(MAPPING_FILE, None, "file", "R-DATA-FILE", message))
        return result
    table, issue = read_csv(named, spec)
    if table is None:
        result.issues.append(issue or Issue(spec.file, None, None, "R-DATA-FILE", "not read"))
        return result
    result.read_scope(loaded.source_system, SCOPE)
    latest = extracted_at.date() + timedelta(days=future_tolerance_days)
    linker = linker or IdentityLinker(secret)
    unknown: set[str] = set()
    for number, check in enumerate(checks(table, latest, date_ranges), start=1):
        if progress is not None and number % 2000 == 0:
            progress(number, len(table.rows))
        result.rows_read += 1
        if check.repeat_of is not None:
            result.issues.append(repeat_issue(check))
            continue
        _referral(result, loaded, linker, check, unknown, extracted_at)
    if unknown:
        codes = ", ".join(repr(c) for c in sorted(unknown))
        message = f"service codes not in the mapping file: {codes}"
        summary = Issue(
            spec.file, None, spec.label("service"), "R-DATA-SERVICE", message, "warning"
        )
        result.issues.append(summary)
    return result


def _referral(
    result: ExportReading,
    mapping: HealthMapping,
    linker: IdentityLinker,
    check: RowCheck,
    unknown: set[str],
    extracted_at: datetime,
) -> None:
    row = check.row
    if check.spec.key:
        check.key()
    who = check.required("person")
    fault = identifier_fault(mapping.person.identifier, who) if who else None
    if fault is not None:  # no clock reads its shape: kept, and it still links the child
        check.warn("person", *fault)
    code = check.required("service").upper()
    service = mapping.services.get(code)
    if code and service is None:
        unknown.add(code)
        check.add("service", "R-DATA-SERVICE", f"{code!r} is not in the mapping file's services")
    received = check.parsed_date("referral_date", required=True)
    contact = check.parsed_date("first_contact")
    closed = check.parsed_date("closed")
    check.not_before("first_contact", contact, "the referral date", received)
    check.not_before("closed", closed, "the referral date", received)
    resolution = Resolution(None)
    if who and check.ok:
        kind = mapping.person.identifier
        identifier = (kind, who)
        own = None if kind in SHARED_KINDS else identifier
        resolution = linker.resolve(own, [identifier] if own is None else [])
        if resolution.person_key is None:
            check.add("person", "R-DATA-IDENTITY", resolution.message())
    result.issues.extend(check.issues)
    if not check.ok or resolution.person_key is None or service is None or received is None:
        result.rows_rejected += 1
        return
    referral_id = row["referral_id"] or f"{service}-{received.isoformat()}"
    record = f"{SCOPE}:{linker.digest((mapping.person.identifier, who))[:16]}:{referral_id}"
    facts: list[tuple[date, Payload]] = [
        (received, ReferralReceived(referral_id=referral_id, service=service, received_on=received))
    ]
    if contact is not None:
        facts.append((contact, ReferralFirstContact(referral_id=referral_id, contact_on=contact)))
    if closed is not None:
        facts.append((closed, ReferralClosed(referral_id=referral_id, closed_on=closed)))
    for on, payload in facts:
        event = envelope(
            source_system=mapping.source_system,
            source_record_key=record,
            person_key=resolution.person_key,
            occurred_at=datetime.combine(on, time(), tzinfo=UTC),
            recorded_at=extracted_at,
            payload=payload,
        )
        result.events.append(event)
    result.saw(mapping.source_system, record)
