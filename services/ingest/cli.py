"""The ``ingest`` and ``demo-data`` subcommands of ``casewatch`` (wired in ``services.cli``)."""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from services.runtime.settings import Settings

HELP = {
    "ssd": "Liquidlogic SSD-style CSV extract (a directory, or one of its CSVs)",
    "sen2": "DfE SEN2 person-level return (an XML file, or a directory of them)",
    "health": "health referrals CSV with health_mapping.yaml (the CSV or its directory)",
    "export": "a directory holding any of the three (as casewatch demo-data writes it), "
    "or one file of them",
}


def iso_date(text: str) -> date:
    """A date given on the command line: YYYY-MM-DD (argparse names the option)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date in the format YYYY-MM-DD (e.g. 2026-11-20)"
        ) from None


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from services.ingest import secret
    from services.ingest.inputs import NothingToRead, resolve
    from services.ingest.runner import IngestOptions, run_ingest

    try:  # a path that holds nothing to read is the first thing to say
        resolve(Path(args.path), args.format)
    except NothingToRead as error:
        print(f"casewatch ingest {args.format}: {error}", file=sys.stderr)
        return 2
    mapping = [Path(args.mapping)] if getattr(args, "mapping", None) else []
    if (refused := secret.refusal(settings, [Path(args.path), *mapping])) is not None:
        print(f"casewatch ingest: {refused}", file=sys.stderr)
        return 2

    options = IngestOptions(
        kind=args.format,
        path=Path(args.path),
        dry_run=args.dry_run,
        report=args.report,
        all_or_nothing=args.all_or_nothing,
        republish=args.republish,
        mapping=Path(args.mapping) if getattr(args, "mapping", None) else None,
        metrics_textfile=Path(args.metrics_textfile) if args.metrics_textfile else None,
    )
    try:
        return run_ingest(settings, options)
    except KeyboardInterrupt:
        # what was sent stays sent (the worker ignores repeated event ids); what the run
        # remembers was not written, so the next run publishes it all again
        print("interrupted: nothing was kept; the next run publishes again", file=sys.stderr)
        return 130


def cmd_ingest_token(settings: Settings, args: argparse.Namespace) -> int:
    from services.ingest.api.tokens import mint_token
    from services.ingest.config import IngestSettings

    config = IngestSettings()
    print(
        mint_token(
            config.token_secret.get_secret_value(),
            subject=args.subject,
            sources=args.source,
            audience=config.token_audience,
            ttl=timedelta(days=args.days),
            event_types=args.event_type,
        )
    )
    return 0


def cmd_serve_ingest(settings: Settings) -> int:
    from services.ingest.api.app import serve

    return serve(settings)


def add_ingest_parser(sub: Any) -> None:
    ingest = sub.add_parser("ingest", help="publish events from exports (CSV, SEN2 XML, health)")
    isub = ingest.add_subparsers(dest="format", required=True)
    for kind, text in HELP.items():
        p = isub.add_parser(kind, help=text)
        p.add_argument("path")
        p.add_argument("--dry-run", action="store_true", help="validate and diff; publish nothing")
        p.add_argument("--report", choices=["text", "json", "csv"], default="text")
        p.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="publish nothing if anything is rejected",
        )
        p.add_argument(
            "--republish",
            action="store_true",
            help="publish every fact, not only those new or changed since the last run",
        )
        p.add_argument(
            "--metrics-textfile",
            metavar="PATH",
            help="write the run's issue counts for node-exporter's textfile collector (*.prom)",
        )
        if kind == "health":
            p.add_argument("--mapping", help="the mapping file (default: health_mapping.yaml)")
        p.set_defaults(func=cmd_ingest)
    token = isub.add_parser("token", help="mint an integrator token for the ingest API")
    token.add_argument("--subject", required=True, help="who the integrator is")
    token.add_argument(
        "--source", action="append", required=True, help="a source system it may publish as"
    )
    token.add_argument(
        "--event-type",
        action="append",
        help="an event type it may publish (default: all its sources may, docs/ingest.md)",
    )
    token.add_argument("--days", type=float, default=90.0, help="how long the token lasts")
    token.set_defaults(func=cmd_ingest_token)


def cmd_demo_data(settings: Settings, args: argparse.Namespace) -> int:
    from services.ingest.demo.authority import write_demo_export

    today = args.today or date.today()
    summary = write_demo_export(
        Path(args.out),
        children=args.children,
        seed=args.seed,
        today=today,
        messy=args.messy,
        la_code=args.la,
    )
    print(f"wrote a synthetic authority of {summary.children} children to {args.out}")
    print(
        f"  plans: {summary.plans}, lapsed reviews: {summary.lapsed_reviews}, "
        f"20-week breaches open: {summary.open_20w_breaches}"
    )
    print(f"  SSD CSVs and health referrals in {args.out}; the SEN2 return in {args.out}/sen2/")
    return 0


def add_demo_parser(sub: Any) -> None:
    demo = sub.add_parser("demo-data", help="write a synthetic authority's exports")
    demo.add_argument("--children", type=int, default=300)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--out", required=True)
    demo.add_argument("--today", type=iso_date, default=None, help="YYYY-MM-DD")
    demo.add_argument("--messy", action="store_true", help="BOMs, CRLF, mixed dates, repeats")
    demo.add_argument("--la", default="358", help="the LA code of the SEN2 return")
    demo.set_defaults(func=cmd_demo_data)
