"""What ingest remembers between runs: the facts it published per record, and identity links.

Exports are snapshots, not events: tonight's export restates yesterday's facts.  The state
file (SQLite, ``CASEWATCH_INGEST_STATE_PATH``, default ``data_dir/ingest/state.sqlite``)
keeps, per source system and source record, the ids of the events last published for it.
A run publishes only events whose id is not there (new or changed facts; ids are
deterministic), and reports records it published before that a later export no longer
holds: a deletion upstream is for a person to look at, never silently dropped.

Only scopes (tables, SEN2 modules) the run read in full are compared, so a file that was
not read never makes its records look deleted.  The state is written only after the
broker acknowledged every event (never on ``--dry-run``).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from schemas.events import Event
from services.ingest.issues import ExportReading, Issue
from services.runtime.files import private_file

# record keys of these scopes are case-system ids that may be quoted; the others hold
# person ids or references and are only counted
QUOTABLE = frozenset(
    {"ssd_send", "ssd_ehcp_requests", "ssd_ehcp_assessment", "ssd_ehcp_named_plan"}
    | {"ssd_ehcp_active_plans"}
)
EXAMPLES = 5
_NONE: frozenset[str] = frozenset()

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS published (source TEXT NOT NULL, record TEXT NOT NULL,"
    " event_id TEXT NOT NULL, PRIMARY KEY (source, record, event_id)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS links (digest TEXT PRIMARY KEY, person_key TEXT NOT NULL,"
    " kind TEXT NOT NULL) WITHOUT ROWID",
)


_INSERT_PUBLISHED = "INSERT OR IGNORE INTO published VALUES (?, ?, ?)"


def _link_rows(links: dict[str, tuple[str, str]]) -> Iterator[tuple[str, str, str]]:
    return ((digest, key, kind) for digest, (key, kind) in links.items())


@dataclass(frozen=True)
class Rest:
    """What is left to write of a run whose new facts a producer process wrote as it sent
    them (:meth:`IngestState.add_published`): the ids no longer true of records that
    changed, the records gone, and the identity links made.  (source, record, event id),
    (source, record) and (digest, person key, kind) rows."""

    stale: list[tuple[str, str, str]]
    dropped: list[tuple[str, str]]
    links: list[tuple[str, str, str]]


@dataclass
class Diff:
    """What a run publishes and what it reports, against the state of earlier runs."""

    fresh: list[Event]
    unchanged: int
    gone: list[Issue]
    seen: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # source: record: ids
    dropped: dict[str, list[str]] = field(default_factory=dict)  # source: records gone
    replaced: dict[str, list[str]] = field(default_factory=dict)  # source: records changed


class IngestState:
    """The state file. Use as a context manager; nothing is written until :meth:`commit`."""

    def __init__(self, path: Path, *, threads: bool = False) -> None:
        private_file(path)  # 0600 in a 0700 folder: it links identifiers to children
        self.path = path
        # threads: the API's worker threads share it, one at a time under the service's lock
        self._db = sqlite3.connect(path, check_same_thread=not threads)
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._db.commit()

    def links(self) -> dict[str, tuple[str, str]]:
        rows = self._db.execute("SELECT digest, person_key, kind FROM links")
        return {digest: (key, kind) for digest, key, kind in rows}

    def published(self, source: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        rows = self._db.execute(
            "SELECT record, event_id FROM published WHERE source = ?", (source,)
        )
        for record, event_id in rows:
            found[record].add(event_id)
        return found

    def diff(
        self, reading: ExportReading, loaded: dict[str, dict[str, set[str]]] | None = None
    ) -> Diff:
        """``loaded``: :meth:`published` of some sources, already read (unchanged since)."""
        sources = {source for source, _ in reading.records} | {
            e.source_system for e in reading.events
        }
        loaded = loaded or {}
        before = {  # what was loaded is not read again (a producer may be writing the file)
            source: loaded[source] if source in loaded else self.published(source)
            for source in sources
        }
        diff = Diff([], 0, [])
        fresh, unchanged = diff.fresh, 0
        for event in reading.events:  # ~100,000 of them: no allocation but the lists kept
            source, record, event_id = event.source_system, event.source_record_key, event.event_id
            records = diff.seen.get(source)
            if records is None:
                records = diff.seen[source] = {}
            ids = records.get(record)
            if ids is None:
                records[record] = [event_id]
            else:
                ids.append(event_id)
            if event_id in before[source].get(record, _NONE):
                unchanged += 1
            else:
                fresh.append(event)
        diff.unchanged = unchanged
        scopes: dict[str, dict[str, list[str]]] = {}  # source: scope: records published
        for source, known in before.items():
            grouped = scopes[source] = {}
            for record in known:
                grouped.setdefault(record.split(":", 1)[0], []).append(record)
        for (source, scope), keys in sorted(reading.records.items()):
            records = diff.seen.setdefault(source, {})
            for record in keys.difference(records):
                records[record] = []
            gone = sorted(r for r in scopes[source].get(scope, ()) if r not in keys)
            if gone:
                diff.dropped.setdefault(source, []).extend(gone)
                diff.gone.append(_gone_issue(source, scope, gone))
        for source, records in diff.seen.items():  # keep only what changed: less to write
            known = before[source]
            diff.seen[source] = {
                r: ids for r, ids in records.items() if set(ids) != known.get(r, _NONE)
            }
            diff.replaced[source] = [r for r in diff.seen[source] if r in known]
        return diff

    def commit(self, diff: Diff, links: dict[str, tuple[str, str]]) -> None:
        """Remember what a run published (call only once the broker acknowledged it)."""
        self.stage(diff, links)
        self.confirm()

    def stage(self, diff: Diff, links: dict[str, tuple[str, str]]) -> None:
        """Write what a run is publishing in a transaction left open: :meth:`confirm` it once
        the broker acknowledged every event, else :meth:`discard` it (closing the state
        without confirming discards it too).  The writing then overlaps the publishing."""
        try:
            for source, records in diff.seen.items():
                self._forget((source, r) for r in diff.replaced.get(source, ()))
                self.add_published(source, ((r, i) for r, ids in records.items() for i in ids))
            for source, gone in diff.dropped.items():
                self._forget((source, r) for r in gone)
            self._insert_links(_link_rows(links))
        except BaseException:
            self._db.rollback()
            raise

    @staticmethod
    def rest(
        diff: Diff, links: dict[str, tuple[str, str]], before: dict[str, dict[str, set[str]]]
    ) -> Rest:
        """What :meth:`stage` would write beyond the ids of the events sent (which
        :meth:`add_published` wrote as they were sent): ``before`` is what :meth:`published`
        gave for each source the diff compared."""
        stale = [
            (source, record, event_id)
            for source, records in diff.replaced.items()
            for record in records
            for event_id in sorted(before[source][record] - set(diff.seen[source][record]))
        ]
        dropped = [(source, r) for source, gone in diff.dropped.items() for r in gone]
        return Rest(stale, dropped, list(_link_rows(links)))

    def add_published(self, source: str, pairs: Iterable[tuple[str, str]]) -> None:
        """Remember (record, event id) pairs being published, in the open transaction."""
        self._db.executemany(
            _INSERT_PUBLISHED, ((source, record, event_id) for record, event_id in pairs)
        )

    def stage_rest(self, rest: Rest) -> None:
        """With :meth:`add_published` of every event sent, what :meth:`stage` writes."""
        try:
            self._db.executemany(
                "DELETE FROM published WHERE source = ? AND record = ? AND event_id = ?",
                rest.stale,
            )
            self._forget(rest.dropped)
            self._insert_links(rest.links)
        except BaseException:
            self._db.rollback()
            raise

    def confirm(self) -> None:
        self._db.commit()

    def discard(self) -> None:
        self._db.rollback()

    def save_links(self, links: dict[str, tuple[str, str]]) -> None:
        with self._db:
            self._insert_links(_link_rows(links))

    def _insert_links(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """(digest, person key, kind) rows."""
        self._db.executemany("INSERT OR IGNORE INTO links VALUES (?, ?, ?)", rows)

    def _forget(self, records: Iterable[tuple[str, str]]) -> None:
        """Every id of these (source, record)s."""
        self._db.executemany("DELETE FROM published WHERE source = ? AND record = ?", records)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> IngestState:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _gone_issue(source: str, scope: str, gone: list[str]) -> Issue:
    examples = ""
    if scope in QUOTABLE:
        shown = ", ".join(r.split(":", 1)[1] for r in gone[:EXAMPLES])
        examples = f" ({shown}{', …' if len(gone) > EXAMPLES else ''})"
    message = (
        f"{len(gone)} {scope} records published from {source} before are not in this "
        f"export{examples}: deleted upstream? Their facts stay on the journeys until a "
        "correction (a cease, a withdrawal) is exported"
    )
    return Issue(scope, None, None, "R-INGEST-GONE", message, "warning")
