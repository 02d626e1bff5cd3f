"""Rule packs: the shipped default holds rules.md's values; a council overrides without code."""

from datetime import date
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from schemas.events import ReferralReceived
from services.journeys.domain.journey import fold
from services.journeys.domain.pack import DEFAULT_PACK, DEFAULT_PACK_FILE, load_pack
from services.journeys.domain.rules import evaluate
from tests.factories import PERSON, ev


def test_default_pack_has_the_rule_book_values() -> None:
    p = DEFAULT_PACK
    assert (p.assessment.decide_days, p.assessment.not_issue_days, p.assessment.issue_days) == (
        42,
        112,
        140,
    )
    assert (p.review.review_months, p.review.decision_days, p.review.amend_days) == (12, 28, 56)
    assert p.waits["autism"].thresholds[0].months == 3
    assert [t.days for t in p.waits["salt"].thresholds] == [126, 364]
    assert p.waits["camhs"].status == "proposed"


def test_a_council_pack_overrides_a_wait_and_is_stamped_with_its_version(tmp_path: Path) -> None:
    body = yaml.safe_load(DEFAULT_PACK_FILE.read_text())
    body["version"] = "trafford-2026.2"
    body["waits"]["camhs"]["thresholds"] = [{"days": 42, "severity": "warning"}]
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(body))
    pack = load_pack(path)
    journey = fold(
        PERSON,
        [ev(ReferralReceived(referral_id="F1", service="camhs", received_on=date(2026, 1, 5)))],
    )
    waits = [
        f for f in evaluate(journey, date(2026, 2, 16), pack).values() if f.rule_id == "R-WAIT"
    ]
    assert waits == []  # 42 days: not yet
    waits = [
        f for f in evaluate(journey, date(2026, 2, 17), pack).values() if f.rule_id == "R-WAIT"
    ]
    assert [f.due_on for f in waits] == [date(2026, 2, 16)]


def test_a_bad_pack_names_the_field(tmp_path: Path) -> None:
    body = yaml.safe_load(DEFAULT_PACK_FILE.read_text())
    body["review"]["under5_months"] = 9  # CoP 9.178: 3 to 6 months
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(body))
    with pytest.raises(ValidationError, match=r"review\.under5_months"):
        load_pack(path)


def test_a_wait_needs_exactly_one_unit(tmp_path: Path) -> None:
    body = yaml.safe_load(DEFAULT_PACK_FILE.read_text())
    body["waits"]["ot"]["thresholds"] = [{"days": 10, "months": 1}]
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(body))
    with pytest.raises(ValidationError, match="exactly one of months or days"):
        load_pack(path)
