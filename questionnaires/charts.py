"""Small server-side SVG charts (lines with points, stacked bars) for the admin: readable without JavaScript.

Every chart carries a <title> and <desc> and is labelled for screen readers; each data point is a
<circle class="chart-point"> with data attributes (series, x, value), so browser tests can count
them and a person hovering a point reads its value. Colours come from the Okabe–Ito palette, which
stays distinguishable with the common colour-vision deficiencies; series also differ by dash.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#882255", "#44AA99", "#999933",
    "#AA4499", "#332288",
)
DASHES = ("", "6 3", "2 3", "8 3 2 3")
ALERT_COLOUR = "#B35900"
"""Alerts: an amber-brown triangle with "!"."""
RISK_COLOUR = "#B00020"
"""Risk: a red diamond with "!", larger, drawn above any other marker of the point."""
NOTE_COLOUR = "#007A4D"
"""Notes (good news): a green circle with a check mark, below the point."""
CUTOFF_COLOUR = "#6b6b6b"
REFERENCE_COLOUR = "#8a8a8a"
"""The whole-clinic reference line, drawn underneath the series compared with it."""
EXPECTED_COLOUR = "#4D4D4D"
"""The expected change curve behind a client's scores: its line, and a pale band down to the alarm limit."""
EXPECTED_FILL = "#DCEBF5"

WIDTH = 640
HEIGHT = 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_BOTTOM = 48, 16, 44
LEGEND_ROW = 16
MAX_X_LABELS = 12


@dataclass(frozen=True)
class Point:
    """One value at category `x` (an index into the chart's x labels).

    `alerts` draws a marker above it (a distinct one when `risk` is among them); `notes` (good
    news) draws a green check below it.
    """

    x: int
    y: float
    label: str
    data: Mapping[str, str] = field(default_factory=dict)
    alerts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Series:
    name: str
    key: str
    """A slug for the CSS class and the `data-series` attribute."""
    points: tuple[Point, ...]
    emphasis: bool = False
    reference: bool = False
    """A reference line (the whole clinic): grey, and drawn first so the series compared with it lie above."""


@dataclass(frozen=True)
class ExpectedBand:
    """An expected course drawn behind the series: at each x the expected value and the alarm limit.

    `name` labels the expected line in the legend, `limit_name` the band's far edge; `data` goes on the
    group as data attributes (e.g. the curve's provenance).
    """

    points: tuple[tuple[int, float, float], ...]
    """(x, expected, limit), x ascending."""
    name: str
    limit_name: str
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Bar:
    """One stacked segment: `count` of `kind` in category `x`."""

    x: int
    kind: str
    count: int


@dataclass(frozen=True)
class _Frame:
    """Maps data coordinates to pixels for one chart."""

    categories: int
    y_min: float
    y_max: float
    legend_rows: int = 1
    width: int = WIDTH
    base_height: int = HEIGHT

    @property
    def top(self) -> float:
        return 16 + LEGEND_ROW * self.legend_rows

    @property
    def height(self) -> int:
        return self.base_height + LEGEND_ROW * (self.legend_rows - 1)

    @property
    def plot_width(self) -> float:
        return self.width - MARGIN_LEFT - MARGIN_RIGHT

    @property
    def plot_height(self) -> float:
        return self.height - self.top - MARGIN_BOTTOM

    def px(self, x: float) -> float:
        step = self.plot_width / max(self.categories, 1)
        return MARGIN_LEFT + (x + 0.5) * step

    def py(self, y: float) -> float:
        span = (self.y_max - self.y_min) or 1.0
        clamped = min(max(y, self.y_min), self.y_max)
        return self.top + self.plot_height * (1 - (clamped - self.y_min) / span)


def _number(value: float) -> str:
    """Coordinates with one decimal keep the markup small and stable across platforms."""
    return f"{value:.1f}"


