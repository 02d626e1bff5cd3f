"""Prometheus metrics of the alerts service, built on a registry the caller hands in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from schemas.flags import FlagRecord
from services.alerts.store.routing import JourneyChanges
from services.alerts.store.store import Transition
from services.runtime.roster import Roster

OPEN_ALERTS = "casewatch_alerts_open"


class AlertMetrics:
    """The alerts service's metrics. Labels carry only bounded values: rule id, severity and
    transition; never a person key, child reference or caseworker.

    Usage::

        registry = CollectorRegistry()
        metrics = AlertMetrics(registry)
        metrics.count_transitions(records, store.apply_many(records))
        metrics.set_open(store.counts_by_rule_and_severity())
        metrics.count_undecodable()
        metrics.count_casework("acknowledged")

    Exposes ``casewatch_alerts_transitions_total{rule, transition}`` (opened, reopened,
    resolved), ``casewatch_alerts_open{rule, severity}`` (live alerts; a rule/severity pair
    seen once stays at 0 when nothing is open, rather than vanishing),
    ``casewatch_alert_flags_undecodable_total``, ``casewatch_alerts_casework_total{action}``
    (acknowledged, snoozed, reassigned, rerouted, escalated, woke),
    ``casewatch_alert_journeys_total{outcome}`` (stored, stale, forgotten),
    ``casewatch_alert_journeys_undecodable_total``,
    ``casewatch_alerts_journey_views_total{channel}`` (page, api) and
    ``casewatch_alerts_access_denied_total{reason}`` (unauthenticated, forbidden, csrf) and,
    once ``watch_roster`` is called, ``casewatch_roster_refusals_total{use, reason}``
    (values not on the roster: use routing, reassign, notification).
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.transitions = Counter(
            "casewatch_alerts_transitions",
            "Alert state changes applied from casewatch.flags",
            ["rule", "transition"],
            registry=registry,
        )
        self.undecodable = Counter(
            "casewatch_alert_flags_undecodable",
            "Records on casewatch.flags that were not valid flag records and were skipped",
            registry=registry,
        )
        self.casework = Counter(
            "casewatch_alerts_casework",
            "Casework on alerts, by people and by the service's own sweep",
            ["action"],
            registry=registry,
        )
        self.journeys = Counter(
            "casewatch_alert_journeys",
            "Journey snapshots from casewatch.journeys, by what the store did with them",
            ["outcome"],
            registry=registry,
        )
        self.journeys_undecodable = Counter(
            "casewatch_alert_journeys_undecodable",
            "Records on casewatch.journeys that were not valid snapshots and were skipped",
            registry=registry,
        )
        self.journey_views = Counter(
            "casewatch_alerts_journey_views",
            "Views of a child's journey (each one is also in the audit table)",
            ["channel"],
            registry=registry,
        )
        self.denied = Counter(
            "casewatch_alerts_access_denied",
            "Requests refused: no valid token, a role without access, a missing CSRF token",
            ["reason"],
            registry=registry,
        )
        self._open = _OpenAlerts()
        registry.register(self._open)

    def count_transitions(
        self, records: Sequence[FlagRecord], transitions: Sequence[Transition]
    ) -> None:
        for record, transition in zip(records, transitions, strict=True):
            if transition != "unchanged":
                self.transitions.labels(rule=record.rule_id, transition=transition).inc()

    def count_undecodable(self) -> None:
        self.undecodable.inc()

    def count_undecodable_journey(self) -> None:
        self.journeys_undecodable.inc()

    def count_journeys(self, changes: JourneyChanges) -> None:
        for outcome in ("stored", "stale", "forgotten"):
            self.journeys.labels(outcome=outcome).inc(getattr(changes, outcome))
        self.casework.labels(action="rerouted").inc(changes.rerouted)

    def count_casework(self, action: str, n: int = 1) -> None:
        self.casework.labels(action=action).inc(n)

    def count_journey_view(self, channel: str) -> None:
        self.journey_views.labels(channel=channel).inc()

    def count_denied(self, reason: str) -> None:
        self.denied.labels(reason=reason).inc()

    def watch_roster(self, roster: Roster, registry: CollectorRegistry) -> None:
        registry.register(_RosterRefusals(roster))

    def set_open(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Replace the open-alert gauge with ``{(rule id, severity): open alerts}``."""
        self._open.replace(counts)


class _OpenAlerts(Collector):
    """``casewatch_alerts_open``: a snapshot swapped whole, so a scrape never sees half."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}

    def replace(self, counts: Mapping[tuple[str, str], int]) -> None:
        self._counts = {**dict.fromkeys(self._counts, 0), **counts}

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        for (rule, severity), n in sorted(self._counts.items()):
            family.add_metric([rule, severity], n)
        return [family]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(OPEN_ALERTS, "Open caseworker alerts", labels=["rule", "severity"])


class _RosterRefusals(Collector):
    """``casewatch_roster_refusals_total{use, reason}``, read from the roster's own tally."""

    def __init__(self, roster: Roster) -> None:
        self.roster = roster

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        for (use, reason), n in sorted(self.roster.refused().items()):
            family.add_metric([use, reason], n)
        return [family]

    @staticmethod
    def _family() -> CounterMetricFamily:
        return CounterMetricFamily(
            "casewatch_roster_refusals",
            "Caseworker or team values refused because they are not on the roster",
            labels=["use", "reason"],
        )
