"""The state a producer process keeps while it sends (``add_published`` of each event sent,
then ``stage_rest``) is the state the runner writes itself (``stage``), run after run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from services.ingest.linking import IdentityLinker
from services.ingest.ssd.adapter import read_ssd_export
from services.ingest.state import IngestState
from tests.unit.test_ssd_adapter import EXTRACTED, SECRET, clean_export, write_export

SOURCE = "liquidlogic"


def rows(path: Path) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    with sqlite3.connect(path) as db:
        published = db.execute("SELECT * FROM published ORDER BY 1, 2, 3").fetchall()
        links = db.execute("SELECT * FROM links ORDER BY 1").fetchall()
    return published, links


def run(path: Path, export: Path, by_producer: bool) -> int:
    """One run against the state at ``path``: the runner's way or the producer's way.
    Returns how many events it would publish."""
    with IngestState(path) as state:
        linker = IdentityLinker(SECRET, links=state.links())
        before = {SOURCE: state.published(SOURCE)}
        reading = read_ssd_export(export, secret=SECRET, extracted_at=EXTRACTED, linker=linker)
        diff = state.diff(reading, before)
        if by_producer:
            state.add_published(SOURCE, [(e.source_record_key, e.event_id) for e in diff.fresh])
            state.stage_rest(IngestState.rest(diff, linker.added, before))
        else:
            state.stage(diff, linker.added)
        state.confirm()
        return len(diff.fresh)


def exports(tmp_path: Path) -> list[Path]:
    """An export, then: R1's decision changes (a record replaced), R2 disappears (a record
    dropped) and a child arrives; R1's decision is withdrawn (a record's ids shrink, nothing
    new); the same again (nothing at all); R2 comes back."""
    first = clean_export()
    changed = clean_export()
    changed["ssd_ehcp_requests"] = [first["ssd_ehcp_requests"][0], "R1,S1,2023-01-10,2023-02-15,N"]
    changed["ssd_person"] = [*first["ssd_person"], "1003,Cy,Third,B123456789012,2017-01-02,,"]
    withdrawn = dict(changed)
    withdrawn["ssd_ehcp_requests"] = [first["ssd_ehcp_requests"][0], "R1,S1,2023-01-10,,"]
    back = dict(withdrawn)
    back["ssd_ehcp_requests"] = [*withdrawn["ssd_ehcp_requests"], "R2,S2,2025-03-01,,"]
    paths = []
    for number, tables in enumerate((first, changed, withdrawn, withdrawn, back)):
        directory = tmp_path / f"export{number}"
        directory.mkdir()
        paths.append(write_export(directory, tables))
    return paths


def test_the_producers_state_is_the_runners_run_after_run(tmp_path: Path) -> None:
    by_runner, by_producer = tmp_path / "runner.sqlite", tmp_path / "producer.sqlite"
    published = []
    for export in exports(tmp_path):
        fresh = run(by_runner, export, by_producer=False)
        assert run(by_producer, export, by_producer=True) == fresh
        assert rows(by_producer) == rows(by_runner)
        published.append(fresh)
    assert published[0] > 0 and published[1] > 0  # the test changes what it says it changes
    assert published[2:4] == [0, 0]  # a withdrawn decision adds no fact; a repeat adds nothing
    assert published[4] == 1  # R2 again: its request


def test_a_record_whose_ids_shrink_keeps_only_the_ids_it_has(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    paths = exports(tmp_path)
    run(path, paths[1], by_producer=True)
    r1 = {r for r in rows(path)[0] if r[1] == "ssd_ehcp_requests:R1"}
    assert len(r1) == 2  # requested, decided
    run(path, paths[2], by_producer=True)
    assert {r for r in rows(path)[0] if r[1] == "ssd_ehcp_requests:R1"} < r1


@pytest.mark.parametrize("by_producer", [False, True])
def test_nothing_is_kept_until_confirmed(tmp_path: Path, by_producer: bool) -> None:
    path = tmp_path / "state.sqlite"
    export = exports(tmp_path)[0]
    with IngestState(path) as state:
        linker = IdentityLinker(SECRET)
        reading = read_ssd_export(export, secret=SECRET, extracted_at=EXTRACTED, linker=linker)
        diff = state.diff(reading, {SOURCE: {}})
        if by_producer:
            state.add_published(SOURCE, [(e.source_record_key, e.event_id) for e in diff.fresh])
            state.stage_rest(IngestState.rest(diff, linker.added, {SOURCE: {}}))
        else:
            state.stage(diff, linker.added)
        state.discard()
    assert rows(path) == ([], [])
