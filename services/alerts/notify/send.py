"""Sending the digest: email (over SMTP, or into the outbox folder in the embedded default)
and a Teams/Slack-style webhook, retried with backoff.

Delivery is at least once: the digest run is recorded only when every message went out, so
a failed run is repeated whole by the next one (someone may hear twice; nobody misses out).
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from services.alerts.config import AlertSettings
from services.alerts.notify.digest import Digest, digests_from
from services.alerts.store.store import AlertStore
from services.runtime.files import write_private
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

OUTBOX = "outbox"
NO_ADDRESS_DOMAIN = "casewatch.invalid"
TIMEOUT_S = 10.0
RETRY_AFTER_CAP_S = 30.0


class NotSent(Exception):
    """A message could not be delivered (after any retries)."""


class Channel(Protocol):
    name: str

    def send(self, digest: Digest) -> None: ...


@dataclass(frozen=True)
class DigestReport:
    recipients: int
    sent: int
    failed: int


def address_of(config: AlertSettings, recipient: str) -> str | None:
    if recipient in config.email_addresses:
        return config.email_addresses[recipient]
    return f"{recipient}@{config.email_domain}" if config.email_domain else None


def email_of(digest: Digest, sender: str, to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, digest.subject
    message.set_content(digest.text())
    return message


class Outbox:
    """The embedded default: each email is an ``.eml`` file under ``data_dir/outbox``."""

    name = "outbox"

    def __init__(self, config: AlertSettings, folder: Path) -> None:
        self.config, self.folder = config, folder

    def send(self, digest: Digest) -> None:
        to = address_of(self.config, digest.recipient)
        to = to or f"{digest.recipient}@{NO_ADDRESS_DOMAIN}"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-digest-{re.sub(r'[^A-Za-z0-9_.-]', '_', digest.recipient)}.eml"
        write_private(self.folder / name, bytes(email_of(digest, self.config.mail_from, to)))


class Smtp:
    name = "smtp"

    def __init__(self, config: AlertSettings) -> None:
        self.config = config

    def send(self, digest: Digest) -> None:
        config = self.config
        to = address_of(config, digest.recipient)
        if to is None:
            raise NotSent("no email address is configured for a recipient")
        try:
            with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=TIMEOUT_S) as smtp:
                if config.smtp_starttls:
                    smtp.starttls()
                if config.smtp_username:
                    smtp.login(config.smtp_username, config.smtp_password.get_secret_value())
                smtp.send_message(email_of(digest, config.mail_from, to))
        except (OSError, smtplib.SMTPException) as exc:
            raise NotSent(type(exc).__name__) from exc


class Webhook:
    """Posts ``{"text": …}`` (what Slack and Teams incoming webhooks take); retries a
    connection failure, a 5xx or a 429 with doubling backoff, and gives up on other 4xx."""

    name = "webhook"

    def __init__(self, config: AlertSettings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config, self.sleep = config, sleep

    def send(self, digest: Digest) -> None:
        body = json.dumps({"text": f"*{digest.subject}*\n{digest.text()}"}).encode()
        backoff = self.config.webhook_backoff_seconds
        for attempt in range(1, self.config.webhook_attempts + 1):
            wait = self._attempt(body)
            if wait is None:
                return
            if attempt == self.config.webhook_attempts:
                break
            self.sleep(max(backoff, wait))
            backoff *= 2
        raise NotSent(f"webhook failed {self.config.webhook_attempts} times")

    def _attempt(self, body: bytes) -> float | None:
        """None when delivered; else how long the server asked us to wait (0: no opinion)."""
        request = urllib.request.Request(
            self.config.webhook_url,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S):
                return None
        except urllib.error.HTTPError as exc:
            if exc.code != 429 and exc.code < 500:
                raise NotSent(f"webhook refused the message (HTTP {exc.code})") from exc
            log.warning("webhook answered HTTP %d", exc.code)
            return min(_seconds(exc.headers.get("Retry-After")), RETRY_AFTER_CAP_S)
        except OSError as exc:
            log.warning("webhook not reachable (%s)", type(exc).__name__)
            return 0.0


def channels_for(config: AlertSettings, settings: Settings) -> list[Channel]:
    email: Channel = (
        Smtp(config) if config.smtp_host else Outbox(config, settings.data_dir / OUTBOX)
    )
    return [email, Webhook(config)] if config.webhook_url else [email]


def send_digests(
    store: AlertStore,
    config: AlertSettings,
    settings: Settings,
    channels: Sequence[Channel] | None = None,
) -> DigestReport:
    newest, activity = store.activity_since_last_digest()
    digests = digests_from(activity, config.inbox_url(settings), config.team_managers)
    channels = channels if channels is not None else channels_for(config, settings)
    sent = failed = 0
    for digest in digests:
        for channel in channels:
            try:
                channel.send(digest)
                sent += 1
            except NotSent as exc:
                failed += 1
                log.error("digest not sent by %s: %s", channel.name, exc)
    if not failed:
        store.record_digest(newest, recipients=len(digests))
    log.info("digest: %d recipients, %d sent, %d failed", len(digests), sent, failed)
    return DigestReport(len(digests), sent, failed)


def _seconds(header: str | None) -> float:
    try:
        return float(header) if header else 0.0
    except ValueError:
        return 0.0
