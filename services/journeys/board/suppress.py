"""Small-number suppression, as official statistics do it. Pure.

A board paper leaves the building: a count of 1 to 4 children can point at a family. So:

- **Primary**: a count from 1 to ``THRESHOLD - 1`` is shown as "fewer than 5". Zero is shown
  (no child can be identified by an empty cell).
- **Secondary**: in a table whose rows (or columns) are shown with their total, a row (column)
  with exactly one suppressed cell would let a reader subtract it back out of the total; the
  smallest other non-zero cell of that row (column) is suppressed too, and the step repeats
  until no line has exactly one. Where no other cell can be suppressed, the total is.
- **Rates**: a percentage is shown only when its numerator, its denominator and their
  difference (the children the rate leaves out, e.g. plans *not* issued within 20 weeks) are
  all shown counts — otherwise it would give a suppressed count back.

The result carries the words to print; the true value of a suppressed cell never leaves this
module in a rendered cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

THRESHOLD = 5
FEWER = "fewer than 5"
SECONDARY = "suppressed"  # hidden only so that a total cannot give back a small count


@dataclass(frozen=True)
class Cell:
    """What a reader sees: ``shown`` is None when the value is suppressed."""

    shown: int | None
    text: str

    @property
    def suppressed(self) -> bool:
        return self.shown is None


def primary(n: int) -> bool:
    """Is ``n`` a count that must not be shown?"""
    return 0 < n < THRESHOLD


def count(n: int) -> Cell:
    return Cell(None, FEWER) if primary(n) else Cell(n, f"{n:,}")


def rate(numerator: int, denominator: int) -> Cell:
    """A percentage, suppressed where it would give back a suppressed count."""
    if denominator == 0:
        return Cell(None, "no cases")
    if any(primary(n) for n in (numerator, denominator, denominator - numerator)):
        return Cell(None, "suppressed (small numbers)")
    pct = round(100 * numerator / denominator, 1)
    return Cell(numerator, f"{pct:.1f}%")


@dataclass(frozen=True)
class Table:
    """A suppressed table: ``cells[r][c]``, with row and column totals when asked for."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[Cell, ...], ...]
    row_totals: tuple[Cell, ...] | None
    column_totals: tuple[Cell, ...] | None


def table(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Mapping[tuple[str, str], int],
    *,
    row_totals: bool = True,
    column_totals: bool = True,
) -> Table:
    """Suppress a table of counts: primary, then secondary against the totals the table
    shows (a total that is not shown cannot give anything back)."""
    grid = [[values.get((r, c), 0) for c in columns] for r in rows]
    hidden = [[primary(v) for v in line] for line in grid]
    sums_by_row = [sum(line) for line in grid]
    sums_by_column = [sum(col) for col in zip(*grid, strict=True)] if grid else []
    # a total not shown counts as hidden: no line is protected against it
    row_hidden = [not row_totals or primary(n) for n in sums_by_row]
    column_hidden = [not column_totals or primary(n) for n in sums_by_column]
    _secondary(grid, hidden, row_hidden, column_hidden)
    cells = tuple(
        tuple(_cell(v, h) for v, h in zip(line, hl, strict=True))
        for line, hl in zip(grid, hidden, strict=True)
    )

    def total_cell(n: int, hide: bool) -> Cell:
        return Cell(None, FEWER if primary(n) else SECONDARY) if hide else Cell(n, f"{n:,}")

    shown_rows = (
        tuple(total_cell(n, h) for n, h in zip(sums_by_row, row_hidden, strict=True))
        if row_totals
        else None
    )
    shown_columns = (
        tuple(total_cell(n, h) for n, h in zip(sums_by_column, column_hidden, strict=True))
        if column_totals and grid
        else None
    )
    return Table(tuple(rows), tuple(columns), cells, shown_rows, shown_columns)


def _cell(value: int, hidden: bool) -> Cell:
    """A hidden cell says why: a small count, or hidden so a total cannot reveal one (a
    secondary suppression must not read "fewer than 5": it may be any number)."""
    if not hidden:
        return Cell(value, f"{value:,}")
    return Cell(None, FEWER if primary(value) else SECONDARY)


def _secondary(
    grid: list[list[int]],
    hidden: list[list[bool]],
    row_total_hidden: list[bool],
    col_total_hidden: list[bool],
) -> None:
    """Hide more cells (or the total) until no shown total has exactly one hidden cell in
    its line, so no suppressed value can be recovered by subtraction."""
    changed = True
    while changed:
        changed = False
        lines: list[tuple[list[tuple[int, int]], bool, list[bool], int]] = []
        for r in range(len(grid)):
            lines.append(([(r, c) for c in range(len(grid[r]))], True, row_total_hidden, r))
        for c in range(len(grid[0]) if grid else 0):
            lines.append(([(r, c) for r in range(len(grid))], False, col_total_hidden, c))
        for positions, _is_row, total_hidden, index in lines:
            if total_hidden[index]:
                continue
            hidden_here = [p for p in positions if hidden[p[0]][p[1]]]
            if len(hidden_here) != 1:
                continue
            candidates = [p for p in positions if not hidden[p[0]][p[1]] and grid[p[0]][p[1]] > 0]
            if candidates:
                r, c = min(candidates, key=lambda p: (grid[p[0]][p[1]], p))
                hidden[r][c] = True
            else:
                total_hidden[index] = True
            changed = True
