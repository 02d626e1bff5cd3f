"""The alerts service's CLI commands (``casewatch token``, ``casewatch notify digest``);
``services.cli`` only parses arguments and calls these."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from services.alerts.config import AlertSettings
from services.alerts.web.auth import mint_token
from services.runtime.roster import Member
from services.runtime.settings import Settings


def token(
    settings: Settings,
    *,
    subject: str,
    roles: Sequence[str],
    team: str | None,
    hours: float,
    link: bool,
) -> str:
    """A dev token (or a ready-made login link) signed by this installation's key."""
    config = AlertSettings()
    minted = mint_token(
        config,
        settings.data_dir,
        subject=subject,
        roles=roles,
        team=team,
        ttl=timedelta(hours=hours),
    )
    return f"{config.inbox_url(settings)}/login?token={minted}" if link else minted


def notify_digest(settings: Settings) -> int:
    """Send each person the digest of everything new or escalated since their last one.
    Exit 1 when a message could not be sent (the next run sends that one again; everyone
    else has been served and is not sent it twice)."""
    from services.alerts.notify.send import send_digests
    from services.alerts.store.store import AlertStore
    from services.runtime.roster import RosterInvalid

    config = AlertSettings()
    try:
        roster = settings.load_roster()
    except RosterInvalid as exc:
        print(f"casewatch notify digest: {exc}; nothing was sent", file=sys.stderr)
        return 2
    store = AlertStore(settings.alerts_database_url(), roster)
    try:
        report = send_digests(store, config, settings)
    finally:
        store.close()
    print(
        f"digest: {report.recipients} recipients, {report.sent} messages sent, "
        f"{report.failed} failed"
    )
    if report.not_sent_to:  # roster ids only: they cannot carry anything else
        print(f"not sent (sent again by the next run): {', '.join(report.not_sent_to)}")
    if report.refused:
        print(f"{report.refused} recipient(s) with a malformed id were sent nothing")
    return 1 if report.failed or report.refused else 0


DEMO_TEAM_MANAGERS = {team: f"mgr-{team}" for team in ("north", "south", "east", "west")}
"""The managers of the demo authority's teams (``services.ingest.demo``), for ``casewatch up``."""
DEMO_PEOPLE = (
    ("caseworker cw-01", "cw-01", "caseworker", "north"),
    ("manager of team north", "mgr-north", "manager", "north"),
)


def demo_roster() -> list[Member]:
    """The demo authority's roster: its caseworkers (``services.ingest.demo``) and the
    managers of its teams, so routing and digests work under ``casewatch up``."""
    from services.ingest.demo.types import CASEWORKERS

    people = [Member(cw, team, "caseworker") for cw, team in CASEWORKERS.items()]
    return people + [Member(m, team, "manager") for team, m in DEMO_TEAM_MANAGERS.items()]


def demo_sign_in_links(data_dir: Path, inbox_url: str) -> list[tuple[str, str]]:
    """(who, login link) for the demo people of ``casewatch up``: valid for 12 hours."""
    config = AlertSettings()
    links = []
    for who, subject, role, team in DEMO_PEOPLE:
        minted = mint_token(
            config, data_dir, subject=subject, roles=[role], team=team, ttl=timedelta(hours=12)
        )
        links.append((who, f"{inbox_url}/login?token={minted}"))
    return links


def service_token(data_dir: Path) -> str:
    """An admin token for ``casewatch up``'s own look at the inbox (the open-alert count)."""
    return mint_token(
        AlertSettings(), data_dir, subject="casewatch-up", roles=["admin"], ttl=timedelta(hours=24)
    )
