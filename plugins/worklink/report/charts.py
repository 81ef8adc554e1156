"""Charts for the evaluation report, drawn with matplotlib and returned as inline SVG text.

Suppressed cells are never drawn as numbers: their bar is absent and labelled "[c]".
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

matplotlib.rcParams.update({
    "svg.fonttype": "none",  # text stays text: smaller files, the browser's own fonts
    "svg.hashsalt": "worklink",  # stable element ids
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
})

BLUE, GREY, ORANGE, GREEN = "#1f5a96", "#9aa5b1", "#d9822b", "#2e8540"
SUPPRESSED = "[c]"


def to_svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _label(display: str) -> str:
    return SUPPRESSED if display == SUPPRESSED else display


def horizontal_bars(labels: list[str], values: list[float | None], displays: list[str], title: str,
                    xlabel: str, colour: str = BLUE) -> str:
    height = 0.45 * len(labels) + 1.0
    fig, ax = plt.subplots(figsize=(7.5, height))
    positions = range(len(labels))[::-1]
    numbers = [v if v is not None and not math.isnan(v) else 0 for v in values]
    ax.barh(list(positions), numbers, color=colour)
    top = max(numbers + [1])
    for y, number, display in zip(positions, numbers, displays, strict=True):
        ax.text(number + top * 0.01, y, _label(display), va="center", fontsize=8)
    ax.set_yticks(list(positions), labels)
    ax.set_xlim(0, top * 1.15)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    return to_svg(fig)


def monthly_lines(months: list[str], series: dict[str, list[float | None]], title: str) -> str:
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    for (name, values), colour in zip(series.items(), [BLUE, ORANGE, GREEN, GREY], strict=False):
        points = [(m, v) for m, v in zip(months, values, strict=True) if v is not None and not math.isnan(v)]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", color=colour, label=name)
    ax.set_title(title, loc="left")
    ax.set_ylabel("referrals in the cohort (rounded)")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(frameon=False, fontsize=8)
    ax.set_ylim(bottom=0)
    return to_svg(fig)


def rates_with_intervals(frame: pd.DataFrame, title: str, xlabel: str = "rate (95% confidence interval)") -> str:
    """frame: label, rate, lower, upper, display (rates as proportions; None = suppressed)."""
    height = 0.42 * len(frame) + 1.0
    fig, ax = plt.subplots(figsize=(7.5, height))
    positions = list(range(len(frame)))[::-1]
    for y, row in zip(positions, frame.itertuples(index=False), strict=True):
        if row.rate is None or pd.isna(row.rate):
            ax.text(0.005, y, SUPPRESSED + " (fewer than the minimum base)", va="center", fontsize=8, color=GREY)
            continue
        lower = row.lower if row.lower is not None and not pd.isna(row.lower) else row.rate
        upper = row.upper if row.upper is not None and not pd.isna(row.upper) else row.rate
        ax.errorbar([row.rate * 100], [y], xerr=[[max(0, (row.rate - lower) * 100)], [max(0, (upper - row.rate) * 100)]],
                    fmt="o", color=BLUE, ecolor=GREY, capsize=3)
        ax.text(upper * 100 + 1.5, y, row.display, va="center", fontsize=8)
    ax.set_yticks(positions, list(frame["label"]))
    ax.set_xlim(0, 105)
    ax.set_xlabel(xlabel + ", %")
    ax.set_title(title, loc="left")
    return to_svg(fig)


def medians_with_iqr(frame: pd.DataFrame, title: str) -> str:
    """frame: label, median, p25, p75 (days; None = suppressed)."""
    height = 0.42 * len(frame) + 1.0
    fig, ax = plt.subplots(figsize=(7.5, height))
    positions = list(range(len(frame)))[::-1]
    top = 1.0
    for y, row in zip(positions, frame.itertuples(index=False), strict=True):
        if row.median is None or pd.isna(row.median):
            ax.text(0.2, y, SUPPRESSED, va="center", fontsize=8, color=GREY)
            continue
        low = row.p25 if not pd.isna(row.p25) else row.median
        high = row.p75 if not pd.isna(row.p75) else row.median
        ax.plot([low, high], [y, y], color=GREY, linewidth=6, solid_capstyle="butt")
        ax.plot([row.median], [y], "o", color=BLUE)
        ax.text(high + 1, y, f"median {row.median:g} (IQR {low:g}-{high:g})", va="center", fontsize=8)
        top = max(top, high)
    ax.set_yticks(positions, list(frame["label"]))
    ax.set_xlim(0, top * 1.6)
    ax.set_xlabel("days")
    ax.set_title(title, loc="left")
    return to_svg(fig)


def paired_bars(labels: list[str], first: list[float | None], second: list[float | None], names: tuple[str, str],
                title: str, ylabel: str) -> str:
    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    xs = list(range(len(labels)))
    width = 0.38
    for offset, values, colour, name in ((-width / 2, first, GREY, names[0]), (width / 2, second, BLUE, names[1])):
        numbers = [v if v is not None and not pd.isna(v) else 0 for v in values]
        ax.bar([x + offset for x in xs], numbers, width=width, color=colour, label=name)
        for x, v in zip(xs, values, strict=True):
            if v is None or pd.isna(v):
                ax.text(x + offset, 0.2, SUPPRESSED, ha="center", fontsize=7, color=GREY)
    ax.set_xticks(xs, labels, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, fontsize=8)
    return to_svg(fig)


def differences_with_intervals(frame: pd.DataFrame, title: str) -> str:
    """frame: label, difference, lower, upper, display (differences of proportions; None = suppressed).

    Drawn in percentage points around a line at 0: an interval that crosses it shows no evidence
    of a difference.
    """
    height = 0.42 * len(frame) + 1.1
    fig, ax = plt.subplots(figsize=(7.5, height))
    positions = list(range(len(frame)))[::-1]
    reach = 10.0
    for y, row in zip(positions, frame.itertuples(index=False), strict=True):
        if row.difference is None or pd.isna(row.difference):
            ax.text(0, y, SUPPRESSED + " (fewer than the minimum base)", va="center", ha="center", fontsize=8,
                    color=GREY)
            continue
        low, mid, high = row.lower * 100, row.difference * 100, row.upper * 100
        ax.errorbar([mid], [y], xerr=[[mid - low], [high - mid]], fmt="o", color=BLUE, ecolor=GREY, capsize=3)
        ax.text(high + 1, y, row.display, va="center", fontsize=8)
        reach = max(reach, abs(low), abs(high))
    ax.axvline(0, color="#444", linewidth=0.8)
    ax.set_yticks(positions, list(frame["label"]))
    ax.set_xlim(-reach * 1.15, reach * 1.9)
    ax.set_xlabel("difference from the reference variant, percentage points (95% Newcombe interval)")
    ax.set_title(title, loc="left")
    return to_svg(fig)
