"""The daily digest: per person, how many alerts of which rule are new or were escalated
since the last digest, and a link to the inbox.

A digest names rules and counts, never a child: no name, date of birth, UPN, person key or
case-system reference. Its text is built from nothing else (``Digest`` holds no child data),
so no later change to an alert's fields can leak into an email.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from services.alerts.store.store import Activity
from services.alerts.web.views import rule_title
from services.journeys.domain.pack import DEFAULT_PACK, RuleGuidance

NEW = ("opened", "reopened")


@dataclass(frozen=True)
class Digest:
    recipient: str  # a caseworker's or manager's subject
    new: Mapping[str, int]  # rule id → alerts
    escalated: Mapping[str, int]
    inbox_url: str
    # rule id -> the rule pack's words (what is required, where, the next step): no child data
    guidance: Mapping[str, RuleGuidance] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        parts = [_count(sum(self.new.values()), "new alert")]
        if self.escalated:
            parts.append(f"{sum(self.escalated.values())} escalated")
        return "casewatch: " + ", ".join(parts)

    def text(self) -> str:
        lines = [f"Hello {self.recipient},", "", "Since your last casewatch digest:", ""]
        for heading, counts in (("New alerts", self.new), ("Escalated alerts", self.escalated)):
            if counts:
                lines.append(f"{heading}:")
                lines += [f"  - {rule_title(r)} ({r}): {n}" for r, n in sorted(counts.items())]
                lines.append("")
        rules = sorted({*self.new, *self.escalated} & set(self.guidance))
        if rules:
            lines += ["What each rule asks of you:", ""]
            for r in rules:
                said = self.guidance[r]
                lines += [
                    f"{rule_title(r)} ({r})",
                    f"  Requires: {said.requires}",
                    f"  Reference: {said.reference}",
                    f"  Next step: {said.next_step}",
                    "",
                ]
        lines += [
            f"Open your alerts: {self.inbox_url}",
            "",
            "This message names no child. Sign in to the inbox to see who each alert is about.",
        ]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Heard:
    """One thing a person hears about: an alert new to them, or escalated."""

    event_id: int  # the audit record's id
    kind: Literal["new", "escalated"]
    rule_id: str


def heard_by(activity: Sequence[Activity], managers: Mapping[str, str]) -> dict[str, list[Heard]]:
    """Who hears about what. A new alert goes to its caseworker, or to the team's manager
    when it sits in the team queue; an escalation goes to the manager it went to and to the
    caseworker whose alert it was."""
    heard: defaultdict[str, list[Heard]] = defaultdict(list)
    for item in activity:
        if item.action in NEW:
            owner = item.caseworker_id or (managers.get(item.team) if item.team else None)
            if owner:
                heard[owner].append(Heard(item.event_id, "new", item.rule_id))
        elif item.action == "escalated":
            for person in sorted({p for p in (item.escalated_to, item.caseworker_id) if p}):
                heard[person].append(Heard(item.event_id, "escalated", item.rule_id))
    return dict(heard)


def digest_of(
    person: str,
    heard: Sequence[Heard],
    inbox_url: str,
    lead: bool,
    guidance: Mapping[str, RuleGuidance] = DEFAULT_PACK.guidance,
) -> Digest:
    """``person``'s digest of ``heard``; a team's manager (``lead``) is sent to ``/team``."""
    new = Counter(h.rule_id for h in heard if h.kind == "new")
    escalated = Counter(h.rule_id for h in heard if h.kind == "escalated")
    return Digest(
        recipient=person,
        new=dict(new),
        escalated=dict(escalated),
        inbox_url=f"{inbox_url}/team" if lead else f"{inbox_url}/inbox",
        guidance=guidance,
    )


def digests_from(
    activity: Sequence[Activity],
    inbox_url: str,
    managers: Mapping[str, str],
    guidance: Mapping[str, RuleGuidance] = DEFAULT_PACK.guidance,
) -> list[Digest]:
    """One digest per person with something to hear about (``heard_by``), by person."""
    leads = set(managers.values())
    return [
        digest_of(person, items, inbox_url, person in leads, guidance)
        for person, items in sorted(heard_by(activity, managers).items())
    ]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
