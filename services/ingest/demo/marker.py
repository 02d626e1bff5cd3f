"""How ``casewatch ingest`` knows an export is ``casewatch demo-data``'s own output.

Only synthetic children may be keyed with the public development secret. The demo writes
``.casewatch-demo.json`` beside its files, listing each file it wrote with its SHA-256; an
export is the demo's if every file ingest would read is listed there with the same digest.
A real export with the marker copied in, or a demo file edited since, is not the demo's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

MARKER = ".casewatch-demo.json"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


Stats = dict[Path, tuple[int, int]]


def stats(out_dir: Path) -> Stats:
    """The files under ``out_dir`` now (taken before the demo writes, to tell its files from
    any that were there already)."""
    found = (p for p in out_dir.rglob("*") if p.is_file() and p.name != MARKER)
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in found}


def write_marker(out_dir: Path, before: Stats) -> None:
    """List every file under ``out_dir`` the demo wrote (new or changed since ``before``)."""
    written = sorted(p for p, stat in stats(out_dir).items() if before.get(p) != stat)
    listed = {p.relative_to(out_dir).as_posix(): _digest(p) for p in written}
    body = {"written_by": "casewatch demo-data", "files": listed}
    (out_dir / MARKER).write_text(json.dumps(body, indent=1) + "\n")


def is_demo_output(paths: Iterable[Path]) -> bool:
    """Whether every file at ``paths`` (files, or folders read whole) is a file the demo wrote
    and has not been changed since."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file() and p.name != MARKER]
        else:
            files.append(path)
    if not files:
        return False
    listings: dict[Path, dict[str, str]] = {}
    for file in files:
        found = _listed(file.resolve(), listings)
        if found is None or found != _digest(file):
            return False
    return True


def _listed(file: Path, listings: dict[Path, dict[str, str]]) -> str | None:
    """The digest the nearest marker above ``file`` (up to three folders) lists for it."""
    for folder in list(file.parents)[:3]:
        marker = folder / MARKER
        if folder not in listings:
            try:
                listings[folder] = json.loads(marker.read_text()).get("files", {})
            except (OSError, ValueError, AttributeError):
                listings[folder] = {}
        if listings[folder]:
            return listings[folder].get(file.relative_to(folder).as_posix())
    return None