def _value_text(value: float) -> str:
    return f"{value:g}" if abs(value) >= 0.001 or value == 0 else f"{value:.3g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering low..high (1, 2, 2.5 or 5 times a power of ten apart)."""
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def focus_range(low: float, high: float, values: Sequence[float], cutoff: float | None) -> tuple[float, float]:
    """The part of an instrument's range low..high that holds the values and the cut-off, with a margin.

    A 0–40 SRS axis squashes the band that matters (35–40) into an eighth of the chart; a client
    rating 33–40 with the cut-off at 36 gets a 30–40 axis. Bounds snap to a round step near a
    twentieth of the range (SRS: multiples of 2) and never leave the instrument's range; the chart
    states the full range.
    """
    shown = [*values, *([cutoff] if cutoff is not None else [])]
    if not shown or high <= low:
        return low, high
    raw = (high - low) / 20
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    margin = (high - low) * 0.05
    bottom = max(low, math.floor((min(shown) - margin) / step) * step)
    top = min(high, math.ceil((max(shown) + margin) / step) * step)
    return (round(bottom, 6), round(top, 6)) if top > bottom else (low, high)


def _attributes(data: Mapping[str, str]) -> str:
    return "".join(f' data-{escape(name)}="{escape(value)}"' for name, value in data.items())


def _open(frame: _Frame, *, chart_id: str, kind: str, title: str, description: str) -> list[str]:
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" id="{escape(chart_id)}" '
        f'viewBox="0 0 {frame.width} {frame.height}" width="100%" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" preserveAspectRatio="xMidYMid meet" '
        # Presentation attributes, not a style attribute: the Content-Security-Policy allows no inline style.
        'font-family="system-ui,sans-serif" font-size="11">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{frame.width}" height="{frame.height}" fill="#fff"/>',
    ]


def _axes(frame: _Frame, *, x_labels: Sequence[str], y_label: str, y_ticks: Sequence[float]) -> list[str]:
    parts = ['<g class="chart-axes" aria-hidden="true">']
    left, right = MARGIN_LEFT, frame.width - MARGIN_RIGHT
    bottom = frame.height - MARGIN_BOTTOM
    for tick in y_ticks:
        y = frame.py(tick)
        parts.append(f'<line x1="{left}" x2="{right}" y1="{_number(y)}" y2="{_number(y)}" stroke="#e5e5e5"/>')
        parts.append(
            f'<text x="{left - 6}" y="{_number(y + 4)}" text-anchor="end" fill="#333">{_value_text(tick)}</text>'
        )
    parts.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#999"/>')
    every = max(1, math.ceil(len(x_labels) / MAX_X_LABELS))
    for index, label in enumerate(x_labels):
        if index % every:
            continue
        x = frame.px(index)
        parts.append(
            f'<text class="chart-x-label" x="{_number(x)}" y="{bottom + 16}" text-anchor="middle" fill="#333">'
            f"{escape(label)}</text>"
        )
    if y_label:
        middle = _number(frame.top + frame.plot_height / 2)
        parts.append(
            f'<text x="12" y="{middle}" text-anchor="middle" fill="#333" '
            f'transform="rotate(-90 12 {middle})">{escape(y_label)}</text>'
        )
    parts.append("</g>")
    return parts


def _legend_layout(names: Sequence[str], width: int) -> list[tuple[float, float]]:
    """Where each legend entry goes: left to right, wrapping onto a new row at the right edge."""
    positions = []
    x, row = float(MARGIN_LEFT), 0
    for name in names:
        entry_width = 30 + 6.5 * len(name)
        if x + entry_width > width - MARGIN_RIGHT and x > MARGIN_LEFT:
            x, row = float(MARGIN_LEFT), row + 1
        positions.append((x, 14 + row * LEGEND_ROW))
        x += entry_width
    return positions


