"""Logging that never records who is asking (no client address, no user agent), and whose
every line is one record: control characters arrive escaped, so a request cannot write a
line of its own."""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

_ADDRESS = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b"  # IPv4
    r"|\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b"  # IPv6, full form
    r"|(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{0,4}::(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{0,4}",  # IPv6, ::
    re.IGNORECASE,
)
_WERKZEUG_PREFIX = re.compile(r"^\S+ - - \[[^\]]*\] ")

# C0 and C1 control characters, DEL and the Unicode line and paragraph separators: anything
# that could end a log line, start a forged one or drive a terminal.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# gunicorn's access log: method, path without query string, status, size, duration.
ACCESS_LOG_FORMAT = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'


class WerkzeugAddressFilter(logging.Filter):
    """Drop the client address werkzeug's development server puts first on each line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _WERKZEUG_PREFIX.sub("", record.msg, count=1)
        return True


class AddressScrubber(logging.Filter):
    """Replace anything that looks like an IP address in a formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = _ADDRESS.sub("[address]", message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


def _escape(match: re.Match[str]) -> str:
    char = match[0]
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100
                                else f"\\u{ord(char):04x}")


def escape_controls(text: str) -> str:
    """``text`` with every control character written as an escape (a newline as ``\\n``)."""
    return _CONTROL.sub(_escape, text)


def _escaped_traceback(exc_info: Any) -> str:
    """The traceback as logging prints it, each exception's own message escaped.

    The frames come from the code; the messages may carry what a request sent (a path, a
    value), so they alone are escaped and the traceback keeps its lines. PostgreSQL's DETAIL
    quotes the values of a conflicting row ("Key (email)=(…) already exists"): it is left out.
    """
    text = "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    error: BaseException | None = exc_info[1]
    seen: set[int] = set()
    details: list[str] = []
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        detail = getattr(getattr(error, "diag", None), "message_detail", None)  # psycopg's
        if isinstance(detail, str) and detail:
            details.append(detail)
        for message in (_message(error), *getattr(error, "__notes__", ())):
            if isinstance(message, str) and _CONTROL.search(message):
                text = text.replace(message, escape_controls(message))
        error = error.__cause__ or error.__context__
    for detail in details:
        for written in (detail, escape_controls(detail)):
            text = text.replace(written, "(detail left out of the log)")
    return text


def _message(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - the traceback then says its str() failed
        return ""


def _escaping_record_factory(previous: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format is logging's to report, later
            return record
        if _CONTROL.search(message):
            record.msg, record.args = escape_controls(message), ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = _escaped_traceback(record.exc_info)
        return record

    make.escapes_controls = True  # type: ignore[attr-defined]
    return make


def install_privacy_filters() -> None:
    """Attach the filters to the loggers of every server the application runs under, and
    escape control characters in every record of the process (one line is one record)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "escapes_controls", False):
        logging.setLogRecordFactory(_escaping_record_factory(factory))
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, WerkzeugAddressFilter) for f in werkzeug.filters):
        werkzeug.addFilter(WerkzeugAddressFilter())
    for name in ("gunicorn.error", "gunicorn.access", "werkzeug"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, AddressScrubber) for f in logger.filters):
            logger.addFilter(AddressScrubber())
