"""What makes the synthetic authority's returns look like real ones (issue 12 item 5): a
refused request before the one in force, mediation and tribunal, young people aged 16-25
known by a ULN only, plans transferred in from another LA; and, for ``--messy``, the faults
real returns carry.

Drawn from their own random stream after the core children and their extras, so the
pathways (and the DemoSummary the rules are cross-checked against) are unchanged by them.

Rates (approximate; DfE "Education, health and care plans" 2024 and SEND tribunal
statistics): about one request in four is refused, and many families ask again; mediation
or an appeal follows a few percent of decisions, most often a refusal to assess or to issue.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

from services.ingest.demo.types import DemoChild, DemoExtras, DemoRequest, Flag, Identifiers

EARLIER_REFUSAL = 0.12  # children with a refused request before the one in force
OLDER = 0.08  # of children whose request is recent: aged 16-18 at the request
# chance of each flag given the decision it is about
REFUSAL_FLAGS: dict[Flag, float] = {"RequestMediation": 0.10, "RequestTribunal": 0.06}
NOT_ISSUING_FLAGS: dict[Flag, float] = {"AssessmentMediation": 0.12, "AssessmentTribunal": 0.08}
PLAN_FLAGS: dict[Flag, float] = {"OtherMediation": 0.02, "OtherTribunal": 0.015}
TRANSFER_IN = 0.05  # of plans in force that can be (see ``_transfer_la``)
NEIGHBOURS = ("352", "354", "355", "356", "357", "359")  # Greater Manchester LAs but Trafford


def age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _flags(rng: random.Random, chances: dict[Flag, float]) -> frozenset[Flag]:
    return frozenset(f for f, chance in chances.items() if rng.random() < chance)


def _decide_days(rng: random.Random) -> timedelta:
    return timedelta(days=rng.randint(21, 42) if rng.random() < 0.85 else rng.randint(43, 75))


def _older(rng: random.Random, child: DemoChild, today: date) -> DemoChild:
    """A young person aged 16-18 at a recent request (post-16 requests are real and common);
    not a child whose phase transfer was drawn for their year group."""
    recent = child.received >= today - timedelta(days=3 * 365)
    if not recent or child.extras.phase_due is not None or rng.random() >= OLDER:
        return child
    born = child.received - timedelta(days=rng.randint(16 * 365 + 5, 18 * 365 + 300))
    return replace(child, born=born)


def _identifiers(rng: random.Random, child: DemoChild, today: date) -> Identifiers:
    """Under 16: a UPN.  16-25: most have both, many (in FE, never at school here) a ULN
    only, a few neither (SEN2 UPNunknown UN9)."""
    if age(child.born, today) < 16:
        return "upn"
    draw = rng.random()
    return "uln" if draw < 0.35 else "none" if draw < 0.40 else "upn+uln"


def _earlier(rng: random.Random, child: DemoChild) -> tuple[DemoRequest, ...]:
    """A request refused (not to assess) 6 months to 2 years before the one in force."""
    if rng.random() >= EARLIER_REFUSAL:
        return ()
    received = child.received - timedelta(days=rng.randint(180, 720))
    if received < child.born + timedelta(days=2 * 365):
        return ()
    return (DemoRequest(received, received + _decide_days(rng), _flags(rng, REFUSAL_FLAGS)),)


def _current_flags(rng: random.Random, child: DemoChild) -> frozenset[Flag]:
    flags: frozenset[Flag] = frozenset()
    if child.decision is not None and child.decision[0] == "N":
        flags |= _flags(rng, REFUSAL_FLAGS)
    if child.assessment is not None and child.assessment[0] == "N":
        flags |= _flags(rng, NOT_ISSUING_FLAGS)
    if child.plan is not None:
        flags |= _flags(rng, PLAN_FLAGS)
    return flags


def _transfer_la(rng: random.Random, child: DemoChild, today: date) -> str:
    """A plan in force taken on from another LA: one reviewed here since (no clock of its
    own left) or one whose first review is not yet due (the 6-week prompt may show)."""
    plan = child.plan
    if plan is None or child.pathway != "plan_reviewed" or rng.random() >= TRANSFER_IN:
        return ""
    recent = plan.start > today - timedelta(days=330)
    return rng.choice(NEIGHBOURS) if plan.last_review is not None or recent else ""


def add_history(children: Sequence[DemoChild], rng: random.Random, today: date) -> list[DemoChild]:
    built = []
    for child in children:
        child = _older(rng, child, today)
        extras: DemoExtras = replace(child.extras, transfer_la=_transfer_la(rng, child, today))
        child = replace(
            child,
            extras=extras,
            ids=_identifiers(rng, child, today),
            earlier=_earlier(rng, child),
            flags=_current_flags(rng, child),
        )
        built.append(child)
    return built


# --- --messy: the faults real returns carry -------------------------------------------------

FAULTS = ("upn", "uln", "postcode", "date")  # the first three warn, an impossible date rejects
FAULT_SHARE = 0.02


def messy_faults(children: Sequence[DemoChild], rng: random.Random) -> dict[int, frozenset[str]]:
    """Children (by number) and their faults: a UPN with a wrong check letter, a ULN with a
    wrong check digit, a malformed postcode (SEN2 only: the SSD has no postcode), and an
    impossible date (30 February) as an earlier refused request's decision date, which
    rejects that request alone.  At least one of each where any child can have it."""
    eligible = {
        "upn": [c.number for c in children if c.ids in ("upn", "upn+uln")],
        "uln": [c.number for c in children if c.ids in ("uln", "upn+uln")],
        "postcode": [c.number for c in children],
        "date": [c.number for c in children if c.earlier],
    }
    found: dict[int, set[str]] = {}
    for fault in FAULTS:
        numbers = eligible[fault]
        if not numbers:
            continue
        chosen = rng.sample(numbers, max(1, round(len(numbers) * FAULT_SHARE)))
        for number in chosen:
            found.setdefault(number, set()).add(fault)
    return {number: frozenset(faults) for number, faults in found.items()}


def wrong_check_letter(upn: str) -> str:
    """``upn`` with another check letter (the next one in the check alphabet)."""
    from services.ingest.identifiers import LETTERS

    return LETTERS[(LETTERS.index(upn[0]) + 1) % len(LETTERS)] + upn[1:]


def wrong_check_digit(uln: str) -> str:
    return uln[:9] + str((int(uln[9]) + 1) % 10)


BAD_POSTCODE = "M33 7Q"  # an outward code and half an inward one


def impossible(on: date) -> str:
    """A date that does not exist, in the year of ``on``."""
    return f"{on.year}-02-30"
