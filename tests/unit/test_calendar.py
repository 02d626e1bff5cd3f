from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.journeys.domain.calendar import (
    academic_year,
    academic_year_end,
    academic_year_start,
    add_months,
    day_in_month,
    national_curriculum_year,
    ncy_from_recorded,
    next_on_or_after,
)


def test_leap_day_plus_twelve_months_clamps_to_28_feb() -> None:
    # rules.md Notation: 29 Feb 2024 + 12 months = 28 Feb 2025
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_31_august_plus_six_months_is_end_of_february() -> None:
    assert add_months(date(2024, 8, 31), 6) == date(2025, 2, 28)
    assert add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)


def test_leap_day_plus_48_months_stays_29_feb() -> None:
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)


def test_ncy_worked_examples() -> None:
    # rules.md §1: on 2025-10-01, DOB 2016-08-31 and 2015-09-01 are NCY 5; 2016-09-01 is NCY 4
    on = date(2025, 10, 1)
    assert national_curriculum_year(on, date(2016, 8, 31)) == 5
    assert national_curriculum_year(on, date(2015, 9, 1)) == 5
    assert national_curriculum_year(on, date(2016, 9, 1)) == 4


def test_academic_year_boundary() -> None:
    assert academic_year(date(2025, 8, 31)) == 2024
    assert academic_year(date(2025, 9, 1)) == 2025


dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))


@given(dates, st.integers(min_value=0, max_value=120))
def test_add_months_moves_whole_months_and_clamps(d: date, months: int) -> None:
    result = add_months(d, months)
    assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == months
    assert result.day <= d.day
    if result.day < d.day:  # clamped: only ever to the last day of the month
        assert (result + timedelta(days=1)).day == 1
    assert result >= d


@given(dates, st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=60))
def test_add_months_never_overshoots_composition(d: date, a: int, b: int) -> None:
    # clamping can lose days but never gains them
    assert add_months(add_months(d, a), b) <= add_months(d, a + b)


@given(dates, dates)
def test_ncy_changes_only_on_1_september(dob: date, on: date) -> None:
    nxt = on + timedelta(days=1)
    delta = national_curriculum_year(nxt, dob) - national_curriculum_year(on, dob)
    assert delta == (1 if (nxt.month, nxt.day) == (9, 1) else 0)


def test_academic_year_start_and_end() -> None:
    assert academic_year_start(2025) == date(2025, 9, 1)
    assert academic_year_end(2025) == date(2026, 8, 31)
    assert academic_year(academic_year_end(2025)) == academic_year(academic_year_start(2025))


def test_day_in_month_clamps() -> None:
    assert day_in_month(2025, 6, 31) == date(2025, 6, 30)
    assert day_in_month(2025, 2, 29) == date(2025, 2, 28)
    assert day_in_month(2024, 2, 29) == date(2024, 2, 29)


def test_next_on_or_after() -> None:
    assert next_on_or_after(date(2025, 7, 31), 7, 31) == date(2025, 7, 31)  # the day itself
    assert next_on_or_after(date(2025, 8, 15), 7, 31) == date(2026, 7, 31)
    assert next_on_or_after(date(2025, 2, 28), 7, 31) == date(2025, 7, 31)
    assert next_on_or_after(date(2025, 3, 1), 2, 29) == date(2026, 2, 28)


def test_recorded_year_group_moves_up_each_1_september() -> None:
    since = date(2025, 10, 1)  # recorded as Year 5 in the autumn term
    assert ncy_from_recorded(date(2026, 8, 31), 5, since) == 5
    assert ncy_from_recorded(date(2026, 9, 1), 5, since) == 6


@given(dates, st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=31))
def test_next_on_or_after_is_the_first_such_date(d: date, month: int, day: int) -> None:
    found = next_on_or_after(d, month, day)
    assert d <= found < add_months(d, 12) + timedelta(days=1)
    assert found.month == month and found.day == min(day, day_in_month(found.year, month, 31).day)
