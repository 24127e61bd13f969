"""The CSV export of the figures: the same numbers as the page, one row per slice."""

from __future__ import annotations

import csv
import io

from .selectors import FiguresReport, Tally

COLUMNS = (
    "dimension",
    "key",
    "label",
    "appointments",
    "held",
    "no_show",
    "show_rate",
    "cancelled_client_early",
    "cancelled_client_late",
    "cancelled_jobcenter",
    "short_notice_rate",
    "average_planned_minutes",
    "average_actual_minutes",
    "actual_recorded",
)
# Spreadsheet programs run cells that start like a formula; such cells get a leading quote.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _rate(value: float | None, places: int = 4) -> str:
    return "" if value is None else f"{value:.{places}f}"


def _tally_cells(tally: Tally) -> list[object]:
    return [
        tally.total,
        tally.held,
        tally.no_show,
        _rate(tally.show_rate),
        tally.cancelled_client_early,
        tally.cancelled_client_late,
        tally.cancelled_jobcenter,
        _rate(tally.short_notice_rate),
        _rate(tally.average_planned_minutes, 1),
        _rate(tally.average_actual_minutes, 1),
        tally.actual_count,
    ]


def csv_rows(report: FiguresReport) -> list[list[object]]:
    """Total, then per channel, team, month and month-and-channel; machine-readable values."""
    rows: list[list[object]] = [["total", "", report.team_label, *_tally_cells(report.total)]]
    rows += [["channel", s.key, s.label, *_tally_cells(s.tally)] for s in report.by_channel]
    rows += [["team", s.key, s.label, *_tally_cells(s.tally)] for s in report.by_team]
    rows += [["month", m.key, m.key, *_tally_cells(m.total)] for m in report.by_month]
    for month in report.by_month:
        rows += [
            [
                "month_channel",
                f"{month.key}/{s.key}",
                f"{month.key} {s.label}",
                *_tally_cells(s.tally),
            ]
            for s in month.by_channel
        ]
    return rows


def _safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return f"'{value}"
    return value


def figures_csv(report: FiguresReport) -> str:
    """The whole file: a header row, then `csv_rows`; rates as decimals, minutes with one place."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in csv_rows(report):
        writer.writerow(_safe_cell(value) for value in row)
    return buffer.getvalue()
