"""R-WAIT: waiting times for health and therapy services (rules.md §5).

Clock start: the referral received by the service. Clock stop: the first substantive contact
the service's standard names, or the referral's closure. Both stops are facts with their own
dates, so a stop dated after ``as_of`` is not known yet; ``next_deadline`` finds it through
the fact dates, and no clock here closes on a fact's date.
"""

from __future__ import annotations

from datetime import date, timedelta

from services.journeys.domain.calendar import add_months
from services.journeys.domain.clocks import Clock
from services.journeys.domain.journey import Journey, ReferralView, referrals
from services.journeys.domain.pack import RulePack, ServiceWait, WaitThreshold

DAY = timedelta(days=1)


def long_waits(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-WAIT (NICE QS51 st. 1; NHS Constitution 18 weeks RTT; rules.md §5): for each referral
    received on or before ``as_of`` to a service in ``pack.waits``, one clock per threshold:
    due = received + threshold (calendar months clamp to month end), open from the day after.

    ``statutory`` is True only for a service whose pack status is "standard" (the national
    standards: NICE QS51, the NHS Constitution's 18 weeks). "proposed" (CAMHS 4 weeks) and
    "local" (therapy targets) waits are never reported as statutory breaches. A referral to a
    service the pack does not know has no clock: ingest reports the unknown code.
    """
    found = []
    for r in referrals(journey):
        service = pack.waits.get(r.service)
        if service is None or r.received_on > as_of or _wait_stopped(r, as_of):
            continue
        found += [_wait_clock(r, service, t) for t in service.thresholds]
    return found


def _wait_stopped(referral: ReferralView, as_of: date) -> bool:
    """First contact or closure known on ``as_of``."""
    stops = (referral.first_contact_on, referral.closed_on)
    return any(d is not None and d <= as_of for d in stops)


def wait_due(received_on: date, threshold: WaitThreshold) -> date:
    """R-WAIT due date: received + threshold, in calendar months or in days."""
    if threshold.months is not None:
        return add_months(received_on, threshold.months)
    assert threshold.days is not None  # the pack validates exactly one unit
    return received_on + timedelta(days=threshold.days)


def threshold_label(threshold: WaitThreshold) -> str:
    """``126d`` or ``3m``: names the threshold in the clock's subject."""
    return f"{threshold.months}m" if threshold.months is not None else f"{threshold.days}d"


def _wait_clock(referral: ReferralView, service: ServiceWait, threshold: WaitThreshold) -> Clock:
    due = wait_due(referral.received_on, threshold)
    return Clock(
        "R-WAIT",
        threshold.severity,
        f"referral:{referral.referral_id}:{threshold_label(threshold)}",
        due,
        opens_on=due + DAY,
        statutory=service.status == "standard",
    )