def _legend_rows(names: Sequence[str], width: int = WIDTH) -> int:
    positions = _legend_layout(names, width)
    return 1 + int((positions[-1][1] - 14) // LEGEND_ROW) if positions else 1


def _legend(entries: Sequence[tuple[str, str, str]], width: int, *, swatch: str = "line") -> list[str]:
    """(name, colour, dash) entries along the top; `swatch` is a line for line charts, a square for bars."""
    parts = ['<g class="chart-legend">']
    for (name, colour, dash), (x, y) in zip(entries, _legend_layout([e[0] for e in entries], width), strict=True):
        if swatch == "square":
            parts.append(f'<rect x="{_number(x + 4)}" y="{_number(y - 6)}" width="11" height="11" fill="{colour}"/>')
        else:
            dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<line x1="{_number(x)}" x2="{_number(x + 18)}" y1="{_number(y)}" y2="{_number(y)}" '
                f'stroke="{colour}" stroke-width="3"{dash_attribute}/>'
            )
        parts.append(f'<text x="{_number(x + 22)}" y="{_number(y + 4)}" fill="#222">{escape(name)}</text>')
    parts.append("</g>")
    return parts


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    y_min: float,
    y_max: float,
    y_label: str = "",
    cutoff: float | None = None,
    cutoff_label: str = "",
    x_title: str = "",
    scale_note: str = "",
    expected: ExpectedBand | None = None,
) -> SafeString:
    """Lines through each series' points; a gap in a series (a missing x) breaks its line.

    Reference series are drawn first (underneath); `scale_note` (e.g. "scale 0–40, axis 30–40")
    is printed at the top right so a zoomed axis never hides the instrument's full range.
    `expected` draws an expected course and its tolerance band underneath everything else.
    """
    marked = any(point.alerts or point.notes for one in series for point in one.points)
    expected_names = [expected.name, expected.limit_name] if expected is not None and expected.points else []
    names = [one.name for one in series] + expected_names + (["alert", "risk", "note"] if marked else [])
    rows = _legend_rows(names)
    frame = _Frame(categories=len(x_labels), y_min=y_min, y_max=y_max, legend_rows=rows)
    parts = _open(frame, chart_id=chart_id, kind="line", title=title, description=description)
    parts += _axes(frame, x_labels=x_labels, y_label=y_label, y_ticks=nice_ticks(y_min, y_max))
    if x_title:
        parts.append(
            f'<text class="chart-x-title" x="{_number(MARGIN_LEFT + frame.plot_width / 2)}" '
            f'y="{frame.height - 6}" text-anchor="middle" fill="#333">{escape(x_title)}</text>'
        )
    if scale_note:
        parts.append(
            f'<text class="chart-scale" x="{frame.width - MARGIN_RIGHT}" y="{_number(frame.top - 4)}" '
            f'text-anchor="end" fill="#333">{escape(scale_note)}</text>'
        )
    if cutoff is not None:
        y = _number(frame.py(cutoff))
        parts.append(
            f'<g class="chart-cutoff" data-value="{_value_text(cutoff)}">'
            f'<line x1="{MARGIN_LEFT}" x2="{frame.width - MARGIN_RIGHT}" y1="{y}" y2="{y}" '
            f'stroke="{CUTOFF_COLOUR}" stroke-width="1.5" stroke-dasharray="5 4"/>'
            f'<text x="{frame.width - MARGIN_RIGHT}" y="{_number(frame.py(cutoff) - 4)}" text-anchor="end" '
            f'fill="{CUTOFF_COLOUR}">{escape(cutoff_label or f"cut-off {_value_text(cutoff)}")}</text></g>'
        )
    if expected_names:
        parts += _expected(frame, expected)  # type: ignore[arg-type]
    legend, drawn = [], []
    for index, one in enumerate(series):
        if one.reference:
            colour, dash = REFERENCE_COLOUR, "4 3"
        else:
            colour = "#222222" if one.emphasis else PALETTE[index % len(PALETTE)]
            dash = "" if one.emphasis else DASHES[index % len(DASHES)]
        legend.append((one.name, colour, dash))
        drawn.append((one, colour, dash))
    for one, colour, dash in sorted(drawn, key=lambda entry: not entry[0].reference):
        parts += _series(frame, one, colour, dash)
    if expected_names:
        legend += [(expected_names[0], EXPECTED_COLOUR, "3 3"), (expected_names[1], EXPECTED_FILL, "")]
    parts += _legend(legend, frame.width)
    if marked:
        parts += _marker_legend(frame.width, [entry[0] for entry in legend])
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text above is escaped


