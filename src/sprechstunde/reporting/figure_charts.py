"""The five charts of the figures page, built from a FiguresReport (the tables use the same)."""

from __future__ import annotations

from typing import Any

from django.utils import dateformat
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from . import charts
from .selectors import FiguresReport, Slice


def _month_label(month: Any, *, with_year: bool) -> str:
    label = dateformat.format(month, "M")
    return f"{label}\n{dateformat.format(month, 'Y')}" if with_year else f"{label}\n"


def _summary(slices: list[Slice], value: Any, text: Any) -> str:
    """'Video: 81.0 %; Phone: 79.5 %' for a chart's description (the table has the rest)."""
    parts = []
    for item in slices:
        number = value(item.tally)
        shown = text(number) if number is not None else _("no data")
        parts.append(f"{item.label}: {shown}")
    return "; ".join(parts) + "."


def figures_charts(report: FiguresReport) -> dict[str, SafeString]:
    """The five charts of the page, built from the same report as the tables."""
    months = report.by_month
    # The year goes under each January and under the first month, unless that is a December
    # (its year would collide with the January right next to it).
    month_labels = [
        _month_label(m.month, with_year=m.month.month == 1 or (index == 0 and m.month.month != 12))
        for index, m in enumerate(months)
    ]
    rate_axis = charts.rate_axis()
    show_rate = charts.Series(
        key="total",
        label=_("Show rate"),
        values=[s.tally.show_rate for s in report.by_channel],
    )
    planned = [s.tally.average_planned_minutes for s in report.by_channel]
    actual = [s.tally.average_actual_minutes for s in report.by_channel]
    return {
        "channel": charts.bar_chart(
            chart_id="chart-channel",
            title=_("Show rate by channel"),
            description=_summary(report.by_channel, lambda t: t.show_rate, charts.percent_text),
            categories=[s.label for s in report.by_channel],
            series=[show_rate],
            axis=rate_axis,
            value_text=charts.percent_text,
        ),
        "team": charts.bar_chart(
            chart_id="chart-team",
            title=_("Show rate by team"),
            description=_summary(report.by_team, lambda t: t.show_rate, charts.percent_text),
            categories=[s.label for s in report.by_team],
            series=[
                charts.Series(
                    key="total",
                    label=_("Show rate"),
                    values=[s.tally.show_rate for s in report.by_team],
                )
            ],
            axis=rate_axis,
            value_text=charts.percent_text,
        ),
        "month": charts.line_chart(
            chart_id="chart-month",
            title=_("Show rate by month and channel"),
            description=_(
                "One line per channel, one point per month; months without appointments "
                "due are left out. The table below gives every value."
            ),
            categories=month_labels,
            series=[
                charts.Series(
                    key=value,
                    label=label,
                    values=[
                        next(s for s in m.by_channel if s.key == value).tally.show_rate
                        for m in months
                    ],
                )
                for value, label in report.channels
            ],
            axis=rate_axis,
            value_text=charts.percent_text,
        ),
        "short_notice": charts.column_chart(
            chart_id="chart-short-notice",
            title=_("Short-notice cancellations by month"),
            description=_(
                "One column per month: the share of appointments the client cancelled less "
                "than 24 hours before. The table below gives every value."
            ),
            categories=month_labels,
            series=charts.Series(
                key="late",
                label=_("Short-notice cancellation rate"),
                values=[m.total.short_notice_rate for m in months],
            ),
            axis=charts.Axis(
                maximum=_short_notice_maximum(report),
                ticks=_short_notice_ticks(report),
                tick_text=charts.whole_percent_text,
            ),
            value_text=charts.percent_text,
        ),
        "duration": charts.bar_chart(
            chart_id="chart-duration",
            title=_("Average duration by channel"),
            description=_summary(
                report.by_channel,
                lambda t: t.average_planned_minutes,
                charts.minutes_text,
            )
            + " "
            + _("Actual: %(summary)s")
            % {
                "summary": _summary(
                    report.by_channel, lambda t: t.average_actual_minutes, charts.minutes_text
                )
            },
            categories=[s.label for s in report.by_channel],
            series=[
                charts.Series(key="planned", label=_("Planned"), values=planned),
                charts.Series(key="actual", label=_("Actual"), values=actual),
            ],
            axis=charts.minutes_axis([*planned, *actual]),
            value_text=charts.minutes_text,
        ),
    }


def _short_notice_maximum(report: FiguresReport) -> float:
    """Short-notice shares are small: scale to the next 10 % above the largest month."""
    largest = max((m.total.short_notice_rate or 0.0 for m in report.by_month), default=0.0)
    return max(0.1, min(1.0, (int(largest * 10) + 1) / 10))


def _short_notice_ticks(report: FiguresReport) -> list[float]:
    maximum = _short_notice_maximum(report)
    step = 0.05 if maximum <= 0.3 else 0.1 if maximum <= 0.6 else 0.25
    ticks, value = [], 0.0
    while value <= maximum + 1e-9:
        ticks.append(round(value, 4))
        value += step
    return ticks
