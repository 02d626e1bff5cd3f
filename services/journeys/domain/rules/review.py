"""Annual review clocks (rules.md §3; CFA s44, Regs 15, 20-22, CoP 9.166-9.178)."""

from __future__ import annotations

from datetime import date, timedelta

from services.journeys.domain.calendar import add_months, age_on
from services.journeys.domain.clocks import Clock
from services.journeys.domain.journey import Journey, PlanView, memo, person, plans, remember
from services.journeys.domain.pack import RulePack

DAY = timedelta(days=1)


def plans_in_force(journey: Journey, as_of: date) -> tuple[PlanView, ...]:
    """R-CEASE: plans started and not ceased on ``as_of``; a ceased plan has no clocks."""
    known = memo(journey)  # every plan rule asks (inline: the most asked view)
    key = (plans_in_force, as_of)
    found = known.get(key)
    if found is None:
        found = known[key] = tuple(p for p in plans(journey) if p.in_force_on(as_of))
    return found  # type: ignore[return-value]


def reviews_here(plan: PlanView, as_of: date) -> list[date]:
    """Completed reviews (LA decision dates) of this LA for the plan, known on ``as_of``.

    A review dated before the plan started here cannot belong to it (an R-DATA error,
    reported on ingest) and is ignored.
    """
    if not plan.review_decisions:
        return []
    start = plan.start_on
    found = remember(  # every plan rule asks, about the same dates: kept with the plan's view
        plan.derived,
        (reviews_here, as_of),
        lambda: tuple(
            sorted(d.decided_on for d in plan.review_decisions if start <= d.decided_on <= as_of)
        ),
    )
    return list(found)


def review_anchor(plan: PlanView, as_of: date) -> date:
    """R-AR-DUE anchor: the last completed review's *decision* date, else the date the plan was
    first issued (for a plan transferred in with no review here yet: the old LA's anchor).

    A meeting without a decision does not move it, nor does a Tribunal-ordered amendment.
    """
    done = reviews_here(plan, as_of)
    if done:
        return done[-1]
    if plan.issued_on is not None:
        return plan.issued_on
    assert plan.transferred_in is not None
    return plan.transferred_in.anchor_on


def review_due(plan: PlanView, as_of: date, pack: RulePack) -> date:
    """R-AR-DUE: review_due = add_months(anchor, 12); for a transferred-in plan not yet
    reviewed here, the later of that and transfer + 3 months (R-TRANSFER-IN)."""
    due = add_months(review_anchor(plan, as_of), pack.review.review_months)
    if _awaiting_first_review_here(plan, as_of):
        assert plan.transferred_in is not None
        transfer = plan.transferred_in.transferred_on
        due = max(due, add_months(transfer, pack.review.transfer_review_months))
    return due


def _awaiting_first_review_here(plan: PlanView, as_of: date) -> bool:
    return plan.transferred_in is not None and not reviews_here(plan, as_of)


def _meetings(plan: PlanView, as_of: date, after: date) -> list[date]:
    return sorted(m.meeting_on for m in plan.review_meetings if after < m.meeting_on <= as_of)


