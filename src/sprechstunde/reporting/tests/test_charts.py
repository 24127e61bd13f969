"""The SVG charts: geometry follows the values, gaps stay gaps, labels are escaped."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.utils import translation

from sprechstunde.reporting import charts

NS = "{http://www.w3.org/2000/svg}"


def parse(markup):
    return ET.fromstring(str(markup))  # noqa: S314 (our own markup)


def bars(svg, key):
    return [el for el in svg.iter(f"{NS}rect") if f"chart__series--{key}" in el.get("class")]


def test_bar_lengths_are_proportional_to_the_values_and_missing_values_draw_no_bar():
    svg = parse(
        charts.bar_chart(
            chart_id="c",
            title="Show rate",
            description="Per channel",
            categories=["Video", "Phone", "On site"],
            series=[charts.Series(key="total", label="Show rate", values=[0.8, 0.4, None])],
            axis=charts.rate_axis(),
            value_text=charts.percent_text,
        )
    )
    video, phone = bars(svg, "total")
    assert float(video.get("width")) == pytest.approx(2 * float(phone.get("width")), rel=0.01)
    texts = [t.text for t in svg.iter(f"{NS}text")]
    assert "80.0\u00a0%" in texts and "40.0\u00a0%" in texts
    assert "\u2013" in texts  # the channel without data says so instead of drawing a bar
    assert svg.get("role") == "img"
    assert svg.find(f"{NS}title").text == "Show rate"
    assert svg.find(f"{NS}desc").text == "Per channel"


def test_grouped_bars_get_a_legend_and_one_bar_per_series():
    svg = parse(
        charts.bar_chart(
            chart_id="d",
            title="Duration",
            description="Planned and actual",
            categories=["Video", "Phone"],
            series=[
                charts.Series(key="planned", label="Planned", values=[45.0, 30.0]),
                charts.Series(key="actual", label="Actual", values=[40.0, None]),
            ],
            axis=charts.minutes_axis([45.0, 30.0, 40.0]),
            value_text=charts.minutes_text,
        )
    )
    assert len(bars(svg, "planned")) == 3  # two bars and the legend swatch
    assert len(bars(svg, "actual")) == 2  # one bar and the legend swatch
    assert {"Planned", "Actual"} <= {t.text for t in svg.iter(f"{NS}text")}


def test_labels_are_escaped_and_long_ones_shortened():
    markup = str(
        charts.bar_chart(
            chart_id="e",
            title="<script>alert(1)</script>",
            description="x",
            categories=["Team <b>Nord</b> & Süd with a very long name indeed"],
            series=[charts.Series(key="total", label="Show rate", values=[0.5])],
            axis=charts.rate_axis(),
            value_text=charts.percent_text,
        )
    )
    assert "<script>" not in markup and "<b>" not in markup
    svg = parse(markup)
    label = next(t.text for t in svg.iter(f"{NS}text") if t.text and t.text.startswith("Team"))
    assert label.endswith("\u2026") and len(label) == charts.MAX_LABEL_CHARS


def test_a_line_breaks_where_a_month_has_no_value():
    svg = parse(
        charts.line_chart(
            chart_id="f",
            title="By month",
            description="x",
            categories=["Jan\n2025", "Feb\n", "Mar\n", "Apr\n"],
            series=[charts.Series(key="video", label="Video", values=[0.8, 0.9, None, 0.7])],
            axis=charts.rate_axis(),
            value_text=charts.percent_text,
        )
    )
    (line,) = svg.iter(f"{NS}polyline")  # Jan-Feb; April stands alone as a point
    assert len(line.get("points").split()) == 2
    points = list(svg.iter(f"{NS}circle"))
    assert len(points) == 3
    assert points[0].find(f"{NS}title").text == "Video, Jan 2025: 80.0\u00a0%"
    # A higher value is drawn higher (smaller y).
    assert float(points[1].get("cy")) < float(points[0].get("cy")) < float(points[2].get("cy"))


def test_columns_grow_with_the_value():
    svg = parse(
        charts.column_chart(
            chart_id="g",
            title="Short notice",
            description="x",
            categories=["Jan\n", "Feb\n", "Mar\n"],
            series=charts.Series(key="late", label="Rate", values=[0.05, 0.1, None]),
            axis=charts.Axis(maximum=0.2, ticks=[0, 0.1, 0.2], tick_text=charts.percent_text),
            value_text=charts.percent_text,
        )
    )
    january, february = bars(svg, "late")
    assert float(february.get("height")) == pytest.approx(2 * float(january.get("height")))


def test_percentages_are_rounded_and_written_the_german_way_in_german():
    assert charts.percent_text(0.81289) == "81.3\u00a0%"
    with translation.override("de"):
        assert charts.percent_text(0.81289) == "81,3\u00a0%"
    assert re.fullmatch(r"39 min", charts.minutes_text(38.6))
