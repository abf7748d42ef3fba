"""What a chart shows, as plain data: the dashboard's pages and the PDF report describe their
charts with these, and :mod:`integrity.dashboard.charts` draws them. Kept apart from the
drawing so that the pages load without matplotlib, which loads with the first chart drawn."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from integrity.dashboard.cache import fingerprint


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[float | None, ...]
    low: tuple[float | None, ...] | None = None
    high: tuple[float | None, ...] | None = None


@dataclass(frozen=True)
class Span:
    label: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class Chart:
    """What to draw: bars or lines over labelled x positions (each a span of days)."""

    kind: str  # "bar" or "line"
    title: str
    y_label: str
    x_labels: tuple[str, ...]
    x_starts: tuple[date, ...]  # the first day each x position stands for
    x_ends: tuple[date, ...]  # its last day
    series: tuple[Series, ...]
    spans: tuple[Span, ...] = ()
    y_max: float | None = None
    alt: str = ""
    legend: tuple[str, ...] = field(default=())
    decimal: str = "."  # the locale's decimal separator, for the y axis

    @property
    def key(self) -> str:
        return fingerprint(asdict(self))
