"""One clear sentence for every refusal: an HTML page, or JSON for the API."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.wrappers import Response

MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Please sign in first."),
    403: _l("You do not have access to this page."),
    404: _l("There is nothing at this address."),
    405: _l("This address does not accept that kind of request."),
    413: _l("What you sent is larger than this server accepts."),
    429: _l("Too many attempts. Please wait a little and try again."),
    500: _l("Something went wrong on our side. Nothing you sent was lost in a half-stored state."),
}


class Refused(BadRequest):
    """A 400 whose one clear sentence is its description (given already translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(description=message)


def _respond(code: int, message: str) -> tuple[Response | str, int]:
    if request.path.startswith("/api/"):
        return jsonify(error=message), code
    return render_template("errors/error.html", code=code, message=message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(_error: CSRFError) -> tuple[Response | str, int]:
        return _respond(400, str(_l("The form expired or was not sent from this site. "
                                    "Please go back, reload the page and try again.")))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[Response | str, int] | HTTPException:
        code = error.code or 500
        if code < 400:
            return error
        if isinstance(error, Refused) or (isinstance(error, RateLimitExceeded)
                                          and error.limit.error_message):
            return _respond(code, str(error.description))
        message = MESSAGES.get(code)
        return _respond(code, str(message) if message else error.name)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Response | str, int]:
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _respond(500, str(MESSAGES[500]))
