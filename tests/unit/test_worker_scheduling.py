"""Which journeys a tick evaluates: settled changes, due deadlines, a slice to verify."""

import math
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    assert plan.settled == (b"pending", b"old-pack") and plan.due == (b"due",)  # stored order
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


def serve(s: EvaluationSchedule, tick: int, capacity: int, evaluated: dict[bytes, int]) -> None:
    """One tick of a worker whose budget evaluates ``capacity`` settled journeys."""
    for key in s.plan(0, now=float(tick), as_of=D, limit=10_000).settled[:capacity]:
        s.evaluated(0, key, due=None)
        evaluated[key] = tick


def test_a_late_sorting_journey_is_not_starved_by_a_stream_of_earlier_sorting_ones() -> None:
    """Issue 15 item 9: under a steady stream of changes (as many a tick as the budget
    evaluates), a key that sorts after all of them was never evaluated in key order."""
    s, capacity, changed_at, evaluated = schedule(), 10, {}, {}
    for n in range(25):  # a backlog ahead of it
        s.changed(0, b"a-backlog-%03d" % n, now=0.0)
    s.changed(0, b"z-probe", now=0.0)
    changed_at[b"z-probe"] = 0
    for tick in range(1, 50):
        serve(s, tick, capacity, evaluated)
        for n in range(capacity):
            key = b"a-%04d-%02d" % (tick, n)
            s.changed(0, key, now=float(tick))
            changed_at[key] = tick
    assert evaluated.get(b"z-probe", 99) <= 3  # 25 ahead, 10 a tick


def test_a_journey_that_changes_again_keeps_its_place_in_the_queue() -> None:
    s = schedule()
    s.changed(0, b"b", now=0.0)
    s.changed(0, b"a", now=0.5)
    s.changed(0, b"b", now=0.6)  # pending since 0.0 still
    assert s.plan(0, now=2.0, as_of=D, limit=100).settled == (b"b", b"a")


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    capacity=st.integers(1, 8),
    backlog=st.lists(st.binary(min_size=1, max_size=4), max_size=40, unique=True),
    stream=st.lists(st.lists(st.binary(min_size=1, max_size=4), max_size=8), max_size=30),
)
def test_every_changed_journey_is_evaluated_within_a_bounded_number_of_ticks(
    capacity: int, backlog: list[bytes], stream: list[list[bytes]]
) -> None:
    """Fairness: with at most ``capacity`` new changes a tick and ``capacity`` evaluated a
    tick, a journey changed at tick t is evaluated by tick t + ceil(max(backlog, capacity) /
    capacity), whatever its key (keys are made unique by a counter after random bytes)."""
    s, changed_at, evaluated = schedule(), {}, {}
    for n, raw in enumerate(backlog):
        key = raw + b"/%d" % n
        s.changed(0, key, now=0.0)
        changed_at[key] = 0
    serial = 0
    for tick, arrivals in enumerate(stream, start=1):
        serve(s, tick, capacity, evaluated)
        for raw in arrivals[:capacity]:
            serial += 1
            key = raw + b"#%d" % serial
            s.changed(0, key, now=float(tick))
            changed_at[key] = tick
    bound = math.ceil(max(len(backlog), capacity) / capacity)
    for tick in range(len(stream) + 1, len(stream) + 2 + bound):
        serve(s, tick, capacity, evaluated)
    for key, at in changed_at.items():
        assert key in evaluated and evaluated[key] - at <= bound, (key, at, evaluated.get(key))


def test_a_sweep_after_a_batch_hands_out_settled_changes_but_not_the_clocks_work() -> None:
    """Between ticks the worker sweeps after every batch of events: settled changes only,
    so deadlines and the rolling verification keep the tick's pace."""
    s = EvaluationSchedule(settle=1.0, verify_every=4.0, tick_seconds=1.0, pack_version=PACK)
    s.adopt(0, [(b"v%d" % n, JourneyHeader(0, 1, False, None, PACK)) for n in range(8)], 0.0)
    s.evaluated(0, b"due", D)
    s.changed(0, b"a", now=0.0)
    s.changed(0, b"b", now=0.8)
    after_batch = s.plan(0, now=1.2, as_of=D, limit=100, settled_only=True)
    assert after_batch.settled == (b"a",) and after_batch.due == () and after_batch.verify == ()
    tick = s.plan(0, now=1.3, as_of=D, limit=100)
    assert tick.settled == (b"a",) and tick.due == (b"due",)
    assert tick.verify == (b"v0", b"v1", b"v2")  # the first slice: the batch took none of it


