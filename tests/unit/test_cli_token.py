"""``casewatch token`` signs with the key the inbox will accept, or says it cannot.

Run beside a ``casewatch up`` (found through ``var/up/stack.json``: its process is alive and
its inbox port listening) it signs with that stack's key; with no stack and no key it refuses
(exit 2) rather than making a key nobody accepts; ``CASEWATCH_DATA_DIR`` names the key.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from services.alerts.web.auth import SIGNING_KEY_FILE, local_signing_key
from services.cli import main


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory like a fresh clone: no CASEWATCH_DATA_DIR, data under ./var."""
    monkeypatch.delenv("CASEWATCH_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def inbox_port() -> Iterator[int]:
    """A listening loopback port, standing in for the stack's alerts service."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


def stack_file(home: Path, pid: int, port: int) -> None:
    home.mkdir(parents=True)
    body = {"pid": pid, "alerts_port": port, "broker": "127.0.0.1:1"}
    (home / "stack.json").write_text(json.dumps(body), encoding="utf-8")


def signed_by(token: str, data_dir: Path) -> bool:
    key = local_signing_key(data_dir)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    try:
        jwt.decode(token, key.public_key(), algorithms=["ES256"], options={"verify_aud": False})
    except jwt.InvalidSignatureError:
        return False
    return True


def token(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["token", "--role", "caseworker", "--sub", "cw-02", *extra])
    out, err = capsys.readouterr()
    return code, out.strip(), err


def test_with_no_stack_and_no_key_it_refuses_and_says_how(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = token(capsys)
    assert code == 2 and out == ""
    assert f"no running `casewatch up` in {repo / 'var' / 'up'}" in err
    assert "set CASEWATCH_DATA_DIR" in err
    assert not (repo / "var" / SIGNING_KEY_FILE).exists()  # no key made that nobody accepts


def test_beside_a_running_stack_it_signs_with_the_stacks_key(
    repo: Path, capsys: pytest.CaptureFixture[str], inbox_port: int
) -> None:
    home = repo / "var" / "up"
    stack_file(home, os.getpid(), inbox_port)
    code, minted, err = token(capsys, "--link")
    assert code == 0
    assert f"signed for the casewatch up running in {home}" in err
    assert minted.startswith(f"http://127.0.0.1:{inbox_port}/login?token=")
    assert signed_by(minted.split("token=", 1)[1], home)
    assert not (repo / "var" / SIGNING_KEY_FILE).exists()


def test_a_stale_stack_file_is_not_a_running_stack(
    repo: Path, capsys: pytest.CaptureFixture[str], inbox_port: int
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = int(unused.getsockname()[1])
    stack_file(repo / "var" / "up", os.getpid(), closed_port)  # nothing listens there
    code, _, err = token(capsys)
    assert code == 2
    assert "no running `casewatch up`" in err


def test_a_data_dir_given_is_used(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEWATCH_DATA_DIR", str(repo / "alerts-data"))
    code, minted, _ = token(capsys)
    assert code == 0
    assert signed_by(minted, repo / "alerts-data")


def test_a_serve_alerts_key_in_var_is_used(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local_signing_key(repo / "var")  # `casewatch serve alerts` made it
    code, minted, _ = token(capsys)
    assert code == 0
    assert signed_by(minted, repo / "var")
