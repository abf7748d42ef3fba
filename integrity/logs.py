"""Logging that never records who is asking: no client address, no user agent."""

from __future__ import annotations

import logging
import re

_ADDRESS = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b"  # IPv4
    r"|\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b"  # IPv6, full form
    r"|(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{0,4}::(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{0,4}",  # IPv6, ::
    re.IGNORECASE,
)
_WERKZEUG_PREFIX = re.compile(r"^\S+ - - \[[^\]]*\] ")

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


def install_privacy_filters() -> None:
    """Attach the filters to the loggers of every server the application runs under."""
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, WerkzeugAddressFilter) for f in werkzeug.filters):
        werkzeug.addFilter(WerkzeugAddressFilter())
    for name in ("gunicorn.error", "gunicorn.access", "werkzeug"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, AddressScrubber) for f in logger.filters):
            logger.addFilter(AddressScrubber())
