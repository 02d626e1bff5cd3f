"""The digest through real channels on loopback: an SMTP server (aiosmtpd), a webhook that
fails before it answers, the outbox folder, and ``casewatch notify digest`` as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.alerts.config import AlertSettings
from services.alerts.domain.escalation import EscalationPolicy
from services.alerts.notify.send import Outbox, Smtp, Webhook, send_digests
from services.alerts.store.casework import Act
from services.alerts.store.store import AlertStore
from services.runtime.broker import free_port
from services.runtime.settings import Settings
from tests.unit.test_alert_store import flag

PERSON_KEYS = ["pk-child-notify-0000000001", "pk-child-notify-0000000002"]
CHILD_REFS = ["LL-REF-771", "LL-REF-772"]
OPENED = datetime(2026, 4, 2, 9, 30, tzinfo=UTC)


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]], list[int]]]:
    """A webhook that answers 503, then 429, then accepts."""
    received: list[dict[str, Any]] = []
    answers = [503, 429]
    statuses: list[int] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = answers.pop(0) if answers else 200
            statuses.append(status)
            if status == 200:
                received.append(json.loads(body))
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received, statuses
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    store = AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}")
    store.apply_many(
        [
            flag(n=1, at=OPENED, person_key=PERSON_KEYS[0], child_ref=CHILD_REFS[0]),
            flag(
                n=2,
                at=OPENED,
                person_key=PERSON_KEYS[1],
                child_ref=CHILD_REFS[1],
                rule_id="R-ISSUE-20W",
                subject="request:R2",
            ),
        ]
    )
    store.sweep(
        Act("casewatch", date(2026, 4, 8), datetime.now(UTC)),
        EscalationPolicy({"breach": 2}, {"north": "mgr-north"}),
    )
    yield store
    store.close()


def assert_names_no_child(text: str) -> None:
    for value in [*PERSON_KEYS, *CHILD_REFS, "plan:P1", "request:R2"]:
        assert value not in text


def test_digest_by_smtp_and_webhook(
    tmp_path: Path,
    store: AlertStore,
    smtp: tuple[int, Mailbox],
    webhook: tuple[str, list[dict[str, Any]], list[int]],
) -> None:
    port, mailbox = smtp
    url, received, statuses = webhook
    config = AlertSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        email_domain="council.test",
        email_addresses={"mgr-north": "north.manager@council.test"},
        team_managers={"north": "mgr-north"},
        webhook_url=url,
        webhook_backoff_seconds=0.01,
        public_url="https://casewatch.council.test",
    )
    settings = Settings(data_dir=tmp_path)
    report = send_digests(store, config, settings, [Smtp(config), Webhook(config)])
    assert (report.recipients, report.sent, report.failed) == (2, 4, 0)

    mail = {to[0]: message_from_bytes(body) for to, body in mailbox.messages}
    assert sorted(mail) == ["cw-ana@council.test", "north.manager@council.test"]
    ana = mail["cw-ana@council.test"]
    assert ana["Subject"] == "casewatch: 2 new alerts, 2 escalated"
    text = ana.get_payload(decode=True).decode()
    assert "Annual review overdue (R-AR-DUE): 1" in text
    assert "https://casewatch.council.test/inbox" in text
    assert statuses == [503, 429, 200, 200]  # retried, then delivered
    assert "*casewatch: 2 new alerts, 2 escalated*" in received[0]["text"]
    for _, body in mailbox.messages:
        assert_names_no_child(body.decode())
    assert_names_no_child(json.dumps(received))
    # Everything was delivered: the next digest has nothing to say.
    assert send_digests(store, config, settings, [Smtp(config)]).recipients == 0


def test_a_webhook_that_keeps_failing_leaves_the_digest_to_be_sent_again(
    tmp_path: Path,
    store: AlertStore,
    webhook: tuple[str, list[dict[str, Any]], list[int]],
) -> None:
    config = AlertSettings(
        webhook_url=f"http://127.0.0.1:{free_port()}/nobody-listens",
        webhook_attempts=3,
        webhook_backoff_seconds=0.01,
    )
    waits: list[float] = []
    channel = Webhook(config, sleep=waits.append)
    report = send_digests(store, config, Settings(data_dir=tmp_path), [channel])
    assert report.failed == report.recipients == 2  # cw-ana and mgr-north
    assert report.not_sent_to == ("cw-ana by webhook", "mgr-north by webhook")
    assert waits == [0.01, 0.02] * 2  # doubling backoff between the 3 attempts
    # The webhook is back (after a 503 and a 429): both digests go out, once.
    url, received, _ = webhook
    back = Webhook(config.model_copy(update={"webhook_url": url, "webhook_attempts": 4}))
    assert send_digests(store, config, Settings(data_dir=tmp_path), [back]).sent == 2
    assert len(received) == 2
    assert send_digests(store, config, Settings(data_dir=tmp_path), [back]).recipients == 0
    assert len(received) == 2


def test_casewatch_notify_digest_writes_the_outbox(tmp_path: Path, store: AlertStore) -> None:
    env = {
        **os.environ,
        "CASEWATCH_DATA_DIR": str(tmp_path),
        "CASEWATCH_ALERTS_TEAM_MANAGERS": '{"north": "mgr-north"}',
    }
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "notify", "digest"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest: 2 recipients, 2 messages sent, 0 failed" in result.stdout
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert [f.name.split("-digest-")[1] for f in files] == ["cw-ana.eml", "mgr-north.eml"]
    for path in files:
        assert_names_no_child(path.read_text())
    assert_names_no_child(result.stdout + result.stderr)