def test_a_backlog_holds_back_the_sweeps_after_batches_too() -> None:
    s = schedule(max_wait=30.0)
    s.changed(0, b"a", now=0.0)
    assert s.plan(0, now=5.0, as_of=D, limit=100, backlog=True, settled_only=True).settled == ()
    assert s.plan(0, now=5.0, as_of=D, limit=100, settled_only=True).settled == (b"a",)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    changes=st.lists(
        st.tuples(st.sampled_from([b"a", b"b", b"c", b"d", b"e", b"f"]), st.integers(0, 20)),
        max_size=30,
    ),
    now=st.integers(0, 25),
    settle=st.sampled_from([0.0, 0.3, 1.0, 3.0]),
    limit=st.integers(0, 8),
    settled_only=st.booleans(),
)
def test_settled_keys_are_the_first_quiet_ones_in_pending_order(
    changes: list[tuple[bytes, int]], now: int, settle: float, limit: int, settled_only: bool
) -> None:
    """Whatever the changes: the settled keys are those quiet for ``settle`` (since their
    *last* change), oldest pending first, at most ``limit`` — found without walking the
    whole queue, and the same for a tick and a sweep after a batch."""
    s = schedule(settle=settle)
    first: dict[bytes, int] = {}
    last: dict[bytes, int] = {}
    for key, at in sorted(changes, key=lambda c: c[1]):  # the clock only moves forward
        s.changed(0, key, now=float(at))
        first.setdefault(key, at)
        last[key] = at
    quiet = [k for k in first if float(now) - last[k] >= settle]  # dicts keep pending order
    plan = s.plan(0, now=float(now), as_of=D, limit=limit, settled_only=settled_only)
    assert plan.settled == tuple(quiet[:limit])


def bulk_schedule() -> EvaluationSchedule:
    s = EvaluationSchedule(
        settle=0.3,
        settle_bulk=1.0,
        bulk_changes=5,
        verify_every=1e9,
        tick_seconds=1.0,
        pack_version=PACK,
    )
    s.adopt(0, [], now=0.0)
    return s


def test_a_live_change_settles_quickly_and_a_bulk_load_waits_the_long_settle() -> None:
    """Ingest spreads one child's events over the time it reads the export: while a
    partition takes a bulk load its journeys wait ``settle_bulk``, else ``settle``."""
    s = bulk_schedule()
    s.changed(0, b"live", now=10.0)
    assert s.settle_for(0, now=10.4) == 0.3
    assert s.plan(0, now=10.4, as_of=D, limit=100, settled_only=True).settled == (b"live",)
    s.evaluated(0, b"live", due=None)
    for n in range(5):  # an export arriving: five journeys changed within a second
        s.changed(0, b"child-%d" % n, now=20.1)
    assert s.settle_for(0, now=20.5) == 1.0
    assert s.plan(0, now=20.5, as_of=D, limit=100, settled_only=True).settled == ()
    assert s.settle_for(0, now=21.5) == 1.0  # the second after still counts the load
    assert len(s.plan(0, now=21.5, as_of=D, limit=100).settled) == 5
    assert s.settle_for(0, now=22.5) == 0.3  # quiet for a whole second: live again


def test_without_a_bulk_settle_the_settle_never_changes() -> None:
    s = schedule(settle=0.5)
    for n in range(1000):
        s.changed(0, b"%d" % n, now=1.0)
    assert s.settle_for(0, now=1.2) == 0.5


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    arrivals=st.lists(st.tuples(st.integers(0, 40), st.integers(1, 9)), max_size=40),
    now=st.integers(0, 45),
)
def test_a_partition_is_bulk_exactly_when_this_second_or_the_last_had_enough_changes(
    arrivals: list[tuple[int, int]], now: int
) -> None:
    """Changes counted per second (tenths within it): bulk iff the current second or the
    one before it holds at least ``bulk_changes`` of them."""
    s = bulk_schedule()
    per_second: dict[int, int] = {}
    serial = 0
    for tenth, count in sorted(arrivals):
        at = tenth / 4  # several arrivals a second, seconds skipped too
        if at > now:
            break
        for _ in range(count):
            serial += 1
            s.changed(0, b"k%d" % serial, now=at)
        per_second[math.floor(at)] = per_second.get(math.floor(at), 0) + count
    bulk = max(per_second.get(now, 0), per_second.get(now - 1, 0)) >= 5
    assert s.settle_for(0, now=float(now) + 0.5) == (1.0 if bulk else 0.3)
