"""Loud failures: ``casewatch replay`` and ``casewatch ingest`` never exit 0 having read nothing
or part of their input.  Each case runs the real CLI through ``services.cli.main`` (and the
installed entry point once, as a subprocess) and checks the exit code and the message.

Exit codes: 2 nothing read (no such path, nothing of the kind in it, a file that cannot be
read, no record read), or a usage error (an unknown ``--rule``, a date not YYYY-MM-DD);
1 partly rejected (the rest is shown, and the count is on stdout); 0 everything read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from services.cli import main
from services.ingest.demo.authority import write_demo_export

TODAY = date(2026, 11, 20)
KINDS = ("ssd", "sen2", "health", "export")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic authority: SSD CSVs and health referrals, and sen2/sen2_return.xml."""
    out = tmp_path_factory.mktemp("demo")
    write_demo_export(out, children=40, seed=3, today=TODAY)
    return out


@pytest.fixture
def copy(demo: Path, tmp_path: Path) -> Path:
    """A copy of the demo export this test may break."""
    return Path(shutil.copytree(demo, tmp_path / "export"))


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("CASEWATCH_DATA_DIR", str(data))
    # the exports here are edited demo output: a real secret, as a council would set one
    monkeypatch.setenv("CASEWATCH_PERSON_KEY_SECRET", "a-cli-failures-test-person-key-secret")
    return data


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as stop:  # argparse's usage errors
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def replay_json(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, set[str]]:
    code, out, _ = run(capsys, "replay", str(path), "--as-of", "2026-11-20", "--format", "json")
    return code, {f["flag_id"] for f in json.loads(out)["flags"]}


def break_header(path: Path, column: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert column in lines[0]
    path.write_text(lines[0].replace(column, column + "_x") + "".join(lines[1:]), "utf-8")


# --- nothing read: exit 2, the path named ---------------------------------------------------


def test_replay_of_a_missing_path_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-export"
    code, out, err = run(capsys, "replay", str(missing))
    assert code == 2
    assert f"{missing}: no such file or directory" in err
    assert "open flags" not in out


def test_replay_of_an_empty_directory_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    (empty / "sen2").mkdir(parents=True)
    code, out, err = run(capsys, "replay", str(empty))
    assert code == 2
    assert f"{empty}: nothing to read" in err
    assert "subdirectories are not read: sen2/" in err
    assert out == ""


def test_replay_of_a_file_that_is_no_export_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello", encoding="utf-8")
    code, _, err = run(capsys, "replay", str(notes))
    assert code == 2
    assert f"{notes}: not an export file" in err


def test_replay_of_an_xml_file_that_is_not_xml_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "return.xml"
    broken.write_bytes(b"\xff\xfe not xml")
    code, out, err = run(capsys, "replay", str(broken))
    assert code == 2
    assert "return.xml: the file was not read" in err
    assert f"{broken}: nothing was read" in err
    assert "open flags" not in out


def test_replay_of_an_export_whose_person_file_is_not_text_exits_2(
    capsys: pytest.CaptureFixture[str], copy: Path
) -> None:
    (copy / "health_mapping.yaml").unlink()
    (copy / "ssd_person.csv").write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = run(capsys, "replay", str(copy))
    assert code == 2
    assert "ssd_person.csv: the file was not read: it is not UTF-8 text" in err
    assert f"{copy}: nothing was read" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file of mode 000")
def test_replay_of_an_unreadable_file_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], demo: Path, tmp_path: Path
) -> None:
    xml = Path(shutil.copy(demo / "sen2" / "sen2_return.xml", tmp_path / "locked.xml"))
    xml.chmod(0)
    code, _, err = run(capsys, "replay", str(xml))
    assert code == 2
    assert f"{xml}: the file cannot be read" in err


def test_replay_of_an_export_with_no_readable_person_file_exits_2(
    capsys: pytest.CaptureFixture[str], copy: Path
) -> None:
    (copy / "health_mapping.yaml").unlink()
    break_header(copy / "ssd_person.csv", "pers_dob")
    code, out, err = run(capsys, "replay", str(copy))
    assert code == 2
    assert "ssd_person.csv pers_dob: the file was not read: it has no column pers_dob" in err
    assert f"{copy}: nothing was read (0 records read" in err
    assert "open flags" not in out


