"""The deadline index: what is due comes out in date order, without scanning the keys."""

from datetime import date, timedelta

from services.journeys.deadlines import DeadlineIndex

D = date(2026, 11, 23)


def test_due_keys_come_out_earliest_first_and_stay_until_set_again() -> None:
    index = DeadlineIndex()
    index.set(b"late", D + timedelta(days=1))
    index.set(b"b", D)
    index.set(b"a", D - timedelta(days=3))
    index.set(b"none", None)
    assert len(index) == 4 and b"none" in index
    assert index.due(D) == [b"a", b"b"]
    assert index.due(D) == [b"a", b"b"]  # nothing is lost before it is evaluated
    index.set(b"a", D + timedelta(days=30))
    assert index.due(D) == [b"b"]
    assert index.due(D + timedelta(days=1), limit=1) == [b"b"]


def test_moving_and_removing_leave_no_trace() -> None:
    index = DeadlineIndex()
    index.set(b"k", D)
    index.set(b"k", D + timedelta(days=2))
    index.set(b"k", D)  # back to a date whose bucket was emptied
    assert index.due(D + timedelta(days=5)) == [b"k"]
    index.remove(b"k")
    index.remove(b"never")
    assert index.due(D + timedelta(days=5)) == [] and len(index) == 0
    index.set(b"k", None)
    assert index.due(D + timedelta(days=5)) == [] and index.keys() == [b"k"]