def _series(frame: _Frame, series: Series, colour: str, dash: str) -> list[str]:
    key = escape(series.key)
    parts = [f'<g class="chart-series series-{key}" data-series="{key}" aria-label="{escape(series.name)}">']
    ordered = sorted(series.points, key=lambda point: point.x)
    runs = [[ordered[0]]] if ordered else []
    for previous, point in itertools.pairwise(ordered):
        if point.x == previous.x + 1:
            runs[-1].append(point)
        else:
            runs.append([point])
    stroke_width = 3 if series.emphasis else 2
    dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
    for run in runs:
        if len(run) > 1:
            path = " ".join(f"{_number(frame.px(p.x))},{_number(frame.py(p.y))}" for p in run)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{stroke_width}"'
                f"{dash_attribute}/>"
            )
    for point in ordered:
        cx, cy = frame.px(point.x), frame.py(point.y)
        data = {"series": series.key, "x": str(point.x), "value": _value_text(point.y), **point.data}
        parts.append(
            f'<circle class="chart-point" cx="{_number(cx)}" cy="{_number(cy)}" r="4.5" fill="{colour}" '
            f'stroke="#fff" stroke-width="1.5" tabindex="0" aria-label="{escape(point.label)}"{_attributes(data)}>'
            f"<title>{escape(point.label)}</title></circle>"
        )
        if point.alerts:
            kinds = ", ".join(point.alerts)
            risk = "risk" in point.alerts
            css = "chart-alert chart-risk" if risk else "chart-alert"
            heading = "Risk alert" if risk else "Alert"
            parts.append(
                f'<g class="{css}" data-kinds="{escape(kinds)}" data-x="{point.x}" data-series="{key}">'
                f"<title>{escape(f'{heading}: {kinds}')}</title>"
                + (_risk_marker(cx, cy - 20) if risk else _alert_marker(cx, cy - 19))
                + "</g>"
            )
        if point.notes:
            kinds = ", ".join(point.notes)
            parts.append(
                f'<g class="chart-note" data-kinds="{escape(kinds)}" data-x="{point.x}" data-series="{key}">'
                f'<title>{escape(f"Note: {kinds}")}</title>{_note_marker(cx, cy + 15)}</g>'
            )
    parts.append("</g>")
    return parts


def _expected(frame: _Frame, expected: ExpectedBand) -> list[str]:
    """The band from the expected line to the alarm limit (a polygon) and the expected line (dotted); a lone
    x is widened to a short step so it shows."""
    points = list(expected.points)
    if len(points) == 1:
        x, value, limit = points[0]
        points = [(x - 0.3, value, limit), (x + 0.3, value, limit)]
    upper = [f"{_number(frame.px(x))},{_number(frame.py(value))}" for x, value, _ in points]
    lower = [f"{_number(frame.px(x))},{_number(frame.py(limit))}" for x, _, limit in reversed(points)]
    label = f"{expected.name}; shaded down to the {expected.limit_name}"
    return [
        f'<g class="chart-expected"{_attributes(expected.data)} aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        f'<polygon class="chart-expected-band" points="{" ".join(upper + lower)}" fill="{EXPECTED_FILL}"/>',
        f'<polyline class="chart-expected-line" points="{" ".join(upper)}" fill="none" stroke="{EXPECTED_COLOUR}" '
        'stroke-width="1.5" stroke-dasharray="3 3"/>',
        "</g>",
    ]


def _alert_marker(cx: float, cy: float) -> str:
    return (
        f'<path d="M{_number(cx)},{_number(cy - 5)} l6,10 h-12 z" fill="{ALERT_COLOUR}"/>'
        f'<text x="{_number(cx)}" y="{_number(cy + 4)}" text-anchor="middle" fill="#fff" '
        f'font-size="8" font-weight="bold">!</text>'
    )


