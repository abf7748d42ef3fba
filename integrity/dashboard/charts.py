"""Charts for the dashboard and the PDF report: matplotlib (Agg), as SVG and PNG.

A chart is described by plain data (:mod:`integrity.dashboard.chart_specs`) and drawn from that
alone, so the drawing is cached under a fingerprint of the data, the format and the writing
direction. Colours are the Okabe-Ito palette, which stays distinguishable with the common
colour-vision deficiencies, and every series also has its own marker. Right-to-left pages get
mirrored charts: time runs from right to left and the value axis stands on the right.

The SVG keeps no inline ``style`` (the pages' Content-Security-Policy forbids inline styles):
matplotlib's style attributes are rewritten as SVG presentation attributes.
"""

from __future__ import annotations

import io
import re
import textwrap
import threading
from collections.abc import Sequence
from datetime import date, timedelta
from xml.sax.saxutils import escape

import matplotlib
from matplotlib.axes import Axes
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from integrity import fonts
from integrity.dashboard.cache import cached
from integrity.dashboard.chart_specs import Chart

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
SPAN_COLOUR = "#999999"
SIZE_INCHES = (6.4, 3.8)
DPI = 150  # 960 × 570 pixels: sharp on a phone held sideways, small enough to load


def _position(day: date, starts: Sequence[date], ends: Sequence[date]) -> float:
    """Where ``day`` falls on an axis of bars 0, 1, 2... each standing for its days."""
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if day < start:
            return i - 0.5
        if day <= end:
            return i - 0.5 + (day - start).days / ((end - start).days + 1)
    return len(starts) - 0.5


def _x_of(chart: Chart) -> list[float]:
    """x coordinates: bar positions, or the middle day of each wave on a time axis."""
    if chart.kind == "bar":
        return [float(i) for i in range(len(chart.x_labels))]
    return [float(date2num(start + (end - start) / 2))
            for start, end in zip(chart.x_starts, chart.x_ends, strict=True)]


def _span_x(chart: Chart, day: date, end: bool) -> float:
    if chart.kind == "bar":
        return _position(day + timedelta(days=1) if end else day, chart.x_starts, chart.x_ends)
    return float(date2num(day + timedelta(days=1) if end else day))


def _limits(chart: Chart, xs: list[float]) -> tuple[float, float]:
    if chart.kind == "bar":
        return -0.6, len(xs) - 0.4
    days = [float(date2num(d)) for d in chart.x_starts + chart.x_ends]
    margin = max(20.0, (max(days) - min(days)) * 0.06)
    return min(days) - margin, max(days) + margin


def _shade(axes: Axes, chart: Chart) -> bool:
    """Campaigns as shaded spans, each with its name above it."""
    shown = False
    if not chart.x_starts:
        return shown
    first, last = chart.x_starts[0], chart.x_ends[-1]
    for span in chart.spans:
        if span.ends_on < first or span.starts_on > last:
            continue
        left = _span_x(chart, max(span.starts_on, first), False)
        right = max(_span_x(chart, min(span.ends_on, last), True), left + 0.05)
        axes.axvspan(left, right, color=SPAN_COLOUR, alpha=0.3, lw=0, zorder=0)
        axes.text((left + right) / 2, 1.0, textwrap.shorten(span.label, 22, placeholder="..."),
                  transform=axes.get_xaxis_transform(), ha="center", va="bottom",
                  fontsize=8, color="#333333")
        shown = True
    return shown


def _draw(chart: Chart, rtl: bool) -> Figure:
    figure = Figure(figsize=SIZE_INCHES, layout="constrained")
    draw_into(figure, figure.add_subplot(), chart, rtl)
    return figure


