"""Geometry of the dashboard's bar chart, drawn as inline SVG by the template (no script, no
library): bars, a rounded scale with grid lines, and a readable number of day labels."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

WIDTH, HEIGHT = 960, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28
# At most this many day labels under the bars; more would overlap at the chart's width.
MAX_LABELS = 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: datetime.date
    value: int
    flagged: bool


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right: int  # x of the plot's right edge
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[Label]
    maximum: int


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^k at or above value (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # not reached


def bar_chart(points: list[tuple[datetime.date, int]], flagged: set | None = None) -> BarChart:
    """One bar per (day, value); days in `flagged` are drawn as missed targets."""
    flagged = flagged or set()
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    maximum = nice_ceiling(max((max(v, 0) for _, v in points), default=0))
    slot = plot_width / max(len(points), 1)
    bar_width = max(1.0, slot * 0.72)
    bars = []
    for n, (day, value) in enumerate(points):
        height = plot_height * max(value, 0) / maximum
        bars.append(
            Bar(
                x=round(LEFT + n * slot + (slot - bar_width) / 2, 2),
                y=round(baseline - height, 2),
                width=round(bar_width, 2),
                height=round(height, 2),
                day=day,
                value=value,
                flagged=day in flagged,
            )
        )
    ticks = [
        Tick(y=round(baseline - plot_height * k / 4, 2), value=round(maximum * k / 4))
        for k in range(5)
    ]
    every = max(1, math.ceil(len(points) / MAX_LABELS))
    labels = [
        Label(x=round(LEFT + n * slot + slot / 2, 2), text=day.strftime("%b %-d"))
        for n, (day, _) in enumerate(points)
        if n % every == 0
    ]
    return BarChart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, baseline, bars, ticks, labels, maximum)
