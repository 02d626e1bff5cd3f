"""Which journeys a tick evaluates: settled changes, due deadlines, a slice to verify."""

from datetime import date, timedelta

from services.journeys.codec import JourneyHeader
from services.journeys.scheduling import EvaluationSchedule

D = date(2026, 1, 5)
PACK = "england-2026.1"


def schedule(**kw: float) -> EvaluationSchedule:
    s = EvaluationSchedule(settle=1.0, verify_every=1e9, tick_seconds=1.0, pack_version=PACK)
    for name, value in kw.items():
        setattr(s, name, value)
    s.adopt(0, [], now=0.0)
    return s


def test_a_changed_journey_waits_until_settled_and_is_evaluated_once() -> None:
    s = schedule()
    s.changed(0, b"a", now=10.0)
    assert s.plan(0, now=10.5, as_of=D, limit=100).settled == ()
    s.changed(0, b"a", now=10.8)  # another event for the same child restarts the wait
    assert s.plan(0, now=11.5, as_of=D, limit=100).settled == ()
    assert s.plan(0, now=11.9, as_of=D, limit=100).settled == (b"a",)
    s.evaluated(0, b"a", due=None)
    assert s.plan(0, now=13.0, as_of=D, limit=100).settled == ()


def test_due_journeys_come_from_the_index_but_not_while_they_settle() -> None:
    s = schedule()
    s.evaluated(0, b"due", D)
    s.evaluated(0, b"later", D + timedelta(days=1))
    s.evaluated(0, b"settling", D)
    s.changed(0, b"settling", now=5.0)
    assert s.plan(0, now=5.5, as_of=D, limit=100).due == (b"due",)
    assert s.plan(0, now=5.5, as_of=D + timedelta(days=1), limit=100).due == (b"due", b"later")


def test_a_backlog_holds_evaluation_back_until_it_lasts_too_long() -> None:
    s = schedule(max_wait=30.0)
    s.evaluated(0, b"due", D)
    s.changed(0, b"a", now=0.0)
    assert s.plan(0, now=5.0, as_of=D, limit=100, backlog=True).settled == ()
    assert s.plan(0, now=20.0, as_of=D, limit=100, backlog=True).due == ()
    late = s.plan(0, now=36.0, as_of=D, limit=100, backlog=True)
    assert late.settled == (b"a",) and late.due == (b"due",)
    assert s.plan(0, now=37.0, as_of=D, limit=100).settled == (b"a",)


def test_adopting_a_partition_reads_headers_and_settles_what_was_never_evaluated() -> None:
    s = EvaluationSchedule(settle=1.0, verify_every=1e9, tick_seconds=1.0, pack_version=PACK)
    assert not s.ready(2)
    stored = [
        (b"pending", JourneyHeader(2, 7, True, D, PACK)),
        (b"due", JourneyHeader(2, 8, False, D, PACK)),
        (b"old-pack", JourneyHeader(2, 9, False, D + timedelta(days=9), "england-2025.1")),
        (b"nothing", JourneyHeader(2, 10, False, None, PACK)),
    ]
    assert s.adopt(2, stored, now=100.0) == 4 and s.ready(2)
    plan = s.plan(2, now=101.0, as_of=D, limit=100)
    assert plan.settled == (b"old-pack", b"pending") and plan.due == (b"due",)
    s.forget(2)
    assert not s.ready(2) and s.size(2) == 0


def test_verification_walks_every_journey_in_slices_once_per_round() -> None:
    s = EvaluationSchedule(settle=1.0, verify_every=4.0, tick_seconds=1.0, pack_version=PACK)
    keys = [bytes([65 + n]) for n in range(8)]
    s.adopt(0, [(k, JourneyHeader(0, 1, False, None, PACK)) for k in keys], now=0.0)
    seen = [s.plan(0, now=t, as_of=D, limit=100).verify for t in (0.5, 1.0, 1.5, 2.0, 2.5)]
    assert [len(v) for v in seen] == [2, 2, 2, 2, 0]  # 8 keys over 4 ticks, then a pause
    assert sorted(k for v in seen for k in v) == keys
    assert len(s.plan(0, now=4.5, as_of=D, limit=100).verify) == 2  # the next round
