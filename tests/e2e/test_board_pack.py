"""The partnership board pack for the demo authority, end to end: the real CLI writes the HTML
and Chromium prints the PDF; every figure the pack shows equals what
``casewatch replay --measures`` prints for the same period and date (or is suppressed, and
then only as the suppression rules allow); no child's identifier is anywhere in it; the PDF
is A4 and its pages are turned into PNGs for a person to look at (tests/e2e/artifacts/)."""

from __future__ import annotations

import csv
import itertools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from services.cli import main as casewatch
from services.ingest.demo.authority import write_demo_export
from services.journeys.board.figures import month_end_dates, months_of
from services.journeys.board.suppress import FEWER, SECONDARY, count, primary, rate

TODAY = date(2026, 11, 20)  # the demo is dated relative to this day
MONTH = "2026-10"
AS_OF = date(2026, 10, 31)
ARTIFACTS = Path(__file__).parent / "artifacts"


class Cells(HTMLParser):
    """``data-figure`` → the text of its cell (and whether it is marked suppressed)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, tuple[str, bool]] = {}
        self._open: tuple[str, bool] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "td" and a.get("data-figure"):
            self._open = (str(a["data-figure"]), a.get("class") == "suppressed")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._open:
            self.found[self._open[0]] = ("".join(self._text).strip(), self._open[1])
            self._open = None


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("board")
    export = root / "export"
    write_demo_export(export, children=200, seed=7, today=TODAY)
    out = root / "out"
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "report", "board", "--month", MONTH,
         "--export", str(export), "--out", str(out), "--today", TODAY.isoformat(),
         "--authority", "Demo borough"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"board-{MONTH}.html" in done.stdout
    yield export, out


def measures(export: Path, tmp: Path, as_of: date, *period: str) -> dict[str, object]:
    """``casewatch replay EXPORT --measures --format json`` (the CLI's own entry point)."""
    target = tmp / f"m-{as_of}-{'-'.join(period)}.json"
    argv = ["replay", str(export), "--measures", "--format", "json"]
    assert casewatch([*argv, "--as-of", as_of.isoformat(), *period, "--out", str(target)]) == 0
    loaded: dict[str, object] = json.loads(target.read_text())
    return loaded


def series_sum(m: dict[str, object], name: str, **labels: str) -> int:
    return sum(
        int(s["value"])
        for s in m["series"]  # type: ignore[attr-defined]
        if s["name"] == name and all(s["labels"].get(k) == v for k, v in labels.items())
    )


def check(cells: dict[str, tuple[str, bool]], figure: str, value: int, *, secondary: bool) -> None:
    """A shown cell says the true value; a small one is hidden; a hidden larger one only
    where a table's totals call for secondary suppression."""
    text, hidden = cells.pop(figure)
    if primary(value):
        assert hidden and text == FEWER, f"{figure}: {value} shown as {text}"
    elif hidden:
        assert secondary, f"{figure}: {value} hidden without reason"
        assert text == SECONDARY, f"{figure}: {value} hidden as {text}"
    else:
        assert text == count(value).text, f"{figure}: shows {text}, replay says {value}"


def test_every_figure_is_the_measures_figure(pack: tuple[Path, Path], tmp_path: Path) -> None:
    export, out = pack
    parser = Cells()
    parser.feed((out / f"board-{MONTH}.html").read_text())
    cells = dict(parser.found)
    assert len(cells) > 150
    # SEN2: the year to date at each month end, this year and last, and each year's total
    for year in (AS_OF.year, AS_OF.year - 1):
        until = min(AS_OF, date(year, 12, 31))
        ends = [(f"{first:%Y-%m}", min(last, until)) for first, last in months_of(year, until)]
        for slug, end in [*ends, (str(year), until)]:
            m = measures(export, tmp_path, AS_OF, "--from", f"{year}-01-01", "--to", str(end))
            for figure in ("twenty_weeks", "twenty_weeks_excluding_exceptions", "six_weeks"):
                f = m["sen2"][figure]  # type: ignore[index]
                n, d = int(f["numerator"]), int(f["denominator"])
                check(cells, f"sen2.{figure}.numerator.{slug}", n, secondary=False)
                check(cells, f"sen2.{figure}.denominator.{slug}", d, secondary=False)
                text, hidden = cells.pop(f"sen2.{figure}.rate.{slug}")
                assert text == rate(n, d).text and hidden == rate(n, d).suppressed
    now = measures(export, tmp_path, AS_OF)
    # overdue reviews by band, their total, and the month-end trend
    overdue = "casewatch_reviews_overdue"
    for band in ("0-4w", "4-12w", "12-26w", "26-52w", "52w+"):
        check(cells, f"overdue.band.{band}", series_sum(now, overdue, band=band), secondary=True)
    check(cells, "overdue.total", series_sum(now, overdue), secondary=True)
    for end in month_end_dates(AS_OF):
        then = measures(export, tmp_path, end)
        check(cells, f"overdue.trend.{end.isoformat()}", series_sum(then, overdue), secondary=False)
    # waits per service
    for service, w in now["waits_open"].items():  # type: ignore[attr-defined]
        check(cells, f"waits.{service}.waiting", w["waiting"], secondary=False)
        check(cells, f"waits.{service}.past_standard", w["past_standard"], secondary=False)
        for kind in ("median_days", "longest_days"):
            text, hidden = cells.pop(f"waits.{service}.{kind}")
            if primary(w["waiting"]):
                assert hidden
            elif w[kind] is not None:
                assert text == f"{w[kind]:.0f} days"
    # transition cohorts, and children with no caseworker
    cohort = "casewatch_transition_cohort"
    phases = {k.split(".")[1] for k in cells if k.startswith("cohorts.")}
    assert "year9-pfa" in phases and "primary-secondary" in phases
    for phase in phases:
        for status in ("done", "due", "overdue"):
            n = series_sum(now, cohort, phase=phase, status=status)
            check(cells, f"cohorts.{phase}.{status}", n, secondary=True)
        check(cells, f"cohorts.{phase}.total", series_sum(now, cohort, phase=phase), secondary=True)
    unallocated = "casewatch_children_unallocated"
    teams = [
        k.split(".", 1)[1] for k in cells if k.startswith("unallocated.") and k[12:] != "total"
    ]
    for team in teams:
        check(cells, f"unallocated.{team}", series_sum(now, unallocated, team=team), secondary=True)
    check(cells, "unallocated.total", series_sum(now, unallocated), secondary=True)
    # what is left is the data-quality page: counts of records, from the reading itself
    assert cells and all(k.startswith("quality.") for k in cells), sorted(cells)


def identifiers(export: Path) -> set[str]:
    """Every value in the demo export that points at a child."""
    found: set[str] = set()
    with open(export / "ssd_person.csv", newline="") as f:
        for row in csv.DictReader(f):
            found |= {row["pers_person_id"], row["pers_upn"], row["pers_dob"]}
            found |= {row["pers_single_unique_id"], f"{row['pers_forename']} {row['pers_surname']}"}
    for table, column in (
        ("ssd_ehcp_named_plan.csv", "ehcn_named_plan_id"),
        ("ssd_ehcp_requests.csv", "ehcr_ehcp_request_id"),
        ("health_referrals.csv", "Referral Ref"),
        ("health_referrals.csv", "NHS Number"),
    ):
        with open(export / table, newline="") as f:
            found |= {row[column] for row in csv.DictReader(f)}
    for xml in export.rglob("*.xml"):
        found |= set(re.findall(r"<(?:UPN|ULN)>([^<]+)</", xml.read_text()))
    return {v.strip() for v in found if v and v.strip()}


def test_no_child_can_be_found_in_the_html_or_the_pdf(pack: tuple[Path, Path]) -> None:
    export, out = pack
    html = (out / f"board-{MONTH}.html").read_text()
    pdf_text = subprocess.run(
        ["pdftotext", "-layout", str(out / f"board-{MONTH}.pdf"), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Annual reviews overdue" in pdf_text and "fewer than 5" in pdf_text
    ids = identifiers(export)
    assert len(ids) > 600
    for text, where in ((html, "HTML"), (pdf_text, "PDF")):
        leaked = sorted(v for v in ids if re.search(rf"(?<![\w-]){re.escape(v)}(?![\w-])", text))
        assert not leaked, f"{where} names children: {leaked[:5]}"


def test_the_pdf_is_a4_with_a_cover_and_its_pages_are_kept(pack: tuple[Path, Path]) -> None:
    _, out = pack
    pdf = out / f"board-{MONTH}.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"Page size:\s+59[45]\.\d+ x 84[12]\.\d+ pts \(A4\)", info.stdout), info.stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    assert pages >= 7  # the cover and a page per section at least
    cover = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    assert "SEND partnership board" in cover and "October 2026" in cover
    assert "Demo borough" in cover and "Rule pack england-2026.1" in cover
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("board-page-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(pdf), str(ARTIFACTS / "board-page")], check=True
    )
    assert len(list(ARTIFACTS.glob("board-page-*.png"))) == pages
    shutil.copy(out / f"board-{MONTH}.html", ARTIFACTS / "board.html")


def test_a_month_not_yet_begun_or_an_empty_export_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for args, says in (
        (["--month", "2027-01", "--export", str(tmp_path / "empty")], "has not begun"),
        (["--month", "2026-13", "--export", str(tmp_path / "empty")], "expected YYYY-MM"),
        (["--year", "2026", "--export", str(tmp_path / "missing")], "no such export"),
        (["--year", "2026", "--export", str(tmp_path / "empty")], "no events read"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", "report", "board", *args, "--out",
             str(tmp_path / "out"), "--today", TODAY.isoformat()],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert says in done.stderr
        assert not list((tmp_path / "out").glob("board-*")) if (tmp_path / "out").exists() else True


def test_month_end_dates_run_back_a_year() -> None:
    ends = month_end_dates(date(2024, 3, 15))
    assert ends[0] == date(2023, 4, 30) and ends[-2] == date(2024, 2, 29)
    assert ends[-1] == date(2024, 3, 15) and len(ends) == 12
    assert all(b - a < timedelta(days=32) for a, b in itertools.pairwise(ends))