# --- usage errors: exit 2 -------------------------------------------------------------------


def test_an_unknown_rule_exits_2_and_lists_the_rules(
    capsys: pytest.CaptureFixture[str], demo: Path
) -> None:
    code, out, err = run(capsys, "replay", str(demo), "--rule", "R-AR-DUE", "--rule", "R-NOPE")
    assert code == 2
    assert "R-NOPE" in err and "--rule takes one of" in err and "R-ISSUE-20W" in err
    assert out == ""


def test_a_known_rule_filters(capsys: pytest.CaptureFixture[str], demo: Path) -> None:
    code, out, _ = run(capsys, "replay", str(demo), "--as-of", "2026-11-20", "--rule", "R-WAIT")
    assert code == 0
    flags = [line for line in out.splitlines() if line.startswith("R-")]
    assert flags and all(line.startswith("R-WAIT ") for line in flags)


@pytest.mark.parametrize(
    "argv",
    [
        ("replay", "{demo}", "--as-of", "20/11/2026"),
        ("demo-data", "--out", "{demo}/x", "--today", "2026-13-01"),
    ],
)
def test_a_date_not_in_iso_format_says_the_format(
    capsys: pytest.CaptureFixture[str], demo: Path, argv: tuple[str, ...]
) -> None:
    code, _, err = run(capsys, *(a.format(demo=demo) for a in argv))
    assert code == 2
    assert "is not a date in the format YYYY-MM-DD" in err


# --- partly read: exit 1, the count on stdout ------------------------------------------------


def test_one_csv_with_a_wrong_header_exits_1_and_says_what_was_left_out(
    capsys: pytest.CaptureFixture[str], demo: Path, copy: Path
) -> None:
    _, complete = replay_json(capsys, demo)
    break_header(copy / "ssd_ehcp_requests.csv", "ehcr_ehcp_req_date")
    code, out, err = run(capsys, "replay", str(copy), "--as-of", "2026-11-20")
    assert code == 1
    assert "ssd_ehcp_requests.csv ehcr_ehcp_req_date: the file was not read" in err
    last = out.splitlines()[-1]
    assert last.startswith(f"{copy}: incomplete: ") and "5 files not read" in last
    shown = int(out.splitlines()[0].rsplit(":", 1)[1])
    assert 0 < shown < len(complete)  # what was read is still shown


def test_a_partial_reading_in_json_keeps_stdout_json_and_exits_1(
    capsys: pytest.CaptureFixture[str], copy: Path
) -> None:
    break_header(copy / "ssd_ehcp_requests.csv", "ehcr_ehcp_req_date")
    code, flags = replay_json(capsys, copy)
    assert code == 1 and flags


def test_rejected_rows_exit_1_with_the_rejected_count_on_stdout(
    capsys: pytest.CaptureFixture[str], copy: Path
) -> None:
    requests = copy / "ssd_ehcp_requests.csv"
    lines = requests.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    date_at = header.index("ehcr_ehcp_req_date")
    for n in (1, 2):
        cells = lines[n].split(",")
        cells[date_at] = "not a date"
        lines[n] = ",".join(cells)
    requests.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "replay", str(copy), "--as-of", "2026-11-20")
    assert code == 1
    assert "ssd_ehcp_requests.csv:2 ehcr_ehcp_req_date" in err
    assert "incomplete: " in out.splitlines()[-1]
    rejected = int(out.splitlines()[-1].split(" rejected")[0].rsplit(" ", 1)[1])
    assert rejected >= 2  # the two rows, and the rows that link through them


def test_replay_out_file_prints_the_count_on_stdout(
    capsys: pytest.CaptureFixture[str], copy: Path, tmp_path: Path
) -> None:
    break_header(copy / "ssd_ehcp_requests.csv", "ehcr_ehcp_req_date")
    target = tmp_path / "flags.csv"
    code, out, _ = run(capsys, "replay", str(copy), "--format", "csv", "--out", str(target))
    assert code == 1
    assert "open flags written to" in out and "incomplete: " in out
    assert target.read_text(encoding="utf-8").startswith("rule_id,")


# --- a single file ------------------------------------------------------------------------


