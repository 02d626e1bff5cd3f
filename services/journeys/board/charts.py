"""The board pack's charts: matplotlib, rendered to SVG text, no network, no fonts embedded
(text stays text, so the PDF can be searched and read aloud). Only shown (unsuppressed)
values are ever plotted: a suppressed value is a gap, labelled as such."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

logging.getLogger("matplotlib").setLevel(logging.WARNING)  # its INFO lines name fonts, not data

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "casewatch-board",  # the same figures give the same SVG
        "font.family": "sans-serif",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)
BLUE, GREY, ORANGE = "#1d70b8", "#505a5f", "#d4351c"  # GOV.UK palette: contrast on white


def _categories(ax: Axes, labels: Sequence[str]) -> list[int]:
    """Positions for text labels (month names would otherwise be parsed as dates)."""
    positions = list(range(len(labels)))
    ax.set_xticks(positions, list(labels))
    return positions


def _svg(fig: Figure, title: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Title": title})
    text = buf.getvalue()
    return text[text.index("<svg") :]  # inline in HTML: no XML prolog or DOCTYPE


def rate_lines(
    title: str,
    months: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    reference: tuple[str, float] | None = None,
) -> str:
    """Percentages month by month (None: not shown), with England's figure as a line."""
    fig = Figure(figsize=(6.8, 2.6))
    ax = fig.subplots()
    for (label, values), colour in zip(series, (BLUE, GREY, ORANGE), strict=False):
        ax.plot(
            _categories(ax, months),
            [v if v is not None else float("nan") for v in values],
            marker="o",
            color=colour,
            label=label,
        )
    if reference is not None:
        ax.axhline(reference[1], color=ORANGE, linestyle="--", linewidth=1, label=reference[0])
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.set_title(title, loc="left", fontsize=10)
    return _svg(fig, title)


def bars(title: str, labels: Sequence[str], values: Sequence[int | None], unit: str) -> str:
    """A bar per label; a suppressed value (None) is drawn as no bar with "<5" above."""
    fig = Figure(figsize=(6.8, 2.4))
    ax = fig.subplots()
    heights = [v if v is not None else 0 for v in values]
    drawn = ax.bar(_categories(ax, labels), heights, color=BLUE)
    for bar, v in zip(drawn, values, strict=True):
        ax.annotate(
            "<5" if v is None else f"{v:,}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylabel(unit)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of children: whole numbers
    ax.set_title(title, loc="left", fontsize=10)
    ax.tick_params(axis="x", labelsize=8)
    return _svg(fig, title)


def trend(title: str, labels: Sequence[str], values: Sequence[int | None], unit: str) -> str:
    fig = Figure(figsize=(6.8, 2.4))
    ax = fig.subplots()
    ax.plot(
        _categories(ax, labels),
        [v if v is not None else float("nan") for v in values],
        marker="o",
        color=BLUE,
    )
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(unit)
    ax.set_title(title, loc="left", fontsize=10)
    ax.tick_params(axis="x", labelsize=8)
    return _svg(fig, title)
