"""casewatch's Grafana dashboards as code (grafana-foundation-sdk).

    python -m deploy.grafana.generate          # rewrite deploy/grafana/dashboards/*.json
    python -m deploy.grafana.generate --check  # exit 1 if the committed JSON differs

Three dashboards, file-provisioned with the Prometheus data source (uid ``prometheus``):
the SEND partnership board, caseload and transitions per team, and pipeline health. Panels
read the recording rules in deploy/prometheus/rules/ where the board has a figure, so a
dashboard and an alert never disagree. docs/dashboards.md says which question each answers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge, stat, table, text, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions, StackingConfig
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    QueryVariable,
    Row,
    ThresholdsConfig,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import (
    BigValueColorMode,
    BigValueGraphMode,
    StackingMode,
    VizOrientation,
)
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    Threshold,
    ThresholdsMode,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat
from grafana_foundation_sdk.models.text import TextMode

OUT = Path(__file__).parent / "dashboards"
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="prometheus")
TEAM = 'team=~"$team"'


def query(
    expr: str, legend: str = "", *, instant: bool = False, table_format: bool = False
) -> Dataquery:
    q = Dataquery().expr(expr).datasource(PROMETHEUS)
    if legend:
        q = q.legend_format(legend)
    if instant:
        q = q.instant()
    if table_format:
        q = q.format(PromQueryFormat.TABLE)
    return q


def steps(*pairs: tuple[float | None, str]) -> ThresholdsConfig:
    return (
        ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=v, color=c) for v, c in pairs])
    )


def ratio_stat(title: str, expr: str, description: str) -> stat.Panel:
    """A percentage the board reads at a glance: red below 50%, amber below the target."""
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .with_target(query(expr, instant=True))
        .unit("percentunit")
        .decimals(1)
        .min(0)
        .max(1)
        .thresholds(steps((None, "red"), (0.5, "orange"), (0.6, "green")))
        .color_mode(BigValueColorMode.BACKGROUND)
        .graph_mode(BigValueGraphMode.AREA)
        .span(6)
        .height(5)
    )


def count_stat(title: str, expr: str, description: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .with_target(query(expr, instant=True))
        .decimals(0)
        .thresholds(steps((None, "green"), (1, "orange")))
        .color_mode(BigValueColorMode.VALUE)
        .graph_mode(BigValueGraphMode.AREA)
        .span(6)
        .height(5)
    )


def trend(
    title: str, description: str, *targets: Dataquery, unit: str = "short", stacked: bool = False
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .unit(unit)
        .min(0)
        .span(12)
        .height(8)
    )
    if unit == "percentunit":
        panel = panel.max(1)
    if stacked:
        panel = panel.stacking(StackingConfig().mode(StackingMode.NORMAL)).fill_opacity(40)
    for t in targets:
        panel = panel.with_target(t)
    return panel


def bars(
    title: str, description: str, target: Dataquery, *, unit: str = "short", span: int = 12
) -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .with_target(target)
        .unit(unit)
        .min(0)
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .span(span)
        .height(8)
    )


PERIODS = {
    "last_year": "last complete calendar year",
    "year_to_date": "this calendar year to date",
    "rolling_12m": "rolling 12 months",
}
FIGURE_TITLES = {
    "twenty_weeks_excluding_exceptions": "Plans within 20 weeks (excl. exceptions)",
    "six_weeks": "Decisions to assess within 6 weeks",
}
ENGLAND_TEXT = (
    "**England** (DfE, *Education, health and care plans*), calendar years: plans issued "
    "within 20 weeks excluding exceptions **46.4%** in 2024 (45.9% including them; reporting "
    "year 2025, published 26 June 2025), 50.3% in 2023, 49.2% in 2022; decisions whether to "
    "assess within 6 weeks **84.8%** in 2024. Compare with the *last complete calendar year* "
    "once the DfE has published it; the current year is not published until the next June."
)


def sen2_stat(figure: str, period: str) -> stat.Panel:
    """One SEN2 figure for one period, labelled with both (domain/sen2_figures.py)."""
    labels = f'figure="{figure}", period="{period}"'
    return ratio_stat(
        f"{FIGURE_TITLES[figure]} — {PERIODS[period]}",
        f"sum(casewatch_sen2_numerator{{{labels}}}) / sum(casewatch_sen2_denominator{{{labels}}})",
        f"The DfE's SEN2 figure {figure} for the {PERIODS[period]} (docs/dashboards.md).",
    ).span(6)


def board() -> Dashboard:
    """The SEND partnership board: the figures the peer reviews ask for, each month."""
    national = (
        "**England, 2024** (DfE, *Education, health and care plans*): plans issued within 20 "
        "weeks **46.4%** excluding exceptions, **45.9%** including them; decisions whether to "
        "assess within 6 weeks **84.8%**; annual review decisions within 4 weeks of the "
        "meeting **44.4%**. Figures here cover the last 12 months to today, from the "
        "monitor's journeys, and are published both ways as the SEND Regulations require."
    )
    return (
        Dashboard("SEND partnership board")
        .uid("casewatch-board")
        .description(
            "Statutory timeliness, overdue reviews and waits, for the SEND Partnership Board"
        )
        .tags(["casewatch", "send"])
        .timezone("Europe/London")
        .time("now-90d", "now")
        .refresh("5m")
        .readonly()
        .with_row(Row("Last 12 months"))
        .with_panel(
            ratio_stat(
                "EHC plans within 20 weeks (excl. exceptions)",
                "casewatch:ehc_issued_within_20w_excl_exceptions:ratio",
                "R-ISSUE-20W, the DfE headline: new plans issued within 20 weeks of the request, "
                "leaving out Reg 10(4) exception cases from both sides.",
            )
        )
        .with_panel(
            ratio_stat(
                "EHC plans within 20 weeks (incl. exceptions)",
                "casewatch:ehc_issued_within_20w:ratio",
                "R-ISSUE-20W: every new plan issued in the last 12 months, exceptions included.",
            )
        )
        .with_panel(
            ratio_stat(
                "Decisions to assess within 6 weeks",
                "casewatch:ehc_decisions_within_6w:ratio",
                "R-DECIDE-6W: decisions whether to assess (yes or no) made within 42 days.",
            )
        )
        .with_panel(
            ratio_stat(
                "Review decisions within 4 weeks",
                "casewatch:review_decisions_within_4w:ratio",
                "R-AR-DECISION-4W: annual review decisions made within 28 days of the meeting.",
            )
        )
        .with_panel(
            count_stat(
                "Overdue annual reviews",
                "casewatch:reviews_overdue:sum",
                "R-AR-DUE (and R-TRANSFER-IN reviews): plans whose annual review is overdue today.",
            )
        )
        .with_panel(
            count_stat(
                "Requests past 20 weeks, no plan",
                "casewatch:ehc_assessments_over_20w:sum",
                "Open EHC needs assessment requests received more than 20 weeks ago.",
            )
        )
        .with_panel(
            count_stat(
                "Plans in force",
                "casewatch:plans_in_force:sum",
                "EHC plans maintained by the authority today.",
            ).thresholds(steps((None, "blue")))
        )
        .with_panel(
            text.Panel()
            .title("National comparison")
            .mode(TextMode.MARKDOWN)
            .content(national)
            .span(6)
            .height(5)
        )
        .with_row(Row("SEN2 figures by the DfE's definitions"))
        .with_panel(sen2_stat("twenty_weeks_excluding_exceptions", "last_year"))
        .with_panel(sen2_stat("twenty_weeks_excluding_exceptions", "year_to_date"))
        .with_panel(sen2_stat("twenty_weeks_excluding_exceptions", "rolling_12m"))
        .with_panel(
            text.Panel()
            .title("England, published")
            .mode(TextMode.MARKDOWN)
            .content(ENGLAND_TEXT)
            .span(6)
            .height(5)
        )
        .with_panel(sen2_stat("six_weeks", "last_year"))
        .with_panel(sen2_stat("six_weeks", "year_to_date"))
        .with_panel(sen2_stat("six_weeks", "rolling_12m"))
        .with_panel(
            table.Panel()
            .title("All five SEN2 figures, each period")
            .description(
                "Numerator / denominator ratio of each figure (docs/dashboards.md cites the "
                "DfE's definition of each) for the last complete calendar year, the current "
                "year to date and the rolling 12 months."
            )
            .datasource(PROMETHEUS)
            .with_target(
                query(
                    "sum by (figure, period) (casewatch_sen2_numerator) / "
                    "sum by (figure, period) (casewatch_sen2_denominator)",
                    instant=True,
                    table_format=True,
                )
            )
            .unit("percentunit")
            .decimals(1)
            .span(6)
            .height(5)
        )
        .with_row(Row("Trends"))
        .with_panel(
            trend(
                "20-week timeliness, both ways, against target",
                "Rolling 12 months. The target is set in deploy/prometheus/rules/targets.yml.",
                query(
                    "casewatch:ehc_issued_within_20w_excl_exceptions:ratio", "excluding exceptions"
                ),
                query("casewatch:ehc_issued_within_20w:ratio", "including exceptions"),
                query("casewatch:target:ehc_issued_within_20w:ratio", "target"),
                unit="percentunit",
            )
        )
        .with_panel(
            trend(
                "Overdue annual reviews by time overdue",
                "How long lapsed plans have been waiting for their review decision.",
                query("sum by (band) (casewatch_reviews_overdue)", "{{band}}"),
                stacked=True,
            )
        )
        .with_panel(
            trend(
                "Open EHC needs assessments by weeks since request",
                "Bands 0-6, 6-16, 16-20, 20-52 and 52+ weeks from the request received.",
                query("sum by (band) (casewatch_ehc_assessments_open)", "{{band}}"),
                stacked=True,
            )
        )
        .with_panel(
            trend(
                "Timeliness of decisions",
                "Rolling 12 months.",
                query(
                    "casewatch:ehc_decisions_within_6w:ratio", "decision to assess within 6 weeks"
                ),
                query(
                    "casewatch:review_decisions_within_4w:ratio", "review decision within 4 weeks"
                ),
                unit="percentunit",
            )
        )
        .with_row(Row("Waits for health and therapy services"))
        .with_panel(
            bars(
                "Waits ended within the service's standard",
                "R-WAIT: referral to first contact within the rule pack's standard (NICE QS51 "
                "3 months for autism, 18 weeks for paediatrics, 4 weeks proposed for CAMHS, local "
                "therapy targets), for waits ended in the last 12 months.",
                query("service:casewatch_waits_within_standard:ratio", "{{service}}", instant=True),
                unit="percentunit",
                span=8,
            )
            .max(1)
            .thresholds(steps((None, "red"), (0.75, "orange"), (0.92, "green")))
        )
        .with_panel(
            table.Panel()
            .title("Days from referral to first contact")
            .description("Median and 90th percentile of waits ended in the last 12 months.")
            .datasource(PROMETHEUS)
            .with_target(
                query(
                    "service:casewatch_wait_completed_days:p50", instant=True, table_format=True
                ).ref_id("median")
            )
            .with_target(
                query(
                    "service:casewatch_wait_completed_days:p90", instant=True, table_format=True
                ).ref_id("p90")
            )
            .unit("d")
            .span(16)
            .height(8)
        )
        .with_panel(
            bars(
                "Children waiting now, by weeks waited",
                "Open referrals by service and time since referral.",
                query(
                    "sum by (service, band) (casewatch_waits_open)",
                    "{{service}} {{band}}",
                    instant=True,
                ),
            ).span(24)
        )
    )


def team_variable() -> QueryVariable:
    return (
        QueryVariable("team")
        .label("Team")
        .datasource(PROMETHEUS)
        .query("label_values(casewatch_plans_in_force, team)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def caseload() -> Dashboard:
    """Caseload and transitions, per team: where the work is and what is coming."""
    return (
        Dashboard("Caseload and transitions")
        .uid("casewatch-caseload")
        .description("Per-team caseload, overdue work and this year's transition cohorts")
        .tags(["casewatch", "send"])
        .timezone("Europe/London")
        .time("now-30d", "now")
        .refresh("5m")
        .readonly()
        .with_variable(team_variable())
        .with_row(Row("Caseload"))
        .with_panel(
            bars(
                "Plans in force",
                "EHC plans maintained today, by team.",
                query(
                    f"sum by (team) (casewatch_plans_in_force{{{TEAM}}})", "{{team}}", instant=True
                ),
                span=8,
            )
        )
        .with_panel(
            bars(
                "Open assessments by weeks since request",
                "R-ISSUE-20W: requests still without a plan or a decision ending the pathway.",
                query(
                    f"sum by (band) (casewatch_ehc_assessments_open{{{TEAM}}})",
                    "{{band}}",
                    instant=True,
                ),
                span=8,
            )
        )
        .with_panel(
            bars(
                "Overdue reviews by time overdue",
                "R-AR-DUE: lapsed plans, by days since the review was due.",
                query(
                    f"sum by (band) (casewatch_reviews_overdue{{{TEAM}}})", "{{band}}", instant=True
                ),
                span=8,
            )
        )
        .with_panel(
            bars(
                "Plans in force by primary need",
                "SEN2 primary need (SENneed rank 1) of the plans in force; unknown where the "
                "case system has not recorded it.",
                query(
                    f"sum by (need) (casewatch_plans_in_force{{{TEAM}}})", "{{need}}", instant=True
                ),
            )
        )
        .with_panel(
            bars(
                "Children with no allocated caseworker",
                "Children with an open EHC needs assessment request or a plan in force whom the "
                "case system gives no caseworker: the single point of contact the peer reviews "
                "ask for (the inbox lists them at /team/unallocated).",
                query(
                    f"sum by (team) (casewatch_children_unallocated{{{TEAM}}})",
                    "{{team}}",
                    instant=True,
                ),
                span=12,
            )
        )
        .with_panel(
            trend(
                "20-week timeliness by team (excl. exceptions)",
                "Rolling 12 months, per team.",
                query(
                    f"team:casewatch_ehc_issued_within_20w_excl_exceptions:ratio{{{TEAM}}}",
                    "{{team}}",
                ),
                unit="percentunit",
            )
        )
        .with_panel(
            trend(
                "Overdue reviews by team",
                "Lapsed plans per team over time.",
                query(f"team:casewatch_reviews_overdue:sum{{{TEAM}}}", "{{team}}"),
            )
        )
        .with_panel(
            table.Panel()
            .title("Open flags by rule")
            .description("Every open flag on the monitor's date (advisory rules included).")
            .datasource(PROMETHEUS)
            .with_target(
                query(
                    f"sum by (team, rule, severity) (casewatch_flags_open{{{TEAM}}})",
                    instant=True,
                    table_format=True,
                )
            )
            .span(12)
            .height(10)
        )
        .with_panel(
            trend(
                "Flags raised and resolved per day (all teams)",
                "Flag changes the worker published, by rule.",
                query(
                    "sum by (rule, status) (increase(casewatch_flags_total[1d]))",
                    "{{rule}} {{status}}",
                ),
            )
        )
        .with_row(Row("This year's transitions"))
        .with_panel(
            bars(
                "On track, by transfer",
                "R-PHASE and R-PFA-Y9: children whose plan names the next setting (or whose Year "
                "9 review had a preparing-for-adulthood focus), or whose deadline is still ahead.",
                query(
                    f'sum by (phase) (casewatch_transition_cohort{{{TEAM}, status=~"done|due"}})'
                    f" / sum by (phase) (casewatch_transition_cohort{{{TEAM}}})",
                    "{{phase}}",
                    instant=True,
                ),
                unit="percentunit",
                span=12,
            )
            .max(1)
            .thresholds(steps((None, "red"), (0.9, "orange"), (1, "green")))
        )
        .with_panel(
            table.Panel()
            .title("Transition cohorts by status")
            .description(
                "Phase transfers within 12 months (deadline 15 February, 31 March for post-16) "
                "and Year 9 preparing-for-adulthood reviews: done, due (on track) or overdue."
            )
            .datasource(PROMETHEUS)
            .with_target(
                query(
                    f"sum by (team, phase, status) (casewatch_transition_cohort{{{TEAM}}})",
                    instant=True,
                    table_format=True,
                )
            )
            .span(12)
            .height(8)
        )
    )


def pipeline() -> Dashboard:
    """Pipeline health: is the data arriving, flowing and complete?"""
    return (
        Dashboard("Pipeline health")
        .uid("casewatch-pipeline")
        .description("Events in per source, dead letters, consumer lag and the services' health")
        .tags(["casewatch", "operations"])
        .timezone("Europe/London")
        .time("now-24h", "now")
        .refresh("1m")
        .readonly()
        .with_row(Row("Sources"))
        .with_panel(
            trend(
                "Events folded per second, by source",
                "Events the journeys worker folded (re-deliveries included).",
                query(
                    "sum by (source) (rate(casewatch_events_total[$__rate_interval]))", "{{source}}"
                ),
                unit="ops",
            )
        )
        .with_panel(
            bars(
                "Hours since the newest event, by source",
                "A source gone quiet stops its nightly export; alerted after the quiet threshold "
                "in targets.yml.",
                query(
                    "(time() - source:casewatch_events_newest_timestamp_seconds:max) / 3600",
                    "{{source}}",
                    instant=True,
                ),
                unit="h",
            )
        )
        .with_panel(
            trend(
                "Dead letters by reason (per hour)",
                "Events the worker could not use, on casewatch.events.dlq with reason and offset.",
                query("sum by (reason) (increase(casewatch_events_dlq_total[1h]))", "{{reason}}"),
            )
        )
        .with_panel(
            trend(
                "Consumer lag",
                "Messages not yet consumed, per consumer group and topic.",
                query("group_topic:casewatch_consumer_lag:sum", "{{group}} {{topic}}"),
            )
        )
        .with_row(Row("Data quality of the last ingest run"))
        .with_panel(
            bars(
                "Warnings in the last ingest run, by source and rule",
                "Faults in fields no clock reads (UPN, ULN, NHS number, postcode, placements): "
                "the record was kept. From `casewatch ingest ... --metrics-textfile` "
                "(docs/ingest.md).",
                query(
                    'sum by (source, rule) (casewatch_ingest_last_run_issues{severity="warning"})',
                    "{{source}} {{rule}}",
                    instant=True,
                ),
            )
        )
        .with_panel(
            bars(
                "Rejections in the last ingest run, by source and rule",
                "Faults in fields a clock reads: that record published nothing. Fix them in the "
                "case system; the next run publishes them.",
                query(
                    'sum by (source, rule) (casewatch_ingest_last_run_issues{severity="error"})',
                    "{{source}} {{rule}}",
                    instant=True,
                ),
            )
        )
        .with_panel(
            bars(
                "Records rejected in the last ingest run, by source",
                "Rows or SEN2 modules rejected (of those read).",
                query(
                    'sum by (source) (casewatch_ingest_last_run_records{outcome="rejected"})',
                    "{{source}}",
                    instant=True,
                ),
            )
        )
        .with_panel(
            trend(
                "Ingest API: events refused, by source and rule",
                "Events integrators posted to the HTTP ingest API that it refused (nothing of "
                "a refused request is published), per reason: not_entitled (the token or the "
                "source authority table), a date or identity rule, a field's type. The CLI's "
                "rejections are in the panels above.",
                query(
                    "sum by (source, rule) (increase(casewatch_ingest_api_refusals_total[1h]))",
                    "{{source}} {{rule}}",
                ),
            )
        )
        .with_panel(
            trend(
                "Ingest API: events published and refused",
                "Events per hour through the HTTP ingest API, by source and outcome "
                "(unacknowledged: the broker did not confirm them; the integrator retries).",
                query(
                    "sum by (source, outcome) (increase(casewatch_ingest_api_events_total[1h]))",
                    "{{source}} {{outcome}}",
                ),
            )
        )
        .with_panel(
            bars(
                "Hours since the last ingest run, by source",
                "When each source's nightly ingest last finished (any exit code).",
                query(
                    "(time() - max by (source) (casewatch_ingest_last_run_timestamp_seconds))"
                    " / 3600",
                    "{{source}}",
                    instant=True,
                ),
                unit="h",
            )
        )
        .with_row(Row("Services"))
        .with_panel(
            trend(
                "Services up",
                "1 when Prometheus scrapes the service.",
                query('up{job=~"casewatch-.*"}', "{{job}} {{instance}}"),
            ).max(1)
        )
        .with_panel(
            trend(
                "Journeys held per worker",
                "Each worker holds the journeys of its partitions; the sum is every child known.",
                query("sum by (instance) (casewatch_measures_journeys)", "{{instance}}"),
                stacked=True,
            )
        )
        .with_panel(
            trend(
                "Flag changes published",
                "Raised and resolved flags per second.",
                query(
                    "sum by (status) (rate(casewatch_flags_total[$__rate_interval]))", "{{status}}"
                ),
                unit="ops",
            )
        )
        .with_panel(
            trend(
                "Open alerts in caseworkers' inboxes",
                "Alerts the alerts service holds open, by severity.",
                query("sum by (severity) (casewatch_alerts_open)", "{{severity}}"),
                stacked=True,
            )
        )
        .with_panel(
            trend(
                "Broker reachable by the lag exporter",
                "0 when the consumer lag could not be read.",
                query("casewatch_consumer_lag_up", "{{instance}}"),
            ).max(1)
        )
    )


DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "send-partnership-board": board,
    "caseload-and-transitions": caseload,
    "pipeline-health": pipeline,
}


def render(build: Callable[[], Dashboard]) -> str:
    model = build().build()
    for number, panel in enumerate(model.panels or [], start=1):
        panel.id_val = number  # unique ids: Grafana links and repeats use them
        for letter, target in zip("ABCDEFGH", getattr(panel, "targets", None) or [], strict=False):
            if not getattr(target, "ref_id", None):
                target.ref_id = letter  # type: ignore[attr-defined]
    return JSONEncoder(sort_keys=True, indent=2).encode(model) + "\n"


def rendered() -> dict[Path, str]:
    return {OUT / f"{name}.json": render(build) for name, build in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the JSON is out of date")
    args = parser.parse_args(argv)
    stale = [p for p, body in rendered().items() if not p.exists() or p.read_text() != body]
    if args.check:
        for p in stale:
            print(f"{p} differs from the generator: run python -m deploy.grafana.generate")
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for p, body in rendered().items():
        p.write_text(body, encoding="utf-8")
    print(f"wrote {len(DASHBOARDS)} dashboards to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
