"""Dates, times, numbers and percentages as people read them, in the current locale (CLDR
through Babel). Machine outputs (CSV, JSON, the API, ``datetime=`` and ``value=`` attributes)
keep ISO dates and plain dot decimals and never go through here."""

from __future__ import annotations

from copy import copy
from datetime import date, datetime

from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import (
    NumberPattern,
    get_decimal_symbol,
    get_minus_sign_symbol,
    get_plus_sign_symbol,
)
from flask import Flask
from flask_babel import format_date, format_datetime, get_locale

DASH = "–"  # what is shown where there is no figure


def _locale() -> Locale:
    return get_locale() or Locale.parse("en")


def _pattern(base: NumberPattern, digits: int) -> NumberPattern:
    pattern = copy(base)
    pattern.frac_prec = (digits, digits)
    return pattern


def decimal_symbol() -> str:
    """The locale's decimal separator: "." (en), "," (fr)."""
    return get_decimal_symbol(_locale())


def number(value: float | None, digits: int = 1) -> str:
    """``value`` with exactly ``digits`` decimals: "55.6" (en), "55,6" (fr), "1 234,5" (ru)."""
    if value is None:
        return DASH
    locale = _locale()
    return _pattern(locale.decimal_formats[None], digits).apply(value, locale)


def signed(value: float | None, digits: int = 1) -> str:
    """A change, always with its sign: "+2.5", "-1.0" (with the locale's plus and minus)."""
    if value is None:
        return DASH
    locale = _locale()
    sign = get_minus_sign_symbol(locale) if value < 0 else get_plus_sign_symbol(locale)
    return sign + number(abs(value), digits)


def percent(points: float | None, digits: int = 1) -> str:
    """``points`` per cent (55.6 for 55.6 %) with the locale's separator and percent sign:
    "55.6%" (en), "55,6 %" (fr), "%55,6" (tr)."""
    if points is None:
        return DASH
    locale = _locale()
    return _pattern(locale.percent_formats[None], digits).apply(points / 100, locale)


def share(ratio: float | None, digits: int = 0) -> str:
    """A ratio between 0 and 1 as a percentage: 0.75 -> "75%" (en), "75 %" (fr)."""
    return DASH if ratio is None else percent(100 * ratio, digits)


def day(value: date | str | None, form: str = "medium") -> str:
    """A calendar day in the locale's medium (or long) form: "Jan 5, 2027", "5 janv. 2027";
    also a day as the API writes it ("2027-01-05")."""
    if value is None:
        return DASH
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, form)


def moment(value: datetime | None, form: str = "medium") -> str:
    """A point in time, in the installation's time zone (UTC unless configured)."""
    return DASH if value is None else format_datetime(value, form)


def month(value: date | None) -> str:
    """A month and year: "Jan 2027" (en), "janv. 2027" (fr)."""
    return DASH if value is None else format_skeleton("yMMM", value, locale=_locale())


def quarter(value: date) -> str:
    """A quarter and year: "Q1 2027" (en), "T1 2027" (fr)."""
    return format_skeleton("yQQQ", value, locale=_locale())


def span(start: date, end: date) -> str:
    """Two days as a range: "Jan 5, 2027 – Feb 1, 2027"."""
    return f"{day(start)} – {day(end)}"


FILTERS = {"number": number, "signed": signed, "percent": percent, "share": share,
           "day": day, "moment": moment, "month": month, "quarter": quarter}


def init_app(app: Flask) -> None:
    """Register the formats as Jinja filters (``{{ wave.opens_on|day }}``)."""
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals["day_span"] = span
