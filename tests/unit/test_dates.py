"""parse_date: the three date shapes exports carry, blanks, and clear refusals."""

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.dates import parse_date


@pytest.mark.parametrize(
    "text",
    [
        "2024-12-10",
        "2024-12-10 00:00:00.000",
        "2024-12-10 00:00:00",
        "2024-12-10T00:00:00",
        "2024-12-10T00:00:00.0000000",
        "2024-12-10 13:45",
        "10/12/2024",
        "  2024-12-10\t",
    ],
)
def test_every_export_shape_of_10_december_2024(text: str) -> None:
    assert parse_date(text) == date(2024, 12, 10)


def test_day_first_single_digits() -> None:
    assert parse_date("1/2/2024") == date(2024, 2, 1)  # 1 February, never 2 January


@pytest.mark.parametrize("text", ["", "   ", "\r\n"])
def test_blank_is_not_recorded(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    "text",
    ["2024/12/10", "12-10-2024", "10 Dec 2024", "20241210", "2024-12-10Z", "yesterday", "45636"],
)
def test_other_shapes_are_refused_naming_the_formats(text: str) -> None:
    with pytest.raises(ValueError, match="expected YYYY-MM-DD") as error:
        parse_date(text)
    assert repr(text.strip()) in str(error.value)


@pytest.mark.parametrize(
    "text", ["31/02/2024", "2023-02-29", "2024-13-01", "00/01/2024", "2024-04-31 00:00:00.000"]
)
def test_impossible_days_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a date that exists"):
        parse_date(text)


def test_leap_day_exists_in_leap_years() -> None:
    assert parse_date("29/02/2024") == date(2024, 2, 29)


@pytest.mark.parametrize("text", ["2024-12-10 24:00:00", "2024-12-10 10:60:00"])
def test_impossible_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="time of day"):
        parse_date(text)


_SHAPES: list[Callable[[date], str]] = [
    lambda d: d.isoformat(),
    lambda d: f"{d.isoformat()} 00:00:00.000",
    lambda d: f"{d:%d/%m/%Y}",
]


@given(
    st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)),
    st.sampled_from(_SHAPES),
    st.sampled_from(["", " ", "\t"]),
)
def test_round_trip_over_the_three_formats(
    day: date, shape: Callable[[date], str], pad: str
) -> None:
    assert parse_date(f"{pad}{shape(day)}{pad}") == day
