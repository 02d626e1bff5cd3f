"""The journeys worker's ``team`` label takes only roster teams: ingested text (here the
adversarial run's ``north"><script>…``) adds up under ``other``, never becomes a label."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.measures import JourneyMeasures
from services.runtime.roster import Member, Roster
from tests.unit.test_measures_collector import ON, lapsed, reviewed, sample

HOSTILE = 'north"><script>alert(1)</script>'


def test_teams_not_on_the_roster_are_counted_as_other() -> None:
    roster = Roster(
        [Member("cw-01", "north", "caseworker"), Member("cw-03", "south", "caseworker")]
    )
    registry = CollectorRegistry()
    measures = JourneyMeasures(DEFAULT_PACK, registry, team_label=roster.team_label)
    measures.observe(0, b"a", lapsed("pk-a-0000000000000001"), ON)
    measures.observe(0, b"b", lapsed("pk-b-0000000000000001", team=HOSTILE), ON)
    measures.observe(1, b"c", reviewed("pk-c-0000000000000001", team="nowhere"), ON)
    measures.observe(1, b"d", lapsed("pk-d-0000000000000001", team="nowhere"), ON)
    assert sample(registry, "casewatch_plans_in_force", team="north") == 1
    assert sample(registry, "casewatch_plans_in_force", team="other") == 3  # summed into one
    assert sample(registry, "casewatch_reviews_overdue", team="other") == 2
    assert sample(registry, "casewatch_plans_in_force") == 4  # nothing lost
    exposition = generate_latest(registry).decode()
    assert "script" not in exposition and "nowhere" not in exposition
    teams = {s.labels["team"] for f in registry.collect() for s in f.samples if "team" in s.labels}
    assert teams == {"north", "other"}


def test_without_a_roster_file_only_well_formed_teams_are_labels() -> None:
    registry = CollectorRegistry()
    measures = JourneyMeasures(DEFAULT_PACK, registry, team_label=Roster.open().team_label)
    measures.observe(0, b"a", lapsed("pk-a-0000000000000001", team="east"), ON)
    measures.observe(0, b"b", lapsed("pk-b-0000000000000001", team=HOSTILE), ON)
    assert sample(registry, "casewatch_plans_in_force", team="east") == 1
    assert sample(registry, "casewatch_plans_in_force", team="other") == 1
    assert "script" not in generate_latest(registry).decode()
