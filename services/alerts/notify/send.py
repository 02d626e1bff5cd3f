"""Sending the digest: email (over SMTP, or into the outbox folder in the embedded default)
and a Teams/Slack-style webhook, retried with backoff.

Each person's digest is built and sent on each channel on its own: whatever goes wrong for
one (a refused address, a server error, a value that cannot be a mail header) is logged
without data, recorded against that person and channel (``AlertStore.mark_failed``), and
sent again by the next run; everyone else is served and marked (``mark_delivered``), so a
rerun never sends them the same digest twice. Only people on the roster are sent anything.
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from services.alerts.config import AlertSettings
from services.alerts.notify.digest import Digest, Heard, digest_of, heard_by
from services.alerts.store.store import AlertStore, DigestMark, DigestWindow
from services.journeys.domain.pack import RuleGuidance
from services.runtime.roster import well_formed
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
    recipients: int  # people with a digest to send on some channel
    sent: int  # messages (a person on a channel)
    failed: int  # messages not sent: retried by the next run
    not_sent_to: tuple[str, ...] = ()  # "recipient by channel", roster ids only
    refused: int = 0  # people who are no well-formed roster id: never sent anything


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
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-digest-{re.sub(r'[^A-Za-z0-9_.-]', '_', digest.recipient)}.eml"
        (self.folder / name).write_bytes(bytes(email_of(digest, self.config.mail_from, to)))


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
    """Send each person, on each channel, what is new or escalated since they were last
    sent a digest there (or since the last run, for someone never sent one)."""
    window = store.digest_window()
    pending = [m.pending_since for m in window.marks.values() if m.pending_since is not None]
    activity = store.activity_between(min([window.baseline, *pending]), window.newest)
    managers = config.managers(store.roster)
    heard = heard_by(activity, managers)
    people = set(heard) | {
        m.recipient for m in window.marks.values() if m.pending_since is not None
    }
    channels = channels if channels is not None else channels_for(config, settings)
    inbox, leads = config.inbox_url(settings), set(managers.values())
    guidance = settings.load_rule_pack().guidance
    recipients = sent = failed = refused = 0
    not_sent: list[str] = []
    for person in sorted(people):
        if not well_formed(person):  # an owner stored before the roster: cannot be a recipient
            refused += 1
            store.roster.refuse("notification", "malformed")
            continue
        due = [
            (channel, since, items)
            for channel in channels
            for since in [_since(window, window.marks.get((person, channel.name)))]
            for items in [[h for h in heard.get(person, []) if h.event_id > since]]
        ]
        recipients += any(items for _, _, items in due)
        for channel, since, items in due:
            if not items:  # nothing (left) to say here: a pending retry has nothing to resend
                if (person, channel.name) in window.marks and since < window.newest:
                    store.mark_delivered(person, channel.name, window.newest)
                continue
            error = _deliver(store, channel, person, items, inbox, person in leads, guidance)
            if error is None:
                store.mark_delivered(person, channel.name, window.newest)
                sent += 1
            else:
                store.mark_failed(person, channel.name, since, error)
                failed += 1
                not_sent.append(f"{person} by {channel.name}")
                log.error(
                    "digest for one recipient not sent by %s (%s); it is sent again by the "
                    "next run",
                    channel.name,
                    error,
                )
    if refused:
        log.warning("digest: %d recipient(s) with a malformed id were not sent anything", refused)
    store.record_digest(window.newest, recipients=recipients)
    log.info("digest: %d recipients, %d sent, %d failed", recipients, sent, failed)
    return DigestReport(recipients, sent, failed, tuple(not_sent), refused)


def _since(window: DigestWindow, mark: DigestMark | None) -> int:
    """The audit id after which a person has not been sent a digest on a channel."""
    if mark is None:
        return window.baseline
    if mark.pending_since is not None:
        return mark.pending_since
    return max(window.baseline, mark.delivered_through)


def _deliver(
    store: AlertStore,
    channel: Channel,
    person: str,
    heard: Sequence[Heard],
    inbox: str,
    lead: bool,
    guidance: Mapping[str, RuleGuidance],
) -> str | None:
    """None when sent; else what kind of failure (an exception's type: never data)."""
    if not (lead or store.roster.has_person(person)):  # managers are configured, or rostered
        store.roster.refuse("notification", "unknown_recipient")
        return "not on the roster"
    try:
        channel.send(digest_of(person, heard, inbox, lead, guidance))
    except NotSent as exc:
        return str(exc)
    except Exception as exc:
        return type(exc).__name__
    return None


def _seconds(header: str | None) -> float:
    try:
        return float(header) if header else 0.0
    except ValueError:
        return 0.0
