"""The digest through real channels on loopback: an SMTP server (aiosmtpd), a webhook that
fails before it answers, the outbox folder, and ``casewatch notify digest`` as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
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
from services.alerts.notify.send import Smtp, Webhook, send_digests
from services.alerts.store.casework import Act
from services.alerts.store.store import AlertStore
from services.runtime.broker import free_port
from services.runtime.roster import Member, load_roster, write_roster
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


class Refusing(Mailbox):
    """A mail server that refuses some addresses (mailbox unavailable) until told not to."""

    def __init__(self, refused: set[str]) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_one_poisoned_recipient_stops_nobody_and_nobody_hears_twice(tmp_path: Path) -> None:
    """The adversarial run: a caseworker id with CR/LF made every digest exit 1, cw-01 to
    cw-08 received nothing, and the recipient sorted before the bad id got a duplicate each
    run. Now: a bad owner never reaches a digest, and a recipient whose mail is refused is
    retried alone, run after run, while everyone else is served exactly once."""
    roster = tmp_path / "roster.csv"
    people = [
        Member(f"cw-{n:02d}", "north" if n <= 4 else "south", "caseworker") for n in range(1, 9)
    ]
    write_roster(roster, [*people, Member("mgr-north", "north", "manager")])
    store = AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}", load_roster(roster))
    for n, person in enumerate(people, start=1):
        store.apply(flag(n=n, at=OPENED, person_key=f"pk-poison-{n:04d}", caseworker_id=person.id))
    hostile = "cw-09\r\nBcc: everyone@evil.test"  # accepted by the API, 202
    store.apply(flag(n=9, at=OPENED, person_key="pk-poison-0009", caseworker_id=hostile))

    mailbox = Refusing({"cw-05@council.test"})
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    env = {
        **os.environ,
        "CASEWATCH_DATA_DIR": str(tmp_path),
        "CASEWATCH_ROSTER_FILE": str(roster),
        "CASEWATCH_ALERTS_SMTP_HOST": "127.0.0.1",
        "CASEWATCH_ALERTS_SMTP_PORT": str(port),
        "CASEWATCH_ALERTS_EMAIL_DOMAIN": "council.test",
    }

    def digest() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", "notify", "digest"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def received() -> Counter[str]:
        return Counter(to[0] for to, _ in mailbox.messages)

    try:
        first = digest()
        assert first.returncode == 1, first.stdout + first.stderr
        assert "digest: 9 recipients, 8 messages sent, 1 failed" in first.stdout
        assert "not sent (sent again by the next run): cw-05 by smtp" in first.stdout
        good = {f"cw-{n:02d}@council.test": 1 for n in (1, 2, 3, 4, 6, 7, 8)}
        assert received() == {**good, "mgr-north@council.test": 1}  # the hostile id's queue
        assert "SMTPRecipientsRefused" in first.stderr  # logged: the kind of failure,
        assert "cw-05" not in first.stderr  # not who (the report on stdout says that)
        for text in (first.stderr, *[body.decode() for _, body in mailbox.messages]):
            assert "evil" not in text and "Bcc" not in text

        again = digest()  # nothing new; cw-05 still refused: retried alone
        assert again.returncode == 1
        assert "digest: 1 recipients, 0 messages sent, 1 failed" in again.stdout
        assert received() == {**good, "mgr-north@council.test": 1}
        mark = store.digest_window().marks[("cw-05", "smtp")]
        assert (mark.failures, mark.last_error) == (2, "SMTPRecipientsRefused")

        store.apply(flag(n=20, at=OPENED, person_key="pk-poison-0020", caseworker_id="cw-01"))
        mailbox.refused.clear()  # cw-05's mailbox works again
        mended = digest()
        assert mended.returncode == 0, mended.stdout + mended.stderr
        assert "digest: 2 recipients, 2 messages sent, 0 failed" in mended.stdout
        counts = received()
        assert counts["cw-05@council.test"] == 1 and counts["cw-01@council.test"] == 2
        assert sum(counts.values()) == 8 + 2
        newest = [message_from_bytes(body) for _, body in mailbox.messages[-2:]]
        assert {m["To"]: m["Subject"] for m in newest} == {
            "cw-01@council.test": "casewatch: 1 new alert",  # only what is new since run 1
            "cw-05@council.test": "casewatch: 1 new alert",  # what it missed, once
        }

        quiet = digest()
        assert quiet.returncode == 0
        assert "digest: 0 recipients, 0 messages sent, 0 failed" in quiet.stdout
        assert sum(received().values()) == 10
    finally:
        controller.stop()
        store.close()
