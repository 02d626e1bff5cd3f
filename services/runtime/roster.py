"""The roster: which caseworkers and managers exist, and in which team. Routing,
reassignment, metric labels and notifications take only people and teams on it.

A roster is a CSV file (``CASEWATCH_ROSTER_FILE``), one person a row, with a header::

    id,team,role
    cw-01,north,caseworker
    mgr-north,north,manager

``id`` may be spelled ``caseworker_id`` and ``role`` left out (every row a caseworker), so
an SSD caseworker assignments table (``ssd_caseworker_assignments.csv``) is a roster too;
other columns are ignored and never read into memory. Identifiers and team names are 1 to
64 of ``A-Z a-z 0-9 . _ -``, starting with a letter or digit; a person belongs to one team;
``other`` and ``unassigned`` are not team names (they are metric labels). Any row breaking a
rule refuses the whole file, with its line, field and rule.

Without a roster file the roster is *open*: any well-formed identifier is accepted (so an
installation without one keeps working), and only malformed ones are refused. Its metric
labels stay bounded all the same: the first ``OPEN_TEAM_LABELS`` teams it is asked about
are labels, any later one is ``other`` (counted as a refusal), so ingested text cannot grow
a metric without bound. The services log a WARNING at start when the roster is open.
"""

from __future__ import annotations

import csv
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
IDENTIFIER_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
OTHER = "other"  # the metric label of a team not on the roster
UNASSIGNED = "unassigned"  # the metric label of a child with no team
RESERVED_TEAMS = frozenset({OTHER, UNASSIGNED})
OPEN_TEAM_LABELS = 50  # an open roster's distinct team labels; a council has a handful
OPEN_ROSTER_WARNING = (
    "no roster file (CASEWATCH_ROSTER_FILE): the roster is open, so any well-formed "
    "caseworker or team id is accepted and a caseworker who does not exist is not refused; "
    f"team metric labels are the first {OPEN_TEAM_LABELS} teams seen, then 'other'. "
    "Set a roster in production (docs/alerts.md, The roster)."
)
Role = Literal["caseworker", "manager"]
ROLES: tuple[Role, ...] = ("caseworker", "manager")


class RosterInvalid(ValueError):
    """A roster file that breaks a rule (the message names the line, field and rule)."""


def well_formed(value: object) -> bool:
    """An identifier by the roster's charset and length rule."""
    return isinstance(value, str) and IDENTIFIER.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    team: str
    role: Role


class Roster:
    """People and teams, and a tally of the values refused because they were not on it
    (``refused()``: counts by use and reason, for a metric; never the values).

    Usage::

        roster = load_roster(path)            # or Roster.open() without a file
        roster.has_caseworker("cw-01")        # routing, reassignment
        roster.team_of("cw-01")               # "north" (None in an open roster)
        roster.caseworkers_in_team("north")   # ["cw-01", "cw-02"]: a reassign dropdown
        roster.team_label(team)               # a bounded metric label: team, other, unassigned
        roster.refuse("routing", "unknown_caseworker")
    """

    def __init__(self, members: Iterable[Member], *, is_open: bool = False) -> None:
        self.members: Mapping[str, Member] = {m.id: m for m in members}
        self.teams = frozenset(m.team for m in self.members.values())
        self.is_open = is_open
        self._refused: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._labels: set[str] = set()  # an open roster's team labels so far

    @classmethod
    def open(cls) -> Roster:
        """No roster file: any well-formed identifier is accepted."""
        return cls((), is_open=True)

    def __repr__(self) -> str:
        if self.is_open:
            return "Roster(open)"
        return f"Roster({len(self.members)} people in {len(self.teams)} teams)"

    # -- questions -------------------------------------------------------------------------

    def has_caseworker(self, caseworker_id: str) -> bool:
        if self.is_open:
            return well_formed(caseworker_id)
        member = self.members.get(caseworker_id)
        return member is not None and member.role == "caseworker"

    def has_person(self, subject: str) -> bool:
        """A caseworker or a manager: someone who may receive a digest."""
        return well_formed(subject) if self.is_open else subject in self.members

    def has_team(self, team: str) -> bool:
        if self.is_open:
            return well_formed(team) and team not in RESERVED_TEAMS
        return team in self.teams

    def team_of(self, person: str) -> str | None:
        """The person's team; None when they are not on it, or the roster is open."""
        member = self.members.get(person)
        return member.team if member is not None else None

    def caseworkers_in_team(self, team: str) -> list[str]:
        """The caseworker ids of ``team``, sorted (empty in an open roster)."""
        return sorted(
            m.id for m in self.members.values() if m.team == team and m.role == "caseworker"
        )

    def managers(self) -> dict[str, str]:
        """team → manager id, from the manager rows (the first of a team's managers)."""
        found: dict[str, str] = {}
        for m in sorted(self.members.values(), key=lambda m: m.id):
            if m.role == "manager":
                found.setdefault(m.team, m.id)
        return found

    def team_label(self, team: str | None) -> str:
        """A metric label for ``team``: itself when on the roster, ``other`` when not,
        ``unassigned`` when there is none. Never unbounded ingested text."""
        if team is None or team == "" or team == UNASSIGNED:
            return UNASSIGNED
        if not self.has_team(team):
            return OTHER
        if not self.is_open:
            return team
        with self._lock:
            if team in self._labels:
                return team
            if len(self._labels) < OPEN_TEAM_LABELS:
                self._labels.add(team)
                return team
            self._refused[("metric_label", "too_many_teams")] += 1
        return OTHER

    # -- refusals --------------------------------------------------------------------------

    def refuse(self, use: str, reason: str, n: int = 1) -> None:
        """Count ``n`` values refused for ``use`` (routing, reassign, notification)."""
        with self._lock:
            self._refused[(use, reason)] += n

    def refused(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._refused)


