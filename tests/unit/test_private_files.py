"""Data files and folders are the service account's alone: 0600 files in 0700 folders."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from services.alerts.config import AlertSettings
from services.alerts.notify.digest import Digest
from services.alerts.notify.send import Outbox
from services.alerts.store.store import AlertStore
from services.alerts.web.auth import local_csrf_key, local_signing_key
from services.ingest.state import IngestState
from services.runtime.files import private_dir
from tests.unit.test_alert_store import flag


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> object:
    """The usual umask, under which files came out 0644 and folders 0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_alert_store_is_private_with_its_journal(tmp_path: Path) -> None:
    db = tmp_path / "data" / "alerts.db"
    store = AlertStore(f"sqlite:///{db}")
    store.apply_many([flag(n=1)])
    siblings = [p for p in db.parent.iterdir() if p.name.startswith("alerts.db")]
    assert {mode(p) for p in siblings} == {0o600}, {p.name: oct(mode(p)) for p in siblings}
    assert mode(db.parent) == 0o700
    store.close()


def test_the_ingest_state_is_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "ingest" / "state.sqlite"
    with IngestState(path) as state:
        state.save_links({"d" * 40: ("pk-1", "nhs")})
    assert mode(path) == 0o600
    assert mode(path.parent) == mode(path.parent.parent) == 0o700


def test_outbox_emails_are_private(tmp_path: Path) -> None:
    outbox = tmp_path / "data" / "outbox"
    Outbox(AlertSettings(), outbox).send(Digest("cw-01", {"R-AR-DUE": 2}, {}, "http://x/"))
    (email,) = outbox.iterdir()
    assert email.suffix == ".eml" and mode(email) == 0o600
    assert mode(outbox) == 0o700


def test_keys_are_private(tmp_path: Path) -> None:
    local_signing_key(tmp_path / "data")
    local_csrf_key(tmp_path / "data")
    files = list((tmp_path / "data").rglob("*"))
    assert files and {mode(p) for p in files if p.is_file()} == {0o600}
    assert {mode(p) for p in files if p.is_dir()} <= {0o700}


def test_an_existing_folder_is_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "volume"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    private_dir(shared / "casewatch")
    assert mode(shared) == 0o755 and mode(shared / "casewatch") == 0o700