def _risk_marker(cx: float, cy: float) -> str:
    return (
        f'<path d="M{_number(cx)},{_number(cy - 8)} l8,8 l-8,8 l-8,-8 z" fill="{RISK_COLOUR}" '
        f'stroke="#fff" stroke-width="1"/>'
        f'<text x="{_number(cx)}" y="{_number(cy + 3.5)}" text-anchor="middle" fill="#fff" '
        f'font-size="10" font-weight="bold">!</text>'
    )


def _note_marker(cx: float, cy: float) -> str:
    return (
        # A path, not a <circle>: circles are the data points, counted by tests and assistive tools.
        f'<path d="M{_number(cx - 6)},{_number(cy)} a6,6 0 1,0 12,0 a6,6 0 1,0 -12,0" fill="{NOTE_COLOUR}"/>'
        f'<path d="M{_number(cx - 3)},{_number(cy)} l2,2.5 l4,-5" fill="none" stroke="#fff" stroke-width="1.6"/>'
    )


def _marker_legend(width: int, names: Sequence[str]) -> list[str]:
    """The three markers after the series in the legend row(s): alert, risk, note."""
    positions = _legend_layout([*names, "alert", "risk", "note"], width)[len(names):]
    parts = ['<g class="chart-marker-legend">']
    for (label, marker), (x, y) in zip(
        (("alert", _alert_marker), ("risk", _risk_marker), ("note", _note_marker)), positions, strict=True
    ):
        parts.append(marker(x + 9, y) + f'<text x="{_number(x + 22)}" y="{_number(y + 4)}" fill="#222">{label}</text>')
    parts.append("</g>")
    return parts


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    bars: Sequence[Bar],
    y_label: str = "",
) -> SafeString:
    """Stacked bars, one colour per kind, in a fixed kind order so the stacks compare across categories."""
    kinds = sorted({bar.kind for bar in bars})
    colours = {kind: PALETTE[index % len(PALETTE)] for index, kind in enumerate(kinds)}
    totals: dict[int, int] = {}
    for bar in bars:
        totals[bar.x] = totals.get(bar.x, 0) + bar.count
    top = max(totals.values(), default=0)
    ticks = nice_ticks(0, max(top, 1))
    rows = _legend_rows(kinds)
    frame = _Frame(categories=len(x_labels), y_min=0, y_max=max(ticks[-1], top, 1), legend_rows=rows)
    parts = _open(frame, chart_id=chart_id, kind="bar", title=title, description=description)
    parts += _axes(frame, x_labels=x_labels, y_label=y_label, y_ticks=ticks)
    width = min(40.0, frame.plot_width / max(len(x_labels), 1) * 0.6)
    stacked: dict[int, int] = {}
    parts.append('<g class="chart-bars">')
    for bar in sorted(bars, key=lambda bar: (bar.x, kinds.index(bar.kind))):
        if bar.count <= 0:
            continue
        below = stacked.get(bar.x, 0)
        stacked[bar.x] = below + bar.count
        y_top, y_bottom = frame.py(below + bar.count), frame.py(below)
        label = f"{x_labels[bar.x]}: {bar.count} {bar.kind}"
        parts.append(
            f'<rect class="chart-bar" x="{_number(frame.px(bar.x) - width / 2)}" y="{_number(y_top)}" '
            f'width="{_number(width)}" height="{_number(y_bottom - y_top)}" fill="{colours[bar.kind]}" '
            f'data-kind="{escape(bar.kind)}" data-x="{bar.x}" data-count="{bar.count}" tabindex="0" '
            f'aria-label="{escape(label)}"><title>{escape(label)}</title></rect>'
        )
    parts.append("</g>")
    parts += _legend([(kind, colours[kind], "") for kind in kinds], frame.width, swatch="square")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text above is escaped