def draw_into(figure: Figure, axes: Axes, chart: Chart, rtl: bool = False,
              legend_below: bool = True) -> None:
    """Draw ``chart`` on ``axes`` (its legend below the figure, or on the axes)."""
    xs = _x_of(chart)
    count = max(1, len(chart.series))
    for i, series in enumerate(chart.series):
        colour, marker = OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)]
        values = [float("nan") if v is None else v for v in series.values]
        if chart.kind == "bar":
            width = 0.8 / count
            offset = (i - (count - 1) / 2) * width
            axes.bar([x + offset for x in xs], values, width=width, color=colour,
                     label=series.label, zorder=2)
            continue
        errors = None
        if series.low is not None and series.high is not None:
            errors = [[0.0 if v is None or lo is None else v - lo
                       for v, lo in zip(series.values, series.low, strict=True)],
                      [0.0 if v is None or hi is None else hi - v
                       for v, hi in zip(series.values, series.high, strict=True)]]
        axes.errorbar(xs, values, yerr=errors, color=colour, marker=marker, markersize=7,
                      linewidth=2, capsize=4, label=series.label, zorder=3)
    spans = _shade(axes, chart)
    axes.set_xticks(xs, list(chart.x_labels))
    if len(xs) > 6:
        axes.tick_params(axis="x", labelrotation=45)
    axes.set_xlim(*_limits(chart, xs))
    axes.set_ylabel(chart.y_label)
    if chart.y_max is not None:
        axes.set_ylim(0, chart.y_max)
    else:
        axes.set_ylim(bottom=0)
    axes.yaxis.set_major_formatter(
        FuncFormatter(lambda value, _position: f"{value:g}".replace(".", chart.decimal)))
    axes.grid(axis="y", color="#dddddd", zorder=0)
    axes.spines[["top", "left" if rtl else "right"]].set_visible(False)
    handles, labels = axes.get_legend_handles_labels()
    if spans:
        handles.append(Patch(color=SPAN_COLOUR, alpha=0.3))
        labels.append(chart.legend[0] if chart.legend else "campaign")
    if len(handles) > 1 or spans:
        if rtl:
            handles, labels = handles[::-1], labels[::-1]
        if legend_below:
            figure.legend(handles, labels, loc="outside lower center",
                          ncols=min(4, len(handles)), fontsize=9, frameon=False)
        else:
            axes.legend(handles, labels, loc="upper right" if rtl else "upper left",
                        fontsize=8, frameon=True, framealpha=0.9)
    if rtl:
        axes.invert_xaxis()
        axes.yaxis.tick_right()
        axes.yaxis.set_label_position("right")


_STYLE = re.compile(r'style="([^"]*)"')
_STYLE_BLOCK = re.compile(r"<style[^>]*>.*?</style>", re.S)


def _presentation(match: re.Match[str]) -> str:
    attributes = []
    for declaration in match.group(1).split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() and value.strip():
            attributes.append(f'{name.strip()}="{escape(value.strip(), {chr(34): "&quot;"})}"')
    return " ".join(attributes)


def _clean_svg(svg: str, alt: str) -> str:
    """No <style> and no style attributes (CSP), and the alt text as the SVG's title."""
    svg = _STYLE_BLOCK.sub("", svg)
    svg = _STYLE.sub(_presentation, svg)
    title = f"<title>{escape(alt)}</title>"
    svg = re.sub(r"(<svg\b[^>]*>)", lambda m: m.group(1).replace(
        "<svg ", '<svg role="img" ', 1) + title, svg, count=1)
    return svg


def render(chart: Chart, fmt: str, rtl: bool = False) -> bytes:
    """The chart as SVG or PNG bytes, drawn once per fingerprint."""
    if fmt not in ("svg", "png"):
        raise ValueError("charts are SVG or PNG")
    return cached(("chart", chart.key, fmt, rtl), lambda: _render(chart, fmt, rtl))


def _render(chart: Chart, fmt: str, rtl: bool) -> bytes:
    buffer = io.BytesIO()
    with fonts.DRAWING, matplotlib.rc_context(fonts.style(**{
            "svg.hashsalt": chart.key, "font.size": 11, "svg.fonttype": "path"})):
        figure = _draw(chart, rtl)
        if fmt == "svg":
            figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        else:
            figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    if fmt == "svg":
        return _clean_svg(buffer.getvalue().decode(), chart.alt).encode()
    return buffer.getvalue()


def drawing_lock() -> threading.Lock:
    """Held while drawing: matplotlib's settings are global to the process."""
    return fonts.DRAWING