def test_replay_of_a_sen2_file_reads_it(capsys: pytest.CaptureFixture[str], demo: Path) -> None:
    code, by_file = replay_json(capsys, demo / "sen2" / "sen2_return.xml")
    assert code == 0
    _, by_directory = replay_json(capsys, demo / "sen2")
    assert by_file and by_file == by_directory


def test_replay_of_one_ssd_csv_reads_the_export_beside_it(
    capsys: pytest.CaptureFixture[str], demo: Path, tmp_path: Path
) -> None:
    ssd_only = tmp_path / "ssd-only"
    ssd_only.mkdir()
    for csv_file in demo.glob("ssd_*.csv"):
        shutil.copy(csv_file, ssd_only)
    code, by_file = replay_json(capsys, demo / "ssd_send.csv")
    assert code == 0
    _, by_directory = replay_json(capsys, ssd_only)
    assert by_file and by_file == by_directory


def test_replay_of_a_health_csv_reads_it_with_its_mapping(
    capsys: pytest.CaptureFixture[str], demo: Path
) -> None:
    referrals = demo / "health_referrals.csv"
    code, out, _ = run(capsys, "replay", str(referrals), "--as-of", "2026-11-20")
    assert code == 0
    flags = [line for line in out.splitlines() if line.startswith("R-")]
    assert flags and all(line.startswith("R-WAIT ") for line in flags)  # referrals only


# --- ingest: the same rules (dry runs: no broker needed) ------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_ingest_of_a_missing_path_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    missing = tmp_path / "nope"
    code, out, err = run(capsys, "ingest", kind, str(missing), "--dry-run")
    assert code == 2
    assert f"casewatch ingest {kind}: {missing}: no such file or directory" in err
    assert out == ""


@pytest.mark.parametrize("kind", KINDS)
def test_ingest_of_an_empty_directory_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    code, out, err = run(capsys, "ingest", kind, str(tmp_path), "--dry-run")
    assert code == 2
    assert f"casewatch ingest {kind}: {tmp_path}: nothing to read: expected" in err
    assert out == ""


def test_ingest_of_an_export_with_no_readable_person_file_exits_2(
    capsys: pytest.CaptureFixture[str], copy: Path
) -> None:
    break_header(copy / "ssd_person.csv", "pers_dob")
    code, out, err = run(capsys, "ingest", "ssd", str(copy), "--dry-run")
    assert code == 2
    assert "ssd_person.csv pers_dob: the file was not read" in out
    assert "0 rows read, 0 rejected, 9 files not read" in out
    assert f"{copy}: nothing was read" in err


def test_ingest_of_a_partly_read_export_exits_1_with_the_count_on_stdout(
    capsys: pytest.CaptureFixture[str], copy: Path
) -> None:
    break_header(copy / "ssd_ehcp_requests.csv", "ehcr_ehcp_req_date")
    code, out, _ = run(capsys, "ingest", "export", str(copy), "--dry-run")
    assert code == 1
    assert ", 0 rejected, 5 files not read" in out.splitlines()[-1]


@pytest.mark.parametrize(
    ("kind", "name"),
    [("ssd", "ssd_send.csv"), ("export", "ssd_send.csv"), ("export", "sen2/sen2_return.xml")],
)
def test_ingest_reads_a_single_file(
    capsys: pytest.CaptureFixture[str], demo: Path, kind: str, name: str
) -> None:
    code, out, _ = run(capsys, "ingest", kind, str(demo / name), "--dry-run")
    assert code == 0, out
    read = int(out.splitlines()[-1].split(" rows read")[0])
    assert read > 0


def test_ingest_ssd_refuses_a_file_that_is_not_an_ssd_csv(
    capsys: pytest.CaptureFixture[str], demo: Path
) -> None:
    code, _, err = run(capsys, "ingest", "ssd", str(demo / "health_referrals.csv"), "--dry-run")
    assert code == 2
    assert "health_referrals.csv: not an SSD CSV (ssd_*.csv)" in err


def test_the_installed_command_exits_2_on_a_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "replay", str(missing)],
        capture_output=True,
        text=True,
        env={**os.environ, "CASEWATCH_DATA_DIR": str(tmp_path / "data")},
        timeout=60,
    )
    assert done.returncode == 2
    assert f"casewatch replay: {missing}: no such file or directory" in done.stderr
