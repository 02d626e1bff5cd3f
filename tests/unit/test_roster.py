"""The roster file: who and which teams exist; every rule refuses the whole file, naming
the line, the field and the rule, never echoing the value."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.roster import (
    OTHER,
    UNASSIGNED,
    Member,
    Roster,
    RosterInvalid,
    load_roster,
    well_formed,
    write_roster,
)

ALPHABET = "ABCXYZabcxyz0189._-"
HOSTILE = ['north"><script>alert(1)</script>', "cw-09\r\nBcc: x@evil.test", "x" * 100_000]


def roster_file(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_a_roster_file_names_people_teams_and_managers(tmp_path: Path) -> None:
    roster = load_roster(
        roster_file(
            tmp_path,
            "\ufeffid,team,role\r\ncw-01,north,caseworker\r\ncw-02,north,\r\n"
            "cw-03,south,caseworker\r\nmgr-north,north,manager\r\n\r\n",
        )
    )
    assert roster.caseworkers_in_team("north") == ["cw-01", "cw-02"]  # no manager in the list
    assert roster.caseworkers_in_team("nowhere") == []
    assert roster.managers() == {"north": "mgr-north"}
    assert roster.team_of("cw-03") == "south"
    assert roster.has_caseworker("cw-01") and not roster.has_caseworker("mgr-north")
    assert roster.has_person("mgr-north") and not roster.has_person("cw-evil")
    assert (roster.has_team("south"), roster.has_team("nowhere")) == (True, False)
    assert [roster.team_label(t) for t in ("north", "nowhere", None, "")] == [
        "north",
        OTHER,
        UNASSIGNED,
        UNASSIGNED,
    ]


def test_an_ssd_assignments_table_is_a_roster(tmp_path: Path) -> None:
    """``ssd_caseworker_assignments.csv``: one row per child; the person ids are not kept."""
    roster = load_roster(
        roster_file(
            tmp_path,
            "person_id,caseworker_id,team,from_date\n700001,cw-07,west,2021-02-22\n"
            "700002,cw-07,west,2022-01-01\n700003,cw-01,north,2023-05-05\n",
        )
    )
    assert roster.members == {
        "cw-07": Member("cw-07", "west", "caseworker"),
        "cw-01": Member("cw-01", "north", "caseworker"),
    }


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('id,team\n"cw-09\r\nBcc: x",north\n', "line 2: id breaks the rule: 1 to 64 letters"),
        (f"id,team\ncw-01,{'n' * 65}\n", "line 2: team breaks the rule"),
        ("id,team\ncw-01,\n", "line 2: team is empty"),
        ("id,team\ncw-01,north\ncw-01,south\n", "line 3: id cw-01 is already on line 2"),
        ("id,team\ncw-01,other\n", "line 2: team 'other' is reserved"),
        ("id,team,role\ncw-01,north,boss\n", "line 2: role must be caseworker or manager"),
        ("person,unit\ncw-01,north\n", "the header must name an id (or caseworker_id) and a team"),
        ("id,team\n", "no people"),
        ("", "the header must name"),
    ],
)
def test_a_roster_breaking_a_rule_is_refused_whole(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(RosterInvalid, match=r"roster roster\.csv") as refused:
        load_roster(roster_file(tmp_path, text))
    assert says in str(refused.value)
    assert "Bcc" not in str(refused.value)  # the value itself is never repeated


def test_a_roster_that_is_not_text_or_not_there_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RosterInvalid, match="not UTF-8"):
        load_roster(_latin1(tmp_path))
    with pytest.raises(RosterInvalid, match="cannot be read"):
        load_roster(tmp_path / "missing.csv")


def _latin1(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_bytes("id,team\ncw-01,nörth\n".encode("latin-1"))
    return path


def test_a_written_roster_reads_back(tmp_path: Path) -> None:
    people = [Member("cw-01", "north", "caseworker"), Member("mgr-north", "north", "manager")]
    assert load_roster(write_roster(tmp_path / "r.csv", people)).members == {
        m.id: m for m in people
    }


@given(st.text(alphabet=ALPHABET, min_size=1, max_size=64).filter(lambda s: s[0].isalnum()))
def test_identifiers_by_the_rule_are_well_formed(value: str) -> None:
    assert well_formed(value)


NOT_IN_THE_RULE = ["\r", "\n", "\x00", " ", '"', "<", "\u00e9", "\uff12"]  # é, full-width 2


@given(st.text(max_size=80), st.sampled_from(NOT_IN_THE_RULE))
def test_control_characters_markup_and_non_ascii_are_never_well_formed(text: str, bad: str) -> None:
    assert not well_formed(text[:30] + bad + text[30:])


def test_hostile_values_are_refused_by_an_open_roster_too() -> None:
    roster = Roster.open()
    assert roster.has_caseworker("cw-42") and roster.has_team("north")
    assert roster.team_of("cw-42") is None and roster.caseworkers_in_team("north") == []
    for value in HOSTILE:
        assert not roster.has_caseworker(value)
        assert not roster.has_team(value)
        assert roster.team_label(value) == OTHER
    assert not well_formed("x" * 65) and well_formed("x" * 64)
    assert not roster.has_team(OTHER)  # a metric label, not a team


def test_an_open_roster_s_team_labels_stay_bounded(caplog: pytest.LogCaptureFixture) -> None:
    """Without a roster file any well-formed team is accepted, but a metric cannot grow
    without bound: the first OPEN_TEAM_LABELS teams are labels, later ones `other`, counted;
    the services say at start that the roster is open."""
    from services.runtime.roster import OPEN_TEAM_LABELS
    from services.runtime.settings import Settings

    with caplog.at_level("WARNING"):
        roster = Settings().load_roster()
    assert roster.is_open and "the roster is open" in caplog.text
    teams = [f"team-{n}" for n in range(OPEN_TEAM_LABELS + 30)]
    labels = [roster.team_label(t) for t in teams]
    assert labels[:OPEN_TEAM_LABELS] == teams[:OPEN_TEAM_LABELS]
    assert set(labels[OPEN_TEAM_LABELS:]) == {OTHER}
    assert roster.team_label("team-0") == "team-0"  # a label once given stays
    assert roster.refused() == {("metric_label", "too_many_teams"): 30}
    assert len({roster.team_label(f"x{n}") for n in range(1000)}) == 1  # all `other`
