"""``read_export``: one directory holding any of the three kinds of export, read as one.

The directory may hold SSD CSVs (``ssd_*.csv``), SEN2 returns (``*.xml``) and a health
referrals CSV with its ``health_mapping.yaml``.  They are read in that order through one
identity linker, so a SEN2 person or a health referral naming a child of the SSD export by
UPN, ULN or NHS number reaches that child's journey; and a SEN2 person the SSD export names
is left to the SSD export (see ``sen2``).  Subdirectories are not read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from schemas.events import Event
from services.ingest.dates import DEFAULT_RANGES, DateRanges
from services.ingest.health.adapter import MAPPING_FILE, read_health_referrals
from services.ingest.issues import ExportReading, Issue, merge
from services.ingest.linking import IdentityLinker
from services.ingest.sen2.adapter import read_sen2_return
from services.ingest.ssd.adapter import read_ssd_export

Progress = Callable[[int, int], None]


def kinds_in(directory: Path) -> list[str]:
    """Which kinds of export ``directory`` holds: ``ssd``, ``sen2``, ``health``."""
    found = []
    if any(directory.glob("ssd_*.csv")):
        found.append("ssd")
    if any(directory.glob("*.xml")):
        found.append("sen2")
    if (directory / MAPPING_FILE).is_file():
        found.append("health")
    return found


def read_export(
    path: Path,
    *,
    secret: str,
    extracted_at: datetime,
    linker: IdentityLinker | None = None,
    future_tolerance_days: int = 0,
    date_ranges: DateRanges = DEFAULT_RANGES,
    progress: Progress | None = None,
) -> ExportReading:
    """Every export in the directory ``path``, merged (SSD, then SEN2, then health)."""
    if extracted_at.tzinfo is None:
        raise ValueError("extracted_at must be timezone-aware")
    linker = linker or IdentityLinker(secret)
    kinds = kinds_in(path) if path.is_dir() else []
    readings: list[ExportReading] = []
    if "ssd" in kinds:
        readings.append(
            read_ssd_export(
                path,
                secret=secret,
                extracted_at=extracted_at,
                linker=linker,
                future_tolerance_days=future_tolerance_days,
                date_ranges=date_ranges,
                progress=progress,
            )
        )
    for xml in sorted(path.glob("*.xml")) if "sen2" in kinds else []:
        readings.append(
            read_sen2_return(
                xml,
                secret=secret,
                extracted_at=extracted_at,
                linker=linker,
                future_tolerance_days=future_tolerance_days,
                date_ranges=date_ranges,
                progress=progress,
            )
        )
    if "health" in kinds:
        readings.append(
            read_health_referrals(
                path,
                secret=secret,
                extracted_at=extracted_at,
                linker=linker,
                future_tolerance_days=future_tolerance_days,
                date_ranges=date_ranges,
                progress=progress,
            )
        )
    if not readings:
        message = "no export found: expected ssd_*.csv, a SEN2 *.xml or health_mapping.yaml"
        return ExportReading([], [Issue(path.name, None, None, "R-DATA-FILE", message)], 0, 0)
    return merge(readings)


def read_kind(
    kind: str,
    path: Path,
    *,
    secret: str,
    extracted_at: datetime,
    linker: IdentityLinker | None = None,
    tolerance: int = 0,
    mapping: Path | None = None,
    date_ranges: DateRanges = DEFAULT_RANGES,
    progress: Progress | None = None,
    sink: Callable[[Event, bytes], None] | None = None,
) -> ExportReading:
    """The reading of ``path`` by the adapter ``kind`` (``ssd``, ``sen2``, ``health``, or
    ``export`` for every kind in a directory); ``inputs.resolve`` says which."""
    linker = linker or IdentityLinker(secret)
    if kind == "ssd":
        return read_ssd_export(
            path,
            secret=secret,
            extracted_at=extracted_at,
            linker=linker,
            future_tolerance_days=tolerance,
            date_ranges=date_ranges,
            progress=progress,
            sink=sink,
        )
    if kind == "sen2":
        files = sorted(path.glob("*.xml")) if path.is_dir() else [path]
        readings = [
            read_sen2_return(
                f,
                secret=secret,
                extracted_at=extracted_at,
                linker=linker,
                future_tolerance_days=tolerance,
                date_ranges=date_ranges,
                progress=progress,
            )
            for f in files
        ]
        return merge(readings)
    if kind == "health":
        return read_health_referrals(
            path,
            secret=secret,
            extracted_at=extracted_at,
            mapping=mapping,
            linker=linker,
            future_tolerance_days=tolerance,
            date_ranges=date_ranges,
            progress=progress,
        )
    return read_export(
        path,
        secret=secret,
        extracted_at=extracted_at,
        linker=linker,
        future_tolerance_days=tolerance,
        date_ranges=date_ranges,
        progress=progress,
    )