def annual_review_due(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-AR-DUE: overdue ("lapsed") iff now > review_due with no later completed review."""
    return [
        Clock("R-AR-DUE", "breach", f"plan:{p.plan_id}", due, opens_on=due + DAY)
        for p in plans_in_force(journey, as_of)
        if not _awaiting_first_review_here(p, as_of)
        for due in [review_due(p, as_of, pack)]
    ]


def warn(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-AR-WARN (advisory): from review_due - 12 weeks while no meeting is booked or held
    since the anchor; the latest compliant meeting is review_due - 28 days."""
    found = []
    for p in plans_in_force(journey, as_of):
        anchor, due = review_anchor(p, as_of), review_due(p, as_of, pack)
        booked = p.scheduled_meeting is not None and p.scheduled_meeting > anchor
        if booked or _meetings(p, as_of, after=anchor):
            continue
        opens = due - timedelta(days=pack.review.warn_days)
        found.append(
            Clock(
                "R-AR-WARN",
                "advisory",
                f"plan:{p.plan_id}",
                due,
                opens_on=opens,
                closes_on=due + DAY,
                statutory=False,
            )
        )
    return found


def decision_4w(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-AR-DECISION-4W: the LA's decision (M/A/C) is due meeting + 28 days (Reg 20(10))."""
    found = []
    for p in plans_in_force(journey, as_of):
        decided = reviews_here(p, as_of)
        for meeting in _meetings(p, as_of, after=p.start_on - DAY):
            if any(d >= meeting for d in decided):
                continue
            due = meeting + timedelta(days=pack.review.decision_days)
            found.append(
                Clock(
                    "R-AR-DECISION-4W",
                    "breach",
                    f"review:{p.plan_id}:{meeting.isoformat()}",
                    due,
                    opens_on=due + DAY,
                )
            )
    return found


def steps(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-AR-STEPS (advisory): notice and advice at least 14 days before the meeting, the
    report within 14 days after. Shown during the review cycle: the decision closes them."""
    r = pack.review
    found = []
    for p in plans_in_force(journey, as_of):
        decided = reviews_here(p, as_of)
        for m in p.review_meetings:
            if not (p.start_on <= m.meeting_on <= as_of) or any(d >= m.meeting_on for d in decided):
                continue
            subject = f"review:{p.plan_id}:{m.meeting_on.isoformat()}"
            late_before = [
                ("notice", m.notice_sent_on, m.meeting_on - timedelta(days=r.notice_days)),
                ("advice", m.advice_circulated_on, m.meeting_on - timedelta(days=r.advice_days)),
            ]
            for step, sent, due in late_before:
                if sent is not None and sent > due:
                    found.append(_advisory("R-AR-STEPS", f"{subject}:{step}", due, m.meeting_on))
            # The report date is part of the meeting fact, so the clock is fixed by it: open
            # from the day after the report was due until the report went (if ever).
            report_due = m.meeting_on + timedelta(days=r.report_days)
            sent = m.report_sent_on
            if sent is None or sent > report_due:
                found.append(
                    _advisory(
                        "R-AR-STEPS",
                        f"{subject}:report",
                        report_due,
                        report_due + DAY,
                        closes_on=sent,
                    )
                )
    return found


def _advisory(
    rule_id: str, subject: str, due: date, opens: date, closes_on: date | None = None
) -> Clock:
    return Clock(
        rule_id, "advisory", subject, due, opens_on=opens, closes_on=closes_on, statutory=False
    )


def amend_8w(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-AMEND-8W: after proposed amendments (SEN2 ReviewDraft), the final amended plan is
    due draft + 56 days (Reg 22(3))."""
    found = []
    for p in plans_in_force(journey, as_of):
        amended = [a.amended_on for a in p.amendments if a.amended_on <= as_of]
        for draft in p.review_drafts:
            if draft > as_of or any(a >= draft for a in amended):
                continue
            due = draft + timedelta(days=pack.review.amend_days)
            found.append(
                Clock(
                    "R-AMEND-8W",
                    "breach",
                    f"draft:{p.plan_id}:{draft.isoformat()}",
                    due,
                    opens_on=due + DAY,
                )
            )
    return found


def under5(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-AR-UNDER5 (advisory, CoP 9.178): a child under 5 at the anchor gets an interim-review
    prompt at add_months(anchor, 6), until a meeting is held after the anchor."""
    who = person(journey)
    if who is None or who.date_of_birth is None:
        return []
    found = []
    for p in plans_in_force(journey, as_of):
        anchor = review_anchor(p, as_of)
        if age_on(anchor, who.date_of_birth) >= 5 or _meetings(p, as_of, after=anchor):
            continue
        # a plan transferred in after its old anchor's interim date: due on arrival, never
        # on a date before this LA held the plan
        due = max(add_months(anchor, pack.review.under5_months), p.start_on)
        found.append(
            _advisory(
                "R-AR-UNDER5",
                f"plan:{p.plan_id}",
                due,
                due,
                closes_on=review_due(p, as_of, pack) + DAY,
            )
        )
    return found


def transfer_in(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-TRANSFER-IN (Reg 15): decide within 6 weeks of the transfer whether to re-assess,
    and review by the later of add_months(anchor, 12) and transfer + 3 months.

    SSD and SEN2 record no re-assessment decision, so the 6-week clock is a prompt from the
    transfer to its due date (warning), not a breach casewatch could resolve.
    """
    found = []
    for p in plans_in_force(journey, as_of):
        if not _awaiting_first_review_here(p, as_of):
            continue
        assert p.transferred_in is not None
        transfer = p.transferred_in.transferred_on
        decide = transfer + timedelta(days=pack.review.transfer_decide_days)
        due = review_due(p, as_of, pack)
        found += [
            Clock(
                "R-TRANSFER-IN",
                "warning",
                f"plan:{p.plan_id}:decide",
                decide,
                opens_on=transfer,
                closes_on=decide + DAY,
            ),
            Clock("R-TRANSFER-IN", "breach", f"plan:{p.plan_id}:review", due, opens_on=due + DAY),
        ]
    return found
