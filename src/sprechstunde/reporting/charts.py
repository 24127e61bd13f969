"""Server-rendered SVG charts: horizontal bars, lines over months, columns over months.

The markup is built here and placed inline in the page, so no JavaScript and no chart
library is involved. Colours and line styles come from classes in app.css (the CSP forbids
style attributes); geometry uses SVG presentation attributes. Every chart is an image with a
<title> and a <desc> (role="img"), and the page puts a data table next to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

# Label font size in user units (app.css sets the same). The viewBox is about as wide as a
# phone's screen, so labels keep nearly this size there; app.css caps the width on desktops.
FONT = 13
WIDTH = 360
LEGEND_ROW = 22
MAX_LABEL_CHARS = 14

ValueText = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """One coloured series; `key` picks its colour class (`chart__series--<key>`)."""

    key: str
    label: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Axis:
    """The value axis: from 0 to `maximum`, with gridlines at `ticks`."""

    maximum: float
    ticks: Sequence[float]
    tick_text: ValueText


def rate_axis() -> Axis:
    """0 to 100 %, gridlines every 25 %."""
    return Axis(maximum=1.0, ticks=(0, 0.25, 0.5, 0.75, 1.0), tick_text=whole_percent_text)


def minutes_axis(values: Sequence[float | None]) -> Axis:
    """0 to the next quarter hour above the largest value, gridlines every 15 or 30 min."""
    largest = max((v for v in values if v is not None), default=0.0)
    maximum = max(15.0, math.ceil(largest / 15) * 15)
    step = 15 if maximum <= 90 else 30
    ticks = [float(t) for t in range(0, int(maximum) + 1, step)]
    return Axis(maximum=maximum, ticks=ticks, tick_text=lambda v: f"{v:.0f}")


def percent_text(value: float) -> str:
    """A share as a percentage with one decimal in the active language's format."""
    from django.utils.formats import number_format

    # number_format cuts floats off rather than rounding them: round first.
    return f"{number_format(round(value * 100, 1), decimal_pos=1)}\u00a0%"


def whole_percent_text(value: float) -> str:
    """A share as a whole percentage, for axis labels: "25 %"."""
    return f"{round(value * 100)}\u00a0%"


def minutes_text(value: float) -> str:
    """Minutes, rounded to whole ones, e.g. "38 min"."""
    from django.utils.formats import number_format
    from django.utils.translation import gettext

    return gettext("%(minutes)s min") % {"minutes": number_format(round(value), decimal_pos=0)}


def _html(template: str, **values: object) -> SafeString:
    """Like format_html, but numbers keep their type so that "{x:.1f}" works."""
    safe = {
        key: value if isinstance(value, int | float) else conditional_escape(str(value))
        for key, value in values.items()
    }
    return mark_safe(template.format(**safe))  # noqa: S308 (every text value is escaped)


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "\u2026"


def _frame(
    chart_id: str, title: str, description: str, width: int, height: int, body: SafeString
) -> SafeString:
    return _html(
        '<svg class="chart" id="{id}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'role="img" aria-labelledby="{id}-title {id}-desc" '
        'xmlns="http://www.w3.org/2000/svg">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        id=chart_id,
        w=width,
        h=height,
        title=title,
        desc=description,
        body=body,
    )


