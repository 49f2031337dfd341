"""The SVG charts: one circle per point, escaped text, a cut-off line, alert markers and accessible names."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from questionnaires.charts import Bar, Point, Series, bar_chart, line_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def _chart(**overrides) -> str:
    arguments = {
        "chart_id": "test",
        "title": "SRS by session",
        "description": "Totals",
        "x_labels": ["S1", "S2", "S3"],
        "series": [
            Series(
                name="Client rating",
                key="client",
                points=(Point(0, 38, "S1"), Point(1, 27, "S2", alerts=("rupture",)), Point(2, 37.5, "S3")),
            ),
            Series(name="Clinician rating", key="clinician", points=(Point(1, 36, "S2"),)),
        ],
        "y_min": 0,
        "y_max": 40,
        "cutoff": 36,
    }
    return str(line_chart(**{**arguments, **overrides}))


def test_it_draws_one_circle_per_point_with_its_series_and_value():
    root = ElementTree.fromstring(_chart())
    circles = root.findall(f".//{SVG}circle")
    assert len(circles) == 4
    assert [(c.get("data-series"), c.get("data-value")) for c in circles] == [
        ("client", "38"), ("client", "27"), ("client", "37.5"), ("clinician", "36")
    ]
    assert all(c.get("class") == "chart-point" for c in circles)


def test_it_is_labelled_for_screen_readers():
    root = ElementTree.fromstring(_chart())
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "SRS by session"
    assert root.find(f"{SVG}desc").text == "Totals"
    assert root.get("aria-labelledby") == "test-title test-desc"


def test_it_draws_the_cutoff_line_where_the_value_lies():
    root = ElementTree.fromstring(_chart())
    cutoff = root.find(f".//{SVG}g[@class='chart-cutoff']")
    assert cutoff.get("data-value") == "36"
    line = cutoff.find(f"{SVG}line")
    top, bottom = 16 + 16, 260 - 44  # one legend row; plot from y=32 to y=216 for 0..40
    assert float(line.get("y1")) == round(top + (bottom - top) * (1 - 36 / 40), 1)


def test_it_marks_points_that_raised_alerts():
    root = ElementTree.fromstring(_chart())
    markers = root.findall(f".//{SVG}g[@class='chart-alert']")
    assert [(m.get("data-kinds"), m.get("data-x")) for m in markers] == [("rupture", "1")]


def test_it_breaks_a_line_where_a_session_is_missing():
    gappy = [Series(name="c", key="client", points=(Point(0, 1, "a"), Point(1, 2, "b"), Point(3, 3, "d")))]
    root = ElementTree.fromstring(_chart(x_labels=["a", "b", "c", "d"], series=gappy))
    assert len(root.findall(f".//{SVG}polyline")) == 1  # a-b joined; d stands alone


def test_it_escapes_every_text_it_is_given():
    hostile = "<script>alert(1)</script>"
    svg = _chart(title=hostile, x_labels=[hostile, "b", "c"],
                 series=[Series(name=hostile, key="x\"y", points=(Point(0, 1, hostile),))])
    assert "<script>" not in svg
    ElementTree.fromstring(svg)  # still well-formed XML


def test_bars_stack_per_category_and_keep_their_counts():
    svg = str(bar_chart(chart_id="alerts", title="Alerts", description="d", x_labels=["Jan", "Feb"],
                        bars=[Bar(0, "risk", 2), Bar(0, "rupture", 3), Bar(1, "risk", 1), Bar(1, "repair", 0)]))
    root = ElementTree.fromstring(svg)
    bars = root.findall(f".//{SVG}rect[@class='chart-bar']")
    assert sorted((b.get("data-x"), b.get("data-kind"), b.get("data-count")) for b in bars) == [
        ("0", "risk", "2"), ("0", "rupture", "3"), ("1", "risk", "1")
    ]
    january = [b for b in bars if b.get("data-x") == "0"]
    bottoms = sorted(round(float(b.get("y")) + float(b.get("height")), 1) for b in january)
    tops = sorted(float(b.get("y")) for b in january)
    assert bottoms[-1] == 216.0  # the stack stands on the axis
    assert bottoms[0] == tops[1]  # and the upper segment sits on the lower one


def test_nice_ticks_are_round_numbers_covering_the_range():
    assert nice_ticks(0, 40) == [0, 10, 20, 30, 40]
    assert nice_ticks(0, 27) == [0, 10, 20]
    assert nice_ticks(0, 100) == [0, 25, 50, 75, 100]


def test_legend_wraps_rather_than_dropping_series():
    many = [Series(name=f"clinician-number-{index}", key=f"c{index}", points=(Point(0, 1, "p"),)) for index in range(8)]
    svg = _chart(series=many)
    assert all(f"clinician-number-{index}" in svg for index in range(8))
    heights = re.findall(r'viewBox="0 0 640 (\d+)"', svg)
    assert int(heights[0]) > 260


# --- issue 17: the band that matters, distinct markers, the clinician above the clinic ---------------


def test_an_srs_axis_shows_the_30_to_40_band_with_the_cut_off_inside():
    from questionnaires.charts import focus_range

    assert focus_range(0, 40, [33, 38, 40], 36) == (30, 40)
    assert focus_range(0, 40, [12, 38], 36) == (10, 40)  # a low rating widens it: nothing is clipped
    assert focus_range(0, 27, [], None) == (0, 27)


def test_risk_alerts_and_notes_have_distinct_markers_and_a_legend():
    svg = _chart(series=[
        Series(name="Client rating", key="client", points=(
            Point(0, 20, "S1", alerts=("risk",)), Point(1, 27, "S2", alerts=("low_alliance",)),
            Point(2, 37.5, "S3", notes=("recovered",)),
        )),
    ])
    root = ElementTree.fromstring(svg)
    groups = {group.get("class"): group for group in root.iter(f"{SVG}g") if group.get("data-kinds")}
    assert set(groups) == {"chart-alert chart-risk", "chart-alert", "chart-note"}
    assert groups["chart-note"].get("data-kinds") == "recovered"
    legend = root.find(f".//{SVG}g[@class='chart-marker-legend']")
    assert [text.text for text in legend.iter(f"{SVG}text")] == ["!", "alert", "!", "risk", "note"]


def test_the_clinic_reference_is_drawn_first_so_the_clinicians_line_lies_above_it():
    svg = _chart(series=[
        Series(name="north-clinician", key="clinician", points=(Point(0, 30, "a"), Point(1, 31, "b")), emphasis=True),
        Series(name="whole clinic", key="clinic", points=(Point(0, 30, "a"), Point(1, 31, "b")), reference=True),
    ], scale_note="scale 0–40", x_title="Session")
    order = re.findall(r'class="chart-series series-(\w+)"', svg)
    assert order == ["clinic", "clinician"]
    root = ElementTree.fromstring(svg)
    legend = [text.text for text in root.find(f".//{SVG}g[@class='chart-legend']").iter(f"{SVG}text")]
    assert legend == ["north-clinician", "whole clinic"]
    assert root.find(f".//{SVG}text[@class='chart-scale']").text == "scale 0–40"
    assert root.find(f".//{SVG}text[@class='chart-x-title']").text == "Session"
