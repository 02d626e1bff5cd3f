"""Write the JSON Schema files for the topic contracts: ``python -m schemas.generate``.

The files under ``schemas/jsonschema/`` are checked in; a test fails when they differ from
what the models generate, so a contract change is always a reviewed diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from schemas.events import Event
from schemas.flags import FlagRecord
from schemas.journeys import JourneySnapshot

SCHEMA_DIR = Path(__file__).parent / "jsonschema"

CONTRACTS: dict[str, TypeAdapter[Any]] = {
    "event.v1.json": TypeAdapter(Event),
    "flag.v1.json": TypeAdapter(FlagRecord),
    "journey.v1.json": TypeAdapter(JourneySnapshot),
}


def render(name: str) -> str:
    schema = CONTRACTS[name].json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://casewatch.example/schemas/{name}"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name in CONTRACTS:
        (SCHEMA_DIR / name).write_text(render(name), encoding="utf-8")
        print(f"wrote {SCHEMA_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
