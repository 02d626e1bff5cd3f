"""The validation report: text for people, JSON and CSV for integrators' pipelines.

Every issue has the same columns in every format: file, row (or line of an XML element),
field (a CSV column, or an XML element's path), rule, severity, message.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass

from services.ingest.inputs import files_not_read
from services.ingest.issues import ExportReading, Issue

COLUMNS = ("file", "row", "field", "rule", "severity", "message")
FORMATS = ("text", "json", "csv")


@dataclass(frozen=True)
class RunSummary:
    """What a run did: read, rejected, published (new or changed), unchanged."""

    rows_read: int
    rows_rejected: int
    files_not_read: int
    events: int
    published: int
    unchanged: int
    dry_run: bool
    header: dict[str, str]

    @classmethod
    def of(
        cls, reading: ExportReading, *, published: int, unchanged: int, dry_run: bool
    ) -> RunSummary:
        return cls(
            reading.rows_read,
            reading.rows_rejected,
            files_not_read(reading),
            len(reading.events),
            published,
            unchanged,
            dry_run,
            dict(reading.header),
        )

    def line(self) -> str:
        verb = "to publish (dry run)" if self.dry_run else "published"
        header = "".join(f", {k} {v}" for k, v in sorted(self.header.items()))
        files = self.files_not_read
        not_read = f", {files} file{'s' if files != 1 else ''} not read" if files else ""
        return (
            f"{self.rows_read} rows read, {self.rows_rejected} rejected{not_read}{header}; "
            f"{self.unchanged} events unchanged since the last run; {self.published} events {verb}"
        )


def row_of(issue: Issue) -> dict[str, object]:
    return {
        "file": issue.file,
        "row": issue.row,
        "field": issue.column,
        "rule": issue.rule,
        "severity": issue.severity,
        "message": issue.message,
    }


def render(issues: list[Issue], summary: RunSummary, fmt: str) -> str:
    if fmt == "json":
        body = {"summary": asdict(summary), "issues": [row_of(i) for i in issues]}
        return json.dumps(body, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(row_of(i) for i in issues)
        return out.getvalue()
    return "".join(f"{i}\n" for i in issues) + summary.line() + "\n"
