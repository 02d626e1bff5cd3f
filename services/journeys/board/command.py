"""``casewatch report board``: the partnership board pack for a month or a year, as one
self-contained HTML file and its PDF, from an export or from the running system's event log.

Exit codes: 0 written; 1 written, but the reading rejected records (the pack's data-quality
page counts them) or the PDF could not be printed; 2 nothing written (no events read, bad
arguments)."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

from services.runtime.settings import Settings


def add_parser(sub: Any) -> None:
    report = sub.add_parser("report", help="reports for people who do not open Grafana")
    kinds = report.add_subparsers(dest="report", required=True)
    board = kinds.add_parser(
        "board",
        help="the SEND partnership board pack (HTML and PDF) for a month or a year",
        description="The month's (or year's) SEND figures as a paper a board reads: the DfE's "
        "SEN2 figures, overdue reviews, waits, transition cohorts, unallocated children and "
        "data quality, aggregates only, small numbers suppressed.",
    )
    when = board.add_mutually_exclusive_group(required=True)
    when.add_argument("--month", help="YYYY-MM")
    when.add_argument("--year", help="YYYY")
    board.add_argument(
        "--export",
        help="an export directory (as `casewatch replay`); default: the running system's "
        "event log on CASEWATCH_KAFKA_BOOTSTRAP",
    )
    board.add_argument("--out", required=True, help="the folder to write board-*.html/.pdf in")
    board.add_argument("--authority", default="", help="the authority's name for the cover")
    board.add_argument(
        "--today",
        help="YYYY-MM-DD: the pack's date (default today; figures as at the "
        "period's end, or this date if the period has not ended)",
    )
    board.add_argument("--no-pdf", action="store_true", help="write the HTML only")
    board.add_argument("--pack", help="a rule pack YAML file (default: the configured pack)")
    board.set_defaults(func=cmd_board)


def _period(args: argparse.Namespace, today: date) -> Any:
    from services.journeys.board.figures import Period

    if args.month:
        m = re.fullmatch(r"(\d{4})-(\d{2})", args.month)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"--month {args.month!r}: expected YYYY-MM, e.g. 2026-11")
        period = Period.month(int(m.group(1)), int(m.group(2)), today)
    else:
        if not re.fullmatch(r"\d{4}", args.year or ""):
            raise ValueError(f"--year {args.year!r}: expected YYYY, e.g. 2026")
        period = Period.year(int(args.year), today)
    if period.start > today:
        raise ValueError(f"{period.label} has not begun on {today.isoformat()}")
    return period


def cmd_board(settings: Settings, args: argparse.Namespace) -> int:
    from services.journeys.board.figures import board_figures
    from services.journeys.board.pdf import PdfFailed, print_pdf
    from services.journeys.board.render import render_html
    from services.journeys.board.source import from_export, from_topic
    from services.journeys.domain.pack import load_pack
    from services.journeys.replay import journeys_of

    try:
        today = date.fromisoformat(args.today) if args.today else date.today()
        period = _period(args, today)
    except ValueError as exc:
        print(f"casewatch report board: {exc} (dates are YYYY-MM-DD)", file=sys.stderr)
        return 2
    pack = load_pack(Path(args.pack)) if args.pack else settings.load_rule_pack()
    secret = settings.person_key_secret.get_secret_value()
    if args.export:
        path = Path(args.export)
        if not path.is_dir():
            print(f"casewatch report board: {path}: no such export directory", file=sys.stderr)
            return 2
        source = from_export(path, secret)
    else:
        try:
            source = from_topic(settings.kafka_bootstrap, settings.topic_events)
        except (LookupError, TimeoutError, OSError) as exc:
            print(f"casewatch report board: cannot read the event log: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:  # aiokafka's connection errors have no common base
            print(
                f"casewatch report board: cannot read the event log on "
                f"{settings.kafka_bootstrap}: {type(exc).__name__}",
                file=sys.stderr,
            )
            return 2
    if not source.events:
        print(f"casewatch report board: no events read from {source.described}", file=sys.stderr)
        return 2
    last: dict[str, tuple[int, date | None]] = {}
    for e in source.events:
        n, d = last.get(e.source_system, (0, None))
        on = e.occurred_at.date()
        last[e.source_system] = (n + 1, on if d is None or on > d else d)
    figures = board_figures(
        journeys_of(source.events), period, pack, quality=source.quality, last_fact=last
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    html_file = out / f"board-{period.slug}.html"
    html_file.write_text(render_html(figures, args.authority or "casewatch", today), "utf-8")
    print(f"board pack for {period.label} (figures as at {period.as_of}): {html_file}")
    code = 0
    if not args.no_pdf:
        pdf_file = html_file.with_suffix(".pdf")
        try:
            print_pdf(html_file, pdf_file)
            print(f"  and {pdf_file}")
        except PdfFailed as exc:
            print(f"casewatch report board: {exc}", file=sys.stderr)
            code = 1
    rejected = sum(errors for errors, _ in source.quality.values())
    if rejected:
        print(
            f"{rejected} records rejected while reading {source.described}: the pack counts "
            "them on its data-quality page; fix them and draw it up again",
        )
        code = 1
    return code
