"""Small-number suppression of the board pack: primary (1 to 4 shown as "fewer than 5"),
secondary (no suppressed value recoverable from a shown total), and rates."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.journeys.board.suppress import FEWER, SECONDARY, count, primary, rate, table


def test_counts_of_one_to_four_are_hidden_and_zero_and_five_are_shown() -> None:
    assert [count(n).text for n in (0, 1, 4, 5, 1234)] == ["0", FEWER, FEWER, "5", "1,234"]
    assert count(3).shown is None and count(5).shown == 5


def test_a_rate_is_hidden_when_its_numerator_denominator_or_complement_is_small() -> None:
    assert rate(18, 28).text == "64.3%"
    assert rate(3, 28).suppressed  # three plans on time: a small count
    assert rate(26, 28).suppressed  # two plans late: the complement gives it back
    assert rate(4, 4).suppressed  # four requests in all
    assert rate(0, 0).text == "no cases"
    assert rate(0, 12).text == "0.0%" and rate(12, 12).text == "100.0%"


def test_one_hidden_cell_in_a_row_takes_the_next_smallest_with_it() -> None:
    values = {("north", "a"): 2, ("north", "b"): 9, ("north", "c"): 7}
    t = table(["north"], ["a", "b", "c"], values, column_totals=False)
    # 7 hidden too, else 18 - 9 - 7 = 2; and it never reads "fewer than 5"
    assert [c.text for c in t.cells[0]] == [FEWER, "9", SECONDARY]
    assert t.row_totals is not None and t.row_totals[0].text == "18"


def test_a_hidden_cell_alone_with_zeros_hides_the_total() -> None:
    t = table(["north"], ["a", "b"], {("north", "a"): 0, ("north", "b"): 12})
    assert t.row_totals is not None and t.row_totals[0].text == "12"
    t = table(["north", "south"], ["a"], {("north", "a"): 3, ("south", "a"): 0})
    assert t.column_totals is not None and t.column_totals[0].suppressed  # 3 + 0: the total is 3


def test_columns_are_protected_as_well_as_rows() -> None:
    values = {("r1", "a"): 3, ("r1", "b"): 0, ("r2", "a"): 10, ("r2", "b"): 0, ("r3", "a"): 8}
    t = table(["r1", "r2", "r3"], ["a", "b"], values)
    column_a = [t.cells[r][0] for r in range(3)]
    assert sum(c.suppressed for c in column_a) >= 2


def test_a_total_that_is_not_shown_hides_nothing_more() -> None:
    values = {("y6", "done"): 2, ("y6", "due"): 24, ("y11", "done"): 9, ("y11", "due"): 16}
    t = table(["y6", "y11"], ["done", "due"], values, column_totals=False)
    assert [[c.text for c in line] for line in t.cells] == [[FEWER, SECONDARY], ["9", "16"]]
    assert t.column_totals is None and t.row_totals is not None
    assert [c.text for c in t.row_totals] == ["26", "25"]
    shown_columns = table(["y6", "y11"], ["done", "due"], values)
    assert shown_columns.cells[1][0].suppressed  # the "done" column's total would give 2 back


grids = st.integers(1, 5).flatmap(
    lambda rows: st.integers(1, 5).flatmap(
        lambda cols: st.lists(
            st.lists(st.integers(0, 30), min_size=cols, max_size=cols),
            min_size=rows,
            max_size=rows,
        )
    )
)


@given(grids, st.booleans(), st.booleans())
def test_no_suppressed_value_can_be_read_back_from_a_total(
    grid: list[list[int]], by_row: bool, by_column: bool
) -> None:
    rows = [f"r{i}" for i in range(len(grid))]
    cols = [f"c{j}" for j in range(len(grid[0]))]
    values = {(r, c): grid[i][j] for i, r in enumerate(rows) for j, c in enumerate(cols)}
    t = table(rows, cols, values, row_totals=by_row, column_totals=by_column)
    assert (t.row_totals is not None) == by_row and (t.column_totals is not None) == by_column
    for i, line in enumerate(t.cells):  # every small count is hidden; every shown one is true
        for j, cell in enumerate(line):
            assert cell.suppressed or cell.shown == grid[i][j]
            if primary(grid[i][j]):
                assert cell.suppressed
            if cell.suppressed:  # the words never mislead: "fewer than 5" only when it is
                assert (cell.text == FEWER) == primary(grid[i][j])
    lines = []
    if t.row_totals is not None:
        lines += [(list(line), t.row_totals[i]) for i, line in enumerate(t.cells)]
    if t.column_totals is not None:
        lines += [
            ([t.cells[i][j] for i in range(len(rows))], t.column_totals[j])
            for j in range(len(cols))
        ]
    for cells, total in lines:
        if not total.suppressed:  # a shown total never has exactly one unknown in its line
            assert sum(c.suppressed for c in cells) != 1
        assert not primary(total.shown or 0)
