"""The 413/401 order measured on memory: the real servers (uvicorn, in a subprocess) are
offered a 300 MB body and their resident memory, read from /proc, stays flat.

Before the request edges (services/runtime/http.py) a 300 MB body with no token took the
ingest API from 76 to 690 MB and the alerts service from 154 to 769 MB.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from services.ingest.api.tokens import mint_token
from services.runtime.broker import free_port, wait_for_port

TOKEN_SECRET = "a-memory-test-secret-of-32-characters!!"
OFFERED = 300 * 1024 * 1024
CHUNK = b"x" * (1024 * 1024)
FLAT_MB = 40.0  # what the server may grow by while refusing (buffers, first-request imports)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@contextmanager
def serving(service: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = {
        **os.environ,
        "CASEWATCH_DATA_DIR": str(tmp_path / "data"),
        "CASEWATCH_PERSON_KEY_SECRET": "a-person-key-secret-for-the-memory-test",
        "CASEWATCH_INGEST_TOKEN_SECRET": TOKEN_SECRET,
        "CASEWATCH_INGEST_PORT": str(port),
        "CASEWATCH_ALERTS_PORT": str(port),
        "CASEWATCH_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",  # nothing is published
    }
    log = (tmp_path / f"{service}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", service],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        yield process, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def offer(port: int, path: str, headers: dict[str, str], *, declared: bool) -> tuple[int, int]:
    """POST up to 300 MB to ``path`` (with a Content-Length, or chunked): (status, bytes the
    server took before it answered and closed)."""
    framing = {"Content-Length": str(OFFERED)} if declared else {"Transfer-Encoding": "chunked"}
    kind = "application/x-www-form-urlencoded" if path == "/login" else "application/json"
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {kind}"]
    lines += [f"{k}: {v}" for k, v in {**headers, **framing}.items()]
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        s.settimeout(0.0)
        answer = b""
        try:
            while sent < OFFERED:
                chunk = CHUNK if declared else b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK)
                s.settimeout(30)
                s.sendall(chunk)
                sent += len(CHUNK)
                s.settimeout(0.0)
                try:
                    answer += s.recv(65536)
                except BlockingIOError:
                    continue
                if b"\r\n\r\n" in answer:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection: it will not read the rest
        s.settimeout(30)
        try:
            while b"\r\n\r\n" not in answer:
                more = s.recv(65536)
                if not more:
                    break
                answer += more
        except ConnectionResetError:
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1") else 0
    return status, sent


def settle(pid: int) -> float:
    """RSS once it stopped moving (polled with a deadline, not a fixed sleep)."""
    deadline, last = time.monotonic() + 10, rss_mb(pid)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = rss_mb(pid)
        if abs(now - last) < 0.5:
            return now
        last = now
    return last


@pytest.mark.integration
def test_the_ingest_api_refuses_300_mb_without_reading_it(tmp_path: Path) -> None:
    token = mint_token(TOKEN_SECRET, subject="m", sources=["*"], audience="casewatch-ingest")
    with serving("ingest", tmp_path) as (process, port):
        path = "/v1/sources/health/events/batch"
        offer(port, path, {}, declared=True)  # warm up: first-request imports are not a leak
        before = settle(process.pid)
        peak = before
        for headers, declared, expected in (
            ({}, True, 401),  # no token: refused before the body
            ({}, False, 401),
            ({"Authorization": "Bearer forged"}, True, 401),
            ({"Authorization": f"Bearer {token}"}, True, 413),  # declared too large: unread
            ({"Authorization": f"Bearer {token}"}, False, 413),  # chunked: counted, cut at 4 MiB
        ):
            status, taken = offer(port, path, headers, declared=declared)
            peak = max(peak, rss_mb(process.pid))
            assert status == expected, (headers, declared, status)
            assert taken < OFFERED  # the connection was closed long before 300 MB
        after = settle(process.pid)
        assert process.poll() is None
    print(f"ingest API RSS: {before:.0f} MB before, {peak:.0f} MB peak, {after:.0f} MB after")
    assert peak - before < FLAT_MB and after - before < FLAT_MB


@pytest.mark.integration
def test_the_alerts_service_refuses_300_mb_without_reading_it(tmp_path: Path) -> None:
    with serving("alerts", tmp_path) as (process, port):
        offer(port, "/alerts/x/acknowledge", {}, declared=True)
        before = settle(process.pid)
        peak = before
        for path, declared, expected in (
            ("/alerts/x/acknowledge", True, 401),  # no credentials: refused before the body
            ("/alerts/x/acknowledge", False, 401),
            ("/login", True, 413),  # public: limited, refused unread
            ("/login", False, 413),
        ):
            status, taken = offer(port, path, {}, declared=declared)
            peak = max(peak, rss_mb(process.pid))
            assert status == expected, (path, declared, status)
            assert taken < OFFERED
        after = settle(process.pid)
        assert process.poll() is None
    print(f"alerts RSS: {before:.0f} MB before, {peak:.0f} MB peak, {after:.0f} MB after")
    assert peak - before < FLAT_MB and after - before < FLAT_MB
