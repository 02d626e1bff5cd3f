"""``casewatch``: one CLI for every service. Subcommands stay thin; services do the work."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from services.ingest import cli as ingest_cli
from services.journeys.board import command as board_command
from services.runtime import logs
from services.runtime.files import private_dir
from services.runtime.settings import Settings

if TYPE_CHECKING:
    from services.ingest.inputs import Outcome
    from services.journeys.domain.sen2_figures import Period

log = logging.getLogger("casewatch")


def all_topics(settings: Settings) -> tuple[list[str], list[str]]:
    """(every topic, the compacted ones) the services expect."""
    names = [
        settings.topic_events,
        settings.topic_flags,
        settings.topic_dlq,
        settings.topic_clock,
        settings.topic_journeys,
    ]
    return names, [settings.topic_flags, settings.topic_journeys]


def cmd_topics(settings: Settings, _: argparse.Namespace) -> int:
    from services.runtime.broker import ensure_topics

    names, compacted = all_topics(settings)
    ensure_topics(settings.kafka_bootstrap, settings.partitions, names, compacted)
    print(f"topics ready on {settings.kafka_bootstrap}: {', '.join(names)}")
    return 0


def cmd_worker(settings: Settings, _: argparse.Namespace) -> int:
    from services.journeys.worker import run_worker

    cmd_topics(settings, _)
    return run_worker(settings)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    if args.service == "ingest":
        return ingest_cli.cmd_serve_ingest(settings)
    import uvicorn

    from services.alerts.web.app import create_app

    private_dir(settings.data_dir)
    uvicorn.run(
        create_app(settings),
        host=settings.alerts_host,
        port=settings.alerts_port,
        log_level=settings.log_level.lower(),
        access_log=False,  # access lines carry query strings (caseworker ids)
    )
    return 0


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    from services.alerts.commands import token
    from services.alerts.web.auth import SIGNING_KEY_FILE
    from services.runtime.stack import running_stack, stack_home

    stack = running_stack(settings.data_dir)  # `casewatch up` keeps its key in DATA_DIR/up
    if stack is not None:
        update = {"data_dir": stack.home, "alerts_port": stack.alerts_port}
        settings = settings.model_copy(update=update)
        print(f"signed for the casewatch up running in {stack.home}", file=sys.stderr)
    elif not (
        "data_dir" in settings.model_fields_set  # CASEWATCH_DATA_DIR names the key's home
        or (settings.data_dir / SIGNING_KEY_FILE).is_file()
    ):
        print(
            f"casewatch token: no running `casewatch up` in {stack_home(settings.data_dir)} "
            f"and no signing key in {settings.data_dir.resolve()}: a token signed now "
            "would be refused. Run it where `make run` runs, or set CASEWATCH_DATA_DIR to "
            "the data directory of the alerts service you sign in to.",
            file=sys.stderr,
        )
        return 2
    print(
        token(
            settings,
            subject=args.sub,
            roles=args.role,
            team=args.team,
            hours=args.hours,
            link=args.link,
        )
    )
    return 0


def cmd_notify_digest(settings: Settings, _: argparse.Namespace) -> int:
    from services.alerts.commands import notify_digest

    private_dir(settings.data_dir)
    return notify_digest(settings)


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    from services.ingest.inputs import NothingToRead, outcome, read_path
    from services.journeys.domain.pack import load_pack
    from services.journeys.domain.rules import RULES
    from services.journeys.replay import open_flags, render

    flagging = sorted(r.rule_id for r in RULES if r.clocks is not None)
    if unknown := sorted(set(args.rule or []) - set(flagging)):
        print(
            f"casewatch replay: no rule raises flags as {', '.join(unknown)}; "
            f"--rule takes one of {', '.join(flagging)}",
            file=sys.stderr,
        )
        return 2
    pack = load_pack(Path(args.pack)) if args.pack else settings.load_rule_pack()
    try:
        reading = read_path(Path(args.export), settings.person_key_secret.get_secret_value())
    except NothingToRead as error:
        print(f"casewatch replay: {error}", file=sys.stderr)
        return 2
    for issue in reading.issues:
        print(issue, file=sys.stderr)
    verdict = outcome(reading, Path(args.export))
    if verdict.code == 2:
        print(f"casewatch replay: {verdict.line}", file=sys.stderr)
        return 2
    if args.measures:  # the managers' measures, as the worker exports them
        from services.journeys.board.figures import waits_on
        from services.journeys.replay import journeys_of, measures, render_measures, sen2_report

        report = sen2_report(reading.events, args.as_of, pack, _sen2_period(args))
        totals = measures(reading.events, args.as_of, pack)
        waits = waits_on(journeys_of(reading.events), args.as_of, pack)
        text = render_measures(totals, args.format, args.as_of, pack, report, waits)
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return _replay_verdict(verdict, args)
    rows = open_flags(reading.events, args.as_of, pack)
    if args.rule:
        rows = [r for r in rows if r.rule_id in args.rule]
    text = render(rows, args.format, args.as_of, pack)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{len(rows)} open flags written to {args.out}")
    else:
        sys.stdout.write(text)
    return _replay_verdict(verdict, args)


def _replay_verdict(verdict: Outcome, args: argparse.Namespace) -> int:
    """A partial reading says so, on stdout too where that does not break the format."""
    if verdict.code:
        shown = args.out or args.format == "text"  # else stdout is CSV or JSON
        left_out = "the results leave out what was rejected or not read"
        line = f"{verdict.line}; {left_out} (issues on standard error)"
        print(line, file=None if shown else sys.stderr)
    return verdict.code


def _sen2_period(args: argparse.Namespace) -> Period | None:
    """``--year`` (1 Jan to 31 Dec) or ``--from``/``--to`` (both included) for the SEN2
    figures of ``replay --measures``; None: the last complete calendar year."""
    from services.journeys.domain.sen2_figures import Period, calendar_year

    if args.year is not None:
        return calendar_year(args.year)
    if args.date_from is not None or args.date_to is not None:
        start = args.date_from or date(args.as_of.year, 1, 1)
        end = args.date_to or args.as_of
        if end < start:
            raise SystemExit(f"casewatch replay: --to {end} is before --from {start}")
        return Period("custom", start, end)
    return None


def cmd_lag_exporter(settings: Settings, _: argparse.Namespace) -> int:
    from services.runtime.lag import run_lag_exporter

    return run_lag_exporter(settings)


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    from services.runtime.stack import run_stack

    return run_stack(settings, children=args.children, seed=args.seed, port=args.port)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="casewatch", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start broker, worker and alerts with demo data")
    up.add_argument("--children", type=int, default=300)
    up.add_argument("--seed", type=int, default=7)
    up.add_argument("--port", type=int, default=8080, help="alerts inbox port")
    up.set_defaults(func=cmd_up)

    sub.add_parser("worker", help="run the journeys worker (faust)").set_defaults(func=cmd_worker)
    sub.add_parser("topics", help="create the casewatch topics").set_defaults(func=cmd_topics)
    sub.add_parser(
        "lag-exporter", help="serve the consumer groups' lag as Prometheus metrics"
    ).set_defaults(func=cmd_lag_exporter)

    serve = sub.add_parser("serve", help="run an HTTP service")
    serve.add_argument("service", choices=["alerts", "ingest"])
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser(
        "token",
        help="mint a dev token for the alerts inbox (local key)",
        description="Sign a token with the alerts service's local key: the running `casewatch "
        "up`'s (found under ./var/up) unless CASEWATCH_DATA_DIR names the data directory.",
    )
    token.add_argument(
        "--role",
        action="append",
        required=True,
        choices=["caseworker", "manager", "integrator", "admin"],
        help="repeat for several roles",
    )
    token.add_argument("--sub", required=True, help="the person's id, e.g. cw-01")
    token.add_argument("--team", help="the team (a manager sees this team's alerts)")
    token.add_argument("--hours", type=float, default=8.0, help="how long the token lasts")
    token.add_argument("--link", action="store_true", help="print a login link instead")
    token.set_defaults(func=cmd_token)

    notify = sub.add_parser("notify", help="send notifications")
    nsub = notify.add_subparsers(dest="notification", required=True)
    nsub.add_parser("digest", help="the daily digest of new and escalated alerts").set_defaults(
        func=cmd_notify_digest
    )

    ingest_cli.add_ingest_parser(sub)

    replay = sub.add_parser("replay", help="every open flag of an export on a date")
    replay.add_argument(
        "export",
        help="an export directory (SSD CSVs, a SEN2 XML return, health referrals), or one "
        "file: a SEN2 return, an SSD CSV (read with its sibling CSVs), a health referrals CSV",
    )
    replay.add_argument(
        "--as-of", type=ingest_cli.iso_date, default=date.today(), help="YYYY-MM-DD (today)"
    )
    replay.add_argument("--format", choices=["text", "csv", "json"], default="text")
    replay.add_argument("--out", help="write to this file instead of standard output")
    replay.add_argument("--rule", action="append", help="only this rule id (repeatable)")
    replay.add_argument("--pack", help="a rule pack YAML file (default: the shipped pack)")
    replay.add_argument(
        "--measures", action="store_true", help="the managers' measures instead of the flags"
    )
    when = replay.add_mutually_exclusive_group()
    when.add_argument(
        "--year", type=int, help="with --measures: the SEN2 figures of this calendar year"
    )
    when.add_argument(
        "--from",
        dest="date_from",
        type=date.fromisoformat,
        help="with --measures: the SEN2 figures from this date (YYYY-MM-DD, included)",
    )
    replay.add_argument(
        "--to",
        dest="date_to",
        type=date.fromisoformat,
        help="with --measures: the SEN2 figures to this date (YYYY-MM-DD, included)",
    )
    replay.set_defaults(func=cmd_replay)

    ingest_cli.add_demo_parser(sub)
    board_command.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    logs.configure(settings.log_level)
    result: int = args.func(settings, args)
    return result


if __name__ == "__main__":
    sys.exit(main())
