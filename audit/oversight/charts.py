"""Small charts drawn on the server as inline SVG: no script, no style attributes, prints as is.

The Content Security Policy allows no inline styles, so everything is drawn with
SVG presentation attributes (fill, stroke, font-size). Each chart is an image
with a text alternative; the page shows the same numbers in a table too.
"""

import math
from collections.abc import Sequence
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# GOV.UK colours: blue bars, mid-grey rules, black text (all print in greyscale too).
BAR = "#1d70b8"
RULE = "#b1b4b6"
TEXT = "#0b0c0c"

WIDTH = 720
HEIGHT = 240
LEFT = 44  # room for the numbers on the vertical axis
RIGHT = 8
TOP = 12
BOTTOM = 32  # room for the dates under the bars
FONT_SIZE = 13
MAX_DATE_LABELS = 7


def daily_bar_chart(
    *, values: Sequence[tuple[date, int]], title: str, unit: str, units: str, chart_id: str
) -> SafeString:
    """A bar per day, in order: `values` are (day, count) pairs; `unit` and `units` name one
    and many of what is counted ("lookup", "lookups"). `title` heads the text alternative,
    which also gives the total and the busiest day. `chart_id` must be unique on the page
    (it ties the image to its title)."""
    count = len(values)
    top = _axis_top(max((value for _, value in values), default=0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / count if count else plot_width
    bar_width = max(slot * 0.8, 0.5)
    baseline = TOP + plot_height

    bars = []
    for index, (day, value) in enumerate(values):
        height = plot_height * value / top
        bars.append(
            format_html(
                '<rect class="app-chart__bar" x="{}" y="{}" width="{}" height="{}" fill="{}">'
                "<title>{}: {} {}</title></rect>",
                _n(LEFT + index * slot + (slot - bar_width) / 2),
                _n(baseline - height),
                _n(bar_width),
                _n(height),
                BAR,
                _day(day),
                value,
                unit if value == 1 else units,
            )
        )

    rules = []
    for tick in _ticks(top):
        y = baseline - plot_height * tick / top
        rules.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>'
                '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
                LEFT,
                _n(y),
                WIDTH - RIGHT,
                _n(y),
                RULE,
                LEFT - 6,
                _n(y),
                tick,
            )
        )

    step = max(1, math.ceil(count / MAX_DATE_LABELS))
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="middle">{}</text>',
        (
            (_n(LEFT + index * slot + slot / 2), HEIGHT - 10, _day(day))
            for index, (day, _) in enumerate(values)
            if index % step == 0
        ),
    )

    total = sum(value for _, value in values)
    busiest = max(values, key=lambda pair: pair[1], default=None)
    days = "day" if count == 1 else "days"
    summary = f"{title}: {total} {unit if total == 1 else units} in {count} {days}"
    if values:
        summary += f", {_day(values[0][0])} to {_day(values[-1][0])}"
    if busiest and busiest[1]:
        summary += f"; most on {_day(busiest[0])} ({busiest[1]})"

    return format_html(
        '<svg class="app-chart" xmlns="http://www.w3.org/2000/svg" role="img"'
        ' aria-labelledby="{id}-title" viewBox="0 0 {w} {h}" width="100%"'
        ' preserveAspectRatio="xMinYMin meet" font-family="arial, sans-serif"'
        ' font-size="{font}" fill="{text}">'
        '<title id="{id}-title">{summary}</title>'
        "{rules}{bars}{labels}"
        '<line x1="{left}" y1="{base}" x2="{right}" y2="{base}" stroke="{text}" stroke-width="1"/>'
        "</svg>",
        id=chart_id,
        w=WIDTH,
        h=HEIGHT,
        font=FONT_SIZE,
        text=TEXT,
        summary=summary,
        rules=mark_safe("".join(rules)),  # noqa: S308 (each part built by format_html)
        bars=mark_safe("".join(bars)),  # noqa: S308 (each part built by format_html)
        labels=labels,
        left=LEFT,
        right=WIDTH - RIGHT,
        base=_n(baseline),
    )


def _axis_top(largest: int) -> int:
    """The top of the vertical axis: a round number at least as large as the largest bar."""
    if largest <= 0:
        return 1
    magnitude = 10 ** (len(str(largest)) - 1)
    for multiple in (1, 2, 5, 10):
        if largest <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude  # pragma: no cover (10 x magnitude always reaches it)


def _ticks(top: int) -> list[int]:
    """Whole numbers to rule across the chart, from 0 to the top, at most six of them."""
    step = next(
        multiple * 10**power
        for power in range(len(str(top)))
        for multiple in (1, 2, 5)
        if top / (multiple * 10**power) <= 5
    )
    return list(range(0, top + 1, step))


def _day(day: date) -> str:
    return f"{day.day} {day:%b}"


def _n(value: float) -> str:
    """Coordinates to two decimal places, without trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
