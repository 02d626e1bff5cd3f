"""Plain English for alerts: titles that name the service for a wait and the phase for a
transfer, subjects in words instead of internal ids (``plan:P1:pfa:2026``), one severity
vocabulary, the timeline's event types, and each rule's guidance from the rule pack (so a
council that localises its pack localises these words too)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from schemas.journeys import ChildFacts
from services.alerts.store.listing import Level
from services.journeys.domain.pack import RuleGuidance, RulePack
from services.journeys.domain.rules import RULES
from services.journeys.domain.views import in_a_sentence

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

LEVEL_WORDS: dict[str, str] = {
    "breach": "Statutory breach",
    "warning": "Warning",
    "exception": "Exception recorded",
    "guidance": "Guidance",
}
LEVEL_HINTS: dict[str, str] = {
    "exception": "Reg 10(4) exception: the 20-week time limit does not apply.",
    "guidance": "Guidance or a local standard, not a statutory duty.",
}

# The rule book's titles, with the two R-AGE-25 clocks told apart.
TITLES: dict[str, str] = {r.rule_id: r.title for r in RULES if r.clocks is not None}

# Event types of the timeline, for people.
EVENT_WORDS: dict[str, str] = {
    "person.registered": "Registered",
    "person.updated": "Details updated",
    "person.left": "Left the council's area",
    "assessment.requested": "Assessment request",
    "request.decided": "Decision whether to assess",
    "assessment.completed": "Assessment",
    "plan.draft_issued": "Draft plan",
    "plan.issued": "EHC plan issued",
    "plan.transferred_in": "Plan transferred in",
    "plan.ceased": "Plan ceased",
    "plan.amended": "Plan amended",
    "review.meeting_scheduled": "Review meeting booked",
    "review.meeting_held": "Review meeting",
    "review.decided": "Annual review decision",
    "review.draft_issued": "Proposed amendments",
    "phase.transfer": "Phase transfer",
    "placement.recorded": "Placement",
    "referral.received": "Referral",
    "referral.first_contact": "First contact",
    "referral.closed": "Referral closed",
}
REVIEW_STEPS = {
    "notice": "meeting notice",
    "advice": "advice to circulate",
    "report": "meeting report",
    "pfa": "preparing-for-adulthood focus",
}
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def not_yet_overdue(title: str) -> str:
    """A deadline still ahead is not overdue yet: "Annual review due", not "... overdue"."""
    if title.endswith(" overdue"):
        return title.removesuffix(" overdue") + " due"
    return title.replace(" overdue (", " due (")


def long_date(day: date) -> str:
    """GOV.UK style, independent of locale: 5 February 2026."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def uk_date(day: date) -> str:
    """DD/MM/YYYY, as forms show and accept it."""
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def dates_in_words(text: str) -> str:
    """ISO dates in stored text (an audit detail) as long dates."""

    def word(m: re.Match[str]) -> str:
        try:
            return long_date(date(int(m[1]), int(m[2]), int(m[3])))
        except ValueError:
            return m[0]

    return _ISO.sub(word, text)


def event_words(kind: str) -> str:
    return EVENT_WORDS.get(kind, kind.split(".")[0].replace("_", " ").capitalize())


def year_group_words(ncy: int) -> str:
    if ncy < 0:
        return "Nursery"
    if ncy == 0:
        return "Reception"
    return f"Year {ncy}"


