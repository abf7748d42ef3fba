"""Refusals every request meets before a view: input the database cannot take.

PostgreSQL refuses a NUL character in text and an integer past its columns' range with an
error, not a miss; a deeply nested JSON body exhausts the parser's recursion. Each is
refused here, in one place, as a 400 or 404 with one clear sentence, before anything is read
from or written to the database.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Iterable
from itertools import accumulate
from typing import Any

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter, Map
from wtforms import IntegerField as _IntegerField

from integrity.db import LARGEST_ID, LARGEST_INT, SMALLEST_INT
from integrity.errors import Refused

# Protocol v1 bodies nest two levels deep (an object of key slots in the body), the staff
# pages' bodies no deeper: 32 leaves room for clients that add keys of their own.
MAX_JSON_DEPTH = 32

# A JSON string (escapes included), anything but a bracket, and what a bracket does to depth.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# The escape \u0000, unless its backslash is itself escaped (\\u0000 is a backslash and text).
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")

# Bodies whose fields Werkzeug parses into request.form; a JSON body is checked as text.
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# Set in the WSGI environment once a JSON body's text has passed the checks.
_JSON_CHECKED = "integrity.json_checked"

NUMBER_REFUSED = _l("A number in the request is outside the range this server accepts.")
NUL_REFUSED = _l("The request contains a null character, which this server does not accept.")
TOO_DEEP = _l("The JSON body is nested more deeply than this server accepts.")


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in every route: a number past the database's range matches nothing (404)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        bound = LARGEST_INT if max is None else builtins.min(max, LARGEST_INT)
        super().__init__(map, fixed_digits, min, bound, signed)


class RowIdConverter(IntegerConverter):
    """``<row_id:...>``: the id of a report or of a person concerned, which is random and may
    be past 32 bits (integrity/db.py); a number past ``LARGEST_ID`` matches nothing (404)."""

    def __init__(self, map: Map) -> None:
        super().__init__(map, max=LARGEST_ID)


class BoundedParameters(ImmutableMultiDict[str, str]):
    """The query string and form fields (the request class's ``parameter_storage_class``):
    ``get(name, type=int)`` refuses (400) a number past the database's range.

    Falling back to the default instead would show something else than what was asked for.
    """

    def get(  # type: ignore[override]
            self, key: str, default: Any = None, type: Any = None) -> Any:  # noqa: A002
        if type is not int:
            return super().get(key, default, type)
        try:
            number = int(super().get(key))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return default
        if not SMALLEST_INT <= number <= LARGEST_INT:
            raise Refused(str(NUMBER_REFUSED))
        return number


class IntegerField(_IntegerField):
    """wtforms' IntegerField, refusing a number past the database's range as a field error."""

    data: int | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        number = self.data
        if number is not None and not SMALLEST_INT <= number <= LARGEST_INT:
            self.data = None
            raise ValueError(NUMBER_REFUSED)


def read_json() -> Any:
    """The request's JSON body; None when it is not JSON (or not valid JSON).

    Refuses (400) a body nested deeper than MAX_JSON_DEPTH or holding a NUL character. Both
    are found in the text before it is parsed, at the speed of the regular expression engine
    (a walk over a parsed body of a million numbers would cost more than parsing it). The
    parsed body is kept by the request, and the text is checked once.
    """
    if not request.is_json:
        return None
    if not request.environ.get(_JSON_CHECKED):
        data = request.get_data(cache=True)
        try:  # as json.loads reads bytes: UTF-8, or UTF-16 or -32 told by the first bytes
            text = data.decode(json.detect_encoding(data), "surrogatepass")
        except UnicodeDecodeError:
            return None
        if _too_deep(text):
            raise Refused(str(TOO_DEEP))
        if "\x00" in text or ("\\u0000" in text and _NUL_ESCAPE.search(text)):
            raise Refused(str(NUL_REFUSED))
        request.environ[_JSON_CHECKED] = True
    try:
        return request.get_json(silent=True)
    except RecursionError:  # not a ValueError, so get_json(silent=True) lets it through
        raise Refused(str(TOO_DEEP)) from None


def _too_deep(text: str) -> bool:
    """Whether the arrays and objects of JSON ``text`` nest deeper than MAX_JSON_DEPTH
    (brackets inside strings aside); for text that is not JSON, whether the parser could go
    that deep before failing."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False  # too few brackets to nest that deep
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0) > MAX_JSON_DEPTH


def _has_nul(values: Iterable[str]) -> bool:
    return any("\x00" in value for value in values)


def refuse_hostile_input() -> None:
    """Before every view: refuse NUL in the path, query, form or JSON body."""
    args = request.args
    if "\x00" in request.path or _has_nul(args.keys()) or _has_nul(
            value for _key, value in args.items(multi=True)):
        raise Refused(str(NUL_REFUSED))
    if request.method not in {"POST", "PUT", "PATCH", "DELETE"}:
        return
    if request.mimetype in _FORM_TYPES:  # only these bodies give form fields
        form = request.form
        if _has_nul(form.keys()) or _has_nul(value for _key, value in form.items(multi=True)):
            raise Refused(str(NUL_REFUSED))
    else:
        read_json()


def init_app(app: Flask) -> None:
    """Bound every ``<int:...>`` and ``<row_id:...>`` route and number, and refuse hostile
    input before any view."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.url_map.converters["row_id"] = RowIdConverter
    app.before_request(refuse_hostile_input)
