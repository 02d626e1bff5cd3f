"""The synthetic authority's referrals as a health system exports them, with its mapping."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from services.ingest.demo.extras import HEALTH_SERVICES
from services.ingest.demo.ssd import Cell, Style
from services.ingest.demo.types import DemoChild, nhs_number
from services.ingest.health.adapter import MAPPING_FILE

HEADER = ("NHS Number", "Referral Ref", "Service Code", "Date Received", "First Seen", "Closed On")
MAPPING = {
    "source_system": "health",
    "file": "health_referrals.csv",
    "person": {"column": "NHS Number", "identifier": "nhs"},
    "columns": {
        "referral_id": "Referral Ref",
        "service": "Service Code",
        "referral_date": "Date Received",
        "first_contact": "First Seen",
        "closed": "Closed On",
    },
    "services": dict(HEALTH_SERVICES),
}


def write_health(out_dir: Path, children: Sequence[DemoChild], style: Style) -> None:
    rows: list[list[Cell]] = [
        [nhs_number(c), f"HR{c.number:05d}-{k}", r.code, r.received, r.contact, r.closed]
        for c in children
        for k, r in enumerate(c.extras.referrals, start=1)
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    style.write(out_dir / "health_referrals.csv", HEADER, rows)
    text = yaml.safe_dump(MAPPING, sort_keys=False)
    (out_dir / MAPPING_FILE).write_text(text, encoding="utf-8")
