"""docs/rules.md is the rule book a reader trusts: it names every rule the code registers,
and the values it states are the shipped rule pack's."""

from __future__ import annotations

import re
from pathlib import Path

from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_registered_rule_is_in_the_rule_book() -> None:
    missing = [r.rule_id for r in RULES if r.rule_id not in text()]
    assert missing == []


def test_the_pack_values_listed_are_the_shipped_packs() -> None:
    listed = re.findall(r"^\| `(\w+)\.(\w+)` \| (\w+) \|", text(), re.MULTILINE)
    shipped = DEFAULT_PACK.model_dump()
    expected = {
        (section, key): str(value).lower()
        for section in ("assessment", "review", "transition")
        for key, value in shipped[section].items()
        if isinstance(value, int)  # the clocks' numbers and switches (bool is an int)
    }
    assert {(s, k): v for s, k, v in listed} == expected
    assert f"({DEFAULT_PACK.version})" in text()


def test_every_service_wait_is_listed_with_its_thresholds() -> None:
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| [^|]*\(`(\w+)`\) \| ([^|]+) \|", text(), re.MULTILINE)
    }
    assert set(rows) == set(DEFAULT_PACK.waits)
    for key, wait in DEFAULT_PACK.waits.items():
        stated = [f"{t.months} months" if t.months else f"{t.days} days" for t in wait.thresholds]
        assert all(s in rows[key] for s in stated), (key, rows[key], stated)
