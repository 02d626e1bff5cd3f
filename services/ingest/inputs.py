"""What a command was pointed at, and what it made of it: nothing read is never a success.

``casewatch replay`` and ``casewatch ingest`` both take a path.  :func:`resolve` checks it
before anything is read and says which adapter reads what: a path that does not exist, cannot
be read, or holds nothing of the kind asked for raises :class:`NothingToRead`, whose message
names the path.  A file is accepted where a directory is expected: a SEN2 return (``.xml``),
one SSD CSV (``ssd_*.csv``: the export is the directory it sits in, with its sibling CSVs), or
a health referrals CSV beside ``health_mapping.yaml``.

After reading, :func:`outcome` turns the reading into the commands' exit code: 2 when no
record was read at all, 1 when anything was rejected (a record, or a whole file not read),
0 otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.ingest.export import read_kind
from services.ingest.health.adapter import MAPPING_FILE
from services.ingest.issues import ExportReading

KINDS = ("ssd", "sen2", "health", "export")
EXPECTED = {
    "ssd": "SSD CSVs (ssd_*.csv)",
    "sen2": "a SEN2 return (*.xml)",
    "health": f"a health referrals CSV with its {MAPPING_FILE}",
    "export": f"SSD CSVs (ssd_*.csv), a SEN2 return (*.xml) or {MAPPING_FILE}",
}


class NothingToRead(Exception):
    """The path holds nothing the command can read; the message names the path and why."""


@dataclass(frozen=True)
class Target:
    """What to read: ``kind`` is the adapter (``export`` reads every kind in a directory)."""

    kind: str
    path: Path


def resolve(path: Path, kind: str) -> Target:
    """The adapter and path that read ``path`` as ``kind``, or :class:`NothingToRead`."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if not path.exists():
        raise NothingToRead(f"{path}: no such file or directory")
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise NothingToRead(f"{path}: the directory cannot be read (permission denied)")
        return Target(kind, _directory(path, kind))
    _readable(path)
    return _file(path, kind)


def _readable(path: Path) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise NothingToRead(f"{path}: the file cannot be read ({error.strerror})") from error


def _directory(path: Path, kind: str) -> Path:
    mapping = (path / MAPPING_FILE).is_file()
    found = {
        "ssd": any(path.glob("ssd_*.csv")),
        "sen2": any(path.glob("*.xml")),
        "health": mapping or any(path.glob("*.csv")),
    }
    found["export"] = found["ssd"] or found["sen2"] or mapping
    if found[kind]:
        return path
    inside = sorted(p.name + "/" for p in path.iterdir() if p.is_dir())
    hint = f" (subdirectories are not read: {', '.join(inside)})" if inside else ""
    raise NothingToRead(f"{path}: nothing to read: expected {EXPECTED[kind]}{hint}")


def _file(path: Path, kind: str) -> Target:
    name = path.name.lower()
    is_ssd = name.startswith("ssd_") and name.endswith(".csv")
    if kind == "ssd" or (kind == "export" and is_ssd):
        if not is_ssd:
            raise NothingToRead(f"{path}: not an SSD CSV (ssd_*.csv); give the export's directory")
        return Target("ssd", path.parent)  # one table of an export: read it with its siblings
    if kind == "export":
        if name.endswith(".xml"):
            return Target("sen2", path)
        if name.endswith(".csv") and (path.parent / MAPPING_FILE).is_file():
            return Target("health", path)
        raise NothingToRead(f"{path}: not an export file: expected {EXPECTED['export']}")
    return Target(kind, path)


@dataclass(frozen=True)
class Outcome:
    """What a reading amounts to: the exit code and one line saying why."""

    code: int
    line: str


def files_not_read(reading: ExportReading) -> int:
    """Whole files rejected (missing when required, not UTF-8, a column missing, …)."""
    return sum(
        1
        for i in reading.issues
        if i.severity == "error" and i.row is None and i.rule == "R-DATA-FILE"
    )


def outcome(reading: ExportReading, path: Path) -> Outcome:
    """2 when no record was read, 1 when anything was rejected, else 0."""
    files = files_not_read(reading)
    not_read = f", {files} file{'s' if files != 1 else ''} not read" if files else ""
    counts = f"{reading.rows_read} records read, {reading.rows_rejected} rejected{not_read}"
    if reading.rows_read == 0:
        return Outcome(2, f"{path}: nothing was read ({counts})")
    if reading.errors:
        return Outcome(1, f"{path}: incomplete: {counts}")
    return Outcome(0, f"{path}: {counts}")


def read_path(path: Path, secret: str, kind: str = "export") -> ExportReading:
    """Everything ``path`` holds, read as of now (``casewatch replay``); raises
    :class:`NothingToRead` before reading when :func:`resolve` does."""
    target = resolve(path, kind)
    return read_kind(target.kind, target.path, secret=secret, extracted_at=datetime.now(UTC))
