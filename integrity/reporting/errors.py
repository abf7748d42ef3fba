"""Refusals of the reporting protocol, shared by the API, the reporter pages and the cases."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

POW_GONE = _l("The proof of work is unknown, expired or already used.")


class ProtocolError(Exception):
    """A refused request: ``status`` is the HTTP status, the message one clear sentence."""

    def __init__(self, message: object, status: int = 400) -> None:
        super().__init__(str(message))
        self.status = status
