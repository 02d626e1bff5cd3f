"""The public development person-key secret keys only ``casewatch demo-data``'s children."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.cli import main
from services.ingest.demo.authority import write_demo_export
from services.ingest.demo.marker import MARKER, is_demo_output
from services.ingest.secret import refusal
from services.runtime.settings import Settings
from tests.unit.test_ssd_adapter import clean_export, write_export

DEV = Settings()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "export"
    write_demo_export(out, children=12, seed=3, today=date(2025, 6, 30))
    return out


def test_the_demo_s_own_output_may_use_the_development_secret(demo: Path) -> None:
    assert (demo / MARKER).is_file()
    for path in (demo, demo / "sen2", demo / "sen2" / "sen2_return.xml"):
        assert refusal(DEV, [path]) is None, path
    assert refusal(DEV, [demo / "health_referrals.csv", demo / "health_mapping.yaml"]) is None


def test_anything_else_is_refused_with_how_to_set_a_secret(demo: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    write_export(real, clean_export())
    message = refusal(DEV, [real])
    assert message is not None and "set CASEWATCH_PERSON_KEY_SECRET" in message
    (real / MARKER).write_text((demo / MARKER).read_text())  # a marker copied in
    assert not is_demo_output([real])
    assert refusal(Settings(person_key_secret=SecretStr("a-council-secret")), [real]) is None


def test_a_demo_file_changed_since_or_added_beside_is_not_the_demo_s(tmp_path: Path) -> None:
    out = tmp_path / "export"
    out.mkdir()
    (out / "ssd_person_extra.csv").write_text("a real file that was there first\n")
    write_demo_export(out, children=5, seed=1, today=date(2025, 6, 30), sen2=False)
    assert not is_demo_output([out])  # the file that was there first is not listed
    assert is_demo_output([out / "ssd_person.csv"])
    with (out / "ssd_person.csv").open("a") as f:
        f.write("P-REAL,someone real\n")
    assert not is_demo_output([out / "ssd_person.csv"])


def test_casewatch_ingest_refuses_before_reading(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CASEWATCH_PERSON_KEY_SECRET", raising=False)
    monkeypatch.setenv("CASEWATCH_DATA_DIR", str(tmp_path / "data"))
    real = tmp_path / "real"
    real.mkdir()
    write_export(real, clean_export())
    assert main(["ingest", "ssd", str(real), "--dry-run"]) == 2
    assert "CASEWATCH_PERSON_KEY_SECRET is not set" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # nothing read, nothing remembered
    assert main(["ingest", "ssd", str(demo), "--dry-run"]) == 0
    monkeypatch.setenv("CASEWATCH_PERSON_KEY_SECRET", "a-council-secret-of-enough-length")
    assert main(["ingest", "ssd", str(real), "--dry-run"]) == 0