@dataclass(frozen=True)
class Words:
    """Wording from one rule pack."""

    pack: RulePack

    def title(self, rule_id: str, subject: str, child: ChildFacts | None = None) -> str:
        """The alert's title: the rule in plain words, naming what it is about."""
        parts = subject.split(":")
        if rule_id == "R-WAIT":
            service = self._service(subject, child)
            if service is None:
                return "Long wait for a health or therapy service"
            wait = self.pack.waits[service]
            guidance = wait.guidance is not None and wait.guidance.is_guidance
            kind = {"proposed": ": proposed standard", "local": ": local target"}.get(
                wait.status, ": NICE guidance" if guidance and "NICE" in wait.standard else ""
            )
            return f"Long wait for {in_a_sentence(wait.name)}{kind}"
        if rule_id in ("R-PHASE-UPCOMING", "R-PHASE-MISSED") and len(parts) >= 4:
            phase = _phase(parts[3], child)
            if rule_id == "R-PHASE-UPCOMING":
                return f"Plan to amend for the {phase}"
            return f"Plan not amended in time for the {phase}"
        if rule_id == "R-AGE-25" and subject.endswith(":overrun"):
            return "Plan still in force past its age limit"
        return TITLES.get(rule_id, rule_id)

    def about(self, rule_id: str, subject: str, child: ChildFacts | None = None) -> str:
        """What the alert is about, in words (the subject without internal ids' syntax)."""
        kind, _, rest = subject.partition(":")
        bits = rest.split(":") if rest else []
        if kind == "request" and bits:
            return f"EHC needs assessment request {bits[0]}"
        if kind == "referral" and bits:
            service = self._service(subject, child)
            name = in_a_sentence(self.pack.waits[service].name) if service else "a service"
            wait = f": the {_threshold(bits[1])} wait" if len(bits) > 1 else ""
            return f"Referral {bits[0]} to {name}{wait}"
        if kind == "draft" and bits:
            sent = f", sent {_day(bits[1])}" if len(bits) > 1 else ""
            return f"Proposed amendments to EHC plan {bits[0]}{sent}"
        if kind == "review" and bits:
            meeting = f", meeting on {_day(bits[1])}" if len(bits) > 1 else ""
            step = f": {REVIEW_STEPS.get(bits[2], bits[2])}" if len(bits) > 2 else ""
            return f"Annual review of EHC plan {bits[0]}{meeting}{step}"
        if kind == "plan" and bits:
            return f"EHC plan {bits[0]}{_plan_part(bits[1:])}"
        return subject

    def guidance(
        self, rule_id: str, subject: str, child: ChildFacts | None = None
    ) -> RuleGuidance | None:
        """The pack's words for the rule; for a wait, the service's own when it has them."""
        if rule_id == "R-WAIT":
            service = self._service(subject, child)
            if service is not None and self.pack.waits[service].guidance is not None:
                return self.pack.waits[service].guidance
        return self.pack.guidance.get(rule_id)

    def _service(self, subject: str, child: ChildFacts | None) -> str | None:
        parts = subject.split(":")
        if child is None or len(parts) < 2:
            return None
        service = child.referral_services.get(parts[1])
        return service if service in self.pack.waits else None


def level_words(level: Level | str) -> str:
    return LEVEL_WORDS.get(level, level.capitalize())


def _plan_part(bits: list[str]) -> str:
    if not bits:
        return ""
    what = bits[0]
    if what == "pfa" and len(bits) > 1 and bits[1].isdigit():
        year = int(bits[1])
        return f": preparing-for-adulthood review, school year {year} to {year + 1}"
    if what == "phase" and len(bits) > 1:
        return f": amended plan naming the next setting due {_day(bits[1])}"
    return {
        "decide": ": decision whether to reassess after the transfer in",
        "review": ": first review after the transfer in",
        "age25": ": its maximum end date",
        "overrun": ": still in force after its maximum end date",
    }.get(what, ":" + ":".join(bits))


def _phase(due: str, child: ChildFacts | None) -> str:
    ncy = child.year_group if child else None
    if due[5:] == "03-31":
        return "move from secondary school to post-16"
    if due[5:] != "02-15":
        return "move between post-16 settings"
    return {
        -1: "start at school (Reception)",
        0: "start at school (Reception)",
        2: "move from infant to junior school",
        6: "move from primary to secondary school",
    }.get(ncy if ncy is not None else 99, "move to the next school phase")


def _threshold(label: str) -> str:
    number, unit = label[:-1], label[-1:]
    if not number.isdigit():
        return label
    n = int(number)
    if unit == "m":
        return f"{n}-month"
    if n % 7 == 0:
        return f"{n // 7}-week"
    return f"{n}-day"


def _day(text: str) -> str:
    try:
        return long_date(date.fromisoformat(text))
    except ValueError:
        return text
