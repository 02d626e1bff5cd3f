from datetime import date

from services.journeys.scheduling import EvaluationSchedule

D = date(2026, 1, 5)


def schedule() -> EvaluationSchedule:
    return EvaluationSchedule(settle=1.0, full_every=60.0)


def test_first_tick_of_a_partition_is_a_full_sweep_then_only_changes() -> None:
    s = schedule()
    assert s.plan(0, now=100.0, as_of=D).full
    assert not s.plan(0, now=101.0, as_of=D).full
    assert s.plan(1, now=101.0, as_of=D).full  # each partition on its own


def test_changed_journey_waits_until_settled_and_is_evaluated_once() -> None:
    s = schedule()
    s.plan(0, now=0.0, as_of=D)
    s.changed(0, b"a", now=10.0)
    early = s.plan(0, now=10.5, as_of=D)
    assert early.keys == () and early.settling == {b"a"}
    s.changed(0, b"a", now=10.8)  # another event for the same child restarts the wait
    assert s.plan(0, now=11.5, as_of=D).keys == ()
    assert s.plan(0, now=11.9, as_of=D).keys == (b"a",)
    assert s.plan(0, now=13.0, as_of=D).keys == ()


def test_new_date_or_interval_forces_a_full_sweep_but_not_of_settling_journeys() -> None:
    s = schedule()
    s.plan(0, now=0.0, as_of=D)
    assert s.plan(0, now=30.0, as_of=date(2026, 1, 6)).full
    s.changed(0, b"a", now=89.5)
    plan = s.plan(0, now=90.0, as_of=date(2026, 1, 6))
    assert plan.full and plan.settling == {b"a"}


def test_forgotten_partition_is_swept_in_full_by_its_next_tick() -> None:
    s = schedule()
    s.plan(2, now=0.0, as_of=D)
    s.changed(2, b"a", now=1.0)
    s.forget(2)
    plan = s.plan(2, now=1.1, as_of=D)
    assert plan.full and plan.settling == frozenset()