def _legend(series: Sequence[Series], *, x: float, y: float, lines: bool) -> SafeString:
    """One row per series: a swatch (or a line sample) and the label."""
    parts = []
    for index, item in enumerate(series):
        row_y = y + index * LEGEND_ROW
        if lines:
            swatch = _html(
                '<line class="chart__line chart__series--{key}" x1="{x1}" y1="{y}" x2="{x2}" '
                'y2="{y}"/>',
                key=item.key,
                x1=x,
                x2=x + 24,
                y=row_y,
            )
        else:
            swatch = _html(
                '<rect class="chart__bar chart__series--{key}" x="{x}" y="{y}" width="14" '
                'height="14"/>',
                key=item.key,
                x=x + 5,
                y=row_y - 7,
            )
        parts.append(
            _html(
                '{swatch}<text class="chart__legend" x="{tx}" y="{ty}">{label}</text>',
                swatch=swatch,
                tx=x + 32,
                ty=row_y + 4.5,
                label=item.label,
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 (each part is built by _html)


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    axis: Axis,
    value_text: ValueText,
    empty_text: str = "\u2013",
) -> SafeString:
    """Horizontal bars: one group per category, one bar per series in each group."""
    width, label_width, value_width = WIDTH, 104, 64
    plot_left, plot_width = label_width, width - label_width - value_width
    bar, bar_gap, group_gap = 18, 4, 14
    legend_height = len(series) * LEGEND_ROW + 6 if len(series) > 1 else 0
    top = legend_height + 8
    group = len(series) * bar + (len(series) - 1) * bar_gap
    plot_height = len(categories) * (group + group_gap)
    height = top + plot_height + 26

    def x_of(value: float) -> float:
        return plot_left + plot_width * min(max(value / axis.maximum, 0.0), 1.0)

    parts: list[SafeString] = []
    if legend_height:
        parts.append(_legend(series, x=plot_left, y=12, lines=False))
    for tick in axis.ticks:
        parts.append(
            _html(
                '<line class="chart__grid" x1="{x:.1f}" y1="{y1}" x2="{x:.1f}" y2="{y2}"/>'
                '<text class="chart__tick" x="{x:.1f}" y="{ty}" text-anchor="middle">{t}</text>',
                x=x_of(tick),
                y1=top - 4,
                y2=top + plot_height,
                ty=top + plot_height + 18,
                t=axis.tick_text(tick),
            )
        )
    for c_index, category in enumerate(categories):
        group_top = top + c_index * (group + group_gap) + group_gap / 2
        parts.append(
            _html(
                '<text class="chart__label" x="{x}" y="{y:.1f}" text-anchor="end">{label}</text>',
                x=label_width - 8,
                y=group_top + group / 2 + FONT / 2 - 2,
                label=_short(category),
            )
        )
        for s_index, item in enumerate(series):
            y = group_top + s_index * (bar + bar_gap)
            value = item.values[c_index]
            if value is None:
                parts.append(
                    _html(
                        '<text class="chart__value" x="{x}" y="{y:.1f}">{t}</text>',
                        x=plot_left + 4,
                        y=y + bar / 2 + FONT / 2 - 2,
                        t=empty_text,
                    )
                )
                continue
            end = x_of(value)
            parts.append(
                _html(
                    '<rect class="chart__bar chart__series--{key}" x="{x}" y="{y:.1f}" '
                    'width="{w:.1f}" height="{h}"/>'
                    '<text class="chart__value" x="{tx:.1f}" y="{ty:.1f}">{t}</text>',
                    key=item.key,
                    x=plot_left,
                    y=y,
                    w=max(end - plot_left, 1.0),
                    h=bar,
                    tx=end + 4,
                    ty=y + bar / 2 + FONT / 2 - 2,
                    t=value_text(value),
                )
            )
    parts.append(
        _html(
            '<line class="chart__axis" x1="{x}" y1="{y1}" x2="{x}" y2="{y2}"/>',
            x=plot_left,
            y1=top - 4,
            y2=top + plot_height,
        )
    )
    body = mark_safe("".join(parts))  # noqa: S308 (each part is built by _html)
    return _frame(chart_id, title, description, width, height, body)


def _month_axes(
    *, categories: Sequence[str], axis: Axis, left: int, top: int, plot_width: int, height: int
) -> tuple[list[SafeString], Callable[[int], float], Callable[[float], float]]:
    """Gridlines, value labels and category labels shared by the line and column charts."""
    step = plot_width / max(len(categories), 1)

    def x_of(index: int) -> float:
        return left + step * (index + 0.5)

    def y_of(value: float) -> float:
        return top + height * (1 - min(max(value / axis.maximum, 0.0), 1.0))

    parts: list[SafeString] = []
    for tick in axis.ticks:
        parts.append(
            _html(
                '<line class="chart__grid" x1="{x1}" y1="{y:.1f}" x2="{x2}" y2="{y:.1f}"/>'
                '<text class="chart__tick" x="{tx}" y="{ty:.1f}" text-anchor="end">{t}</text>',
                x1=left,
                x2=left + plot_width,
                y=y_of(tick),
                tx=left - 6,
                ty=y_of(tick) + FONT / 2 - 2,
                t=axis.tick_text(tick),
            )
        )
    # Every label when there is room, else every third (the table has them all).
    every = 1 if len(categories) <= 13 else 3
    for index, category in enumerate(categories):
        if index % every:
            continue
        first, _, second = category.partition("\n")
        parts.append(
            _html(
                '<text class="chart__tick" x="{x:.1f}" y="{y}" text-anchor="middle">{a}'
                '<tspan x="{x:.1f}" dy="{dy}">{b}</tspan></text>',
                x=x_of(index),
                y=top + height + 18,
                a=first,
                dy=FONT + 2,
                b=second,
            )
        )
    parts.append(
        _html(
            '<line class="chart__axis" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}"/>',
            x1=left,
            x2=left + plot_width,
            y=top + height,
        )
    )
    return parts, x_of, y_of


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    axis: Axis,
    value_text: ValueText,
) -> SafeString:
    """One line per series over the categories (months); a gap where a value is missing.

    `categories` may hold a second line after a newline (the year under the month).
    """
    width, left, right = WIDTH, 46, 8
    legend_height = len(series) * LEGEND_ROW + 4
    top, plot_height = legend_height + 12, 180
    height = top + plot_height + 40
    plot_width = width - left - right
    parts, x_of, y_of = _month_axes(
        categories=categories,
        axis=axis,
        left=left,
        top=top,
        plot_width=plot_width,
        height=plot_height,
    )
    parts.append(_legend(series, x=left, y=12, lines=True))
    for item in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for index, value in enumerate(item.values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append((x_of(index), y_of(value)))
        for run in runs:
            if len(run) > 1:
                parts.append(
                    _html(
                        '<polyline class="chart__line chart__series--{key}" points="{points}"/>',
                        key=item.key,
                        points=" ".join(f"{x:.1f},{y:.1f}" for x, y in run),
                    )
                )
        for index, value in enumerate(item.values):
            if value is None:
                continue
            parts.append(
                _html(
                    '<circle class="chart__point chart__series--{key}" cx="{x:.1f}" cy="{y:.1f}" '
                    'r="3.5"><title>{t}</title></circle>',
                    key=item.key,
                    x=x_of(index),
                    y=y_of(value),
                    t=f"{item.label}, {categories[index].replace(chr(10), ' ')}: "
                    f"{value_text(value)}",
                )
            )
    body = mark_safe("".join(conditional_escape(p) for p in parts))  # noqa: S308
    return _frame(chart_id, title, description, width, height, body)


def column_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Series,
    axis: Axis,
    value_text: ValueText,
) -> SafeString:
    """One column per category (month) for a single series; nothing where it is missing."""
    width, left, right, top, plot_height = WIDTH, 46, 8, 12, 160
    height = top + plot_height + 40
    plot_width = width - left - right
    parts, x_of, y_of = _month_axes(
        categories=categories,
        axis=axis,
        left=left,
        top=top,
        plot_width=plot_width,
        height=plot_height,
    )
    column = min(28.0, plot_width / max(len(categories), 1) * 0.6)
    for index, value in enumerate(series.values):
        if value is None:
            continue
        y = y_of(value)
        parts.append(
            _html(
                '<rect class="chart__bar chart__series--{key}" x="{x:.1f}" y="{y:.1f}" '
                'width="{w:.1f}" height="{h:.1f}"><title>{t}</title></rect>',
                key=series.key,
                x=x_of(index) - column / 2,
                y=y,
                w=column,
                h=max(top + plot_height - y, 0.0),
                t=f"{categories[index].replace(chr(10), ' ')}: {value_text(value)}",
            )
        )
    body = mark_safe("".join(conditional_escape(p) for p in parts))  # noqa: S308
    return _frame(chart_id, title, description, width, height, body)
