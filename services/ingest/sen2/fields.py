"""Which SEN2 elements a clock or a measure reads: a fault there rejects, elsewhere it warns.

A schema fault in an element a clock or a DfE figure reads (dates, outcomes, Week20,
mediation and tribunal, cease, the LA a plan came from) rejects its record: the ``Person``
for ``PersonBirthDate`` (every age and year group), else the ``Requests`` module it is in.
A fault anywhere else (names, sex, ethnicity, postcode, UPN, ULN, plan and placement
details, needs) keeps the record and is reported as a warning: no clock is wrong for it,
and dropping the child would hide every deadline it has.  docs/ingest.md has the table.

An element the schema does not know (a misspelt ``RecievedDate``) rejects its module: it
may be a clock's field under a wrong name.  A known element out of the schema's order is
read all the same (the reader finds elements by name and checks every value it reads).
"""

from __future__ import annotations

import re
from typing import Literal

from services.ingest.issues import Severity

Scope = Literal["header", "person", "requests"]

# rules.md: each clock's inputs (§2-§4) and the DfE figures (20 weeks with and without
# exceptions, "no mediation or tribunal", 6 weeks)
CLOCK_FIELDS = frozenset(
    {
        "PersonBirthDate",
        "ReceivedDate",
        "RequestOutcomeDate",
        "RequestOutcome",
        "RequestMediation",
        "RequestTribunal",
        "AssessmentOutcome",
        "AssessmentOutcomeDate",
        "AssessmentMediation",
        "AssessmentTribunal",
        "OtherMediation",
        "OtherTribunal",
        "Week20",
        "StartDate",
        "CeaseDate",
        "CeaseReason",
        "TransferLA",
        "LastReview",
        "ReviewMeeting",
        "ReviewOutcome",
        "ReviewDraft",
        "PhaseTransferDueDate",
        "PhaseTransferFinalDate",
    }
)
# the containers: a fault in their shape (a missing or doubled module) is a clock's fault
MODULES = frozenset(
    {"Message", "Persons", "Person", "Requests", "Assessment", "NamedPlan", "ActivePlans"}
)
WARNING_FIELDS = frozenset(
    {
        "Surname",
        "Forename",
        "Sex",
        "GenderCurrent",  # Sex before the 2024 collection
        "Ethnicity",
        "PostCode",
        "UPN",
        "UniqueLearnerNumber",
        "UPNunknown",
        "RequestSource",
        "RYA",
        "Exported",
        "PlanDetail",
        "PlanRes",
        "PlanWBP",
        "PB",
        "OA",
        "DP",
        "PlacementDetail",
        "URN",
        "UKPRN",
        "SENSetting",
        "SENSettingOther",
        "PlacementRank",
        "EntryDate",
        "LeavingDate",
        "SENunitIndicator",
        "ResourcedProvisionIndicator",
        "Res",
        "WBP",
        "SENneed",
        "SENtype",
        "SENtypeRank",
    }
)
# elements that may repeat under their parent (every other one is at most once)
REPEATING = frozenset({"Person", "Requests", "PlanDetail", "PlacementDetail", "SENneed", "Source"})

_STEP = re.compile(r"([A-Za-z0-9_]+)(?:\[(\d+)\])?")
_ELEMENT = re.compile(r"^Element '([^']+)'")
_EXPECTED = re.compile(r"Expected is(?: one of)? \(\s*([^)]*)\)")


def steps(path: str) -> list[tuple[str, int]]:
    """``/Message/Persons/Person[2]/Requests`` -> [("Message", 1), ..., ("Person", 2), ...]."""
    found = []
    for step in path.strip("/").split("/"):
        match = _STEP.fullmatch(step)
        if match:
            found.append((match.group(1), int(match.group(2) or 1)))
    return found


def where(path: str) -> tuple[Scope, int, int]:
    """The record a fault at ``path`` belongs to: (scope, person number, module number)."""
    parts = steps(path)
    names = [name for name, _ in parts]
    if len(parts) < 3 or names[:3] != ["Message", "Persons", "Person"]:
        return "header", 0, 0
    person = parts[2][1]
    if len(parts) >= 4 and names[3] == "Requests":
        return "requests", person, parts[3][1]
    return "person", person, 0


def _named(message: str, path: str) -> str:
    match = _ELEMENT.match(message)
    if match:
        return match.group(1).split("}")[-1]
    parts = steps(path)
    return parts[-1][0] if parts else ""


def severity(path: str, message: str, repeated: bool) -> Severity:
    """Reject (``error``) or keep (``warning``) for one schema fault at ``path``.

    ``repeated``: the element named occurs more than once under its parent.
    """
    if where(path)[0] == "header":
        return "warning"  # nothing a clock reads: the persons are read all the same
    element = _named(message, path)
    if "Missing child element" in message:
        expected = _EXPECTED.search(message)
        names = [
            n.strip().split("}")[-1] for n in (expected.group(1) if expected else "").split(",")
        ]
        return "warning" if names and all(n in WARNING_FIELDS for n in names) else "error"
    if "not expected" in message:
        if element in WARNING_FIELDS:
            return "warning"
        if element in CLOCK_FIELDS | MODULES:
            # out of order: read by name all the same; twice: which one is right is unknown
            return "error" if repeated and element not in REPEATING else "warning"
        return "error"  # not a SEN2 element: perhaps a clock's field, misspelt
    if element in WARNING_FIELDS:
        return "warning"
    return "error"