def load_roster(path: Path) -> Roster:
    """Read a roster CSV (UTF-8, BOM and CRLF allowed); refuse it whole on any bad row."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return Roster(_members(path.name, csv.reader(handle)))
    except OSError as exc:
        raise RosterInvalid(f"roster {path}: cannot be read ({type(exc).__name__})") from exc
    except UnicodeDecodeError as exc:
        raise RosterInvalid(f"roster {path.name}: not UTF-8 text") from exc
    except csv.Error as exc:
        raise RosterInvalid(f"roster {path.name}: not a CSV file ({exc})") from exc


def _members(name: str, rows: Iterable[list[str]]) -> list[Member]:
    lines = iter(rows)
    header = [h.strip().lower() for h in next(lines, [])]
    id_column = next((c for c in ("id", "caseworker_id") if c in header), None)
    if id_column is None or "team" not in header:
        raise RosterInvalid(
            f"roster {name}: the header must name an id (or caseworker_id) and a team column"
        )
    at: dict[str, int] = {c: header.index(c) for c in (id_column, "team", "role") if c in header}
    members: dict[str, tuple[int, Member]] = {}
    for line, row in enumerate(lines, start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        member = _member(name, line, row, at, id_column)
        seen = members.get(member.id)
        if seen is not None and seen[1] != member:
            raise RosterInvalid(
                f"roster {name} line {line}: {id_column} {member.id} is already on line "
                f"{seen[0]} as {seen[1].role} of team {seen[1].team}; a person has one team "
                "and one role"
            )
        members.setdefault(member.id, (line, member))
    if not members:
        raise RosterInvalid(f"roster {name}: no people (a roster must name at least one)")
    return [member for _, member in members.values()]


def _member(name: str, line: int, row: list[str], at: Mapping[str, int], id_column: str) -> Member:
    def cell(column: str) -> str:
        index = at.get(column)
        return row[index].strip() if index is not None and index < len(row) else ""

    where = f"roster {name} line {line}"
    person, team = cell(id_column), cell("team")
    for column, value in ((id_column, person), ("team", team)):
        if not well_formed(value):
            shown = "is empty" if not value else "breaks the rule"
            raise RosterInvalid(f"{where}: {column} {shown}: {IDENTIFIER_RULE}")
    if team in RESERVED_TEAMS:
        raise RosterInvalid(f"{where}: team {team!r} is reserved (a metric label)")
    role = cell("role").lower() or "caseworker"
    if role not in ROLES:
        raise RosterInvalid(f"{where}: role must be caseworker or manager")
    return Member(person, team, "manager" if role == "manager" else "caseworker")


def write_roster(path: Path, members: Iterable[Member]) -> Path:
    """Write a roster CSV (the embedded demo writes its own)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["id", "team", "role"])
        for m in sorted(members, key=lambda m: (m.team, m.role, m.id)):
            out.writerow([m.id, m.team, m.role])
    return path
