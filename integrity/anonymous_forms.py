"""Form tokens for the anonymous pages, which set no cookie.

Staff forms keep Flask-WTF's CSRF token, held in their session cookie. A reporter's or a
respondent's device must keep no trace of the visit, so the reporting and survey pages open
no session at all: their forms carry a token of their own instead, signed with the secret
key, valid for ``LIFETIME`` and carrying a random nonce. Where sending a form twice would
store something twice (a report, a mailbox message, a survey's answers) the nonce is spent
on first use, in the rate limiter's storage (memory or Redis) for as long as the token
lives; nothing of it reaches the database.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta

from flask import Flask, Request, current_app, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf import FlaskForm
from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException
from wtforms import Field
from wtforms.csrf.core import CSRF
from wtforms.validators import ValidationError

from integrity.extensions import csrf, limiter

# The blueprints whose pages are for anonymous people: no session, no Flask-WTF CSRF check.
ANONYMOUS_BLUEPRINTS = frozenset({"reporting", "surveys"})
# Generous: a reporter may spend an evening writing before sending.
LIFETIME = timedelta(hours=12)
FIELD = "csrf_token"  # the name Flask-WTF uses, so page scripts and forms read it alike
SALT = "integrity.anonymous-form"


def clock() -> float:
    """The time tokens are stamped and checked with (tests move it)."""
    return time.time()


class _Signer(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(clock())


def _serializer() -> URLSafeTimedSerializer:
    secret = current_app.secret_key
    assert isinstance(secret, str)
    return URLSafeTimedSerializer(secret, salt=SALT, signer=_Signer,
                                  signer_kwargs={"digest_method": hashlib.sha256})


def issue() -> str:
    """A new form token: a random nonce, signed and stamped with the time."""
    return _serializer().dumps(secrets.token_urlsafe(16))


def refusal(*, single_use: bool = False) -> str | None:
    """Why this request's form token is refused (one sentence), or None if it is good.

    With ``single_use`` a good token is spent here, before anything is stored, so sending the
    same form again (a reload, a replay) is refused even while the first one is handled.
    """
    try:
        nonce = _serializer().loads(request.form.get(FIELD, ""),
                                    max_age=int(LIFETIME.total_seconds()))
    except SignatureExpired:
        hours = LIFETIME // timedelta(hours=1)
        return ngettext("This form was open for more than %(hours)d hour and has expired: "
                        "please check it and send it again.",
                        "This form was open for more than %(hours)d hours and has expired: "
                        "please check it and send it again.", hours, hours=hours)
    except BadData:
        return _("This form was not sent from this site's page: please check it and send it "
                 "again.")
    if single_use and not _spend(str(nonce)):
        return _("This form was already sent once, so it was not sent again.")
    return None


def _spend(nonce: str) -> bool:
    """Record ``nonce`` as used; False if it already was."""
    key = f"{current_app.config.get('RATELIMIT_KEY_PREFIX', '')}/form-token/{nonce}"
    return limiter.storage.incr(key, int(LIFETIME.total_seconds())) == 1


class _FormToken(CSRF):
    """The token field of an anonymous form: issued here, never kept in a session."""

    def generate_csrf_token(self, csrf_token_field: Field) -> str:
        return issue()

    def validate_csrf_token(self, form: FlaskForm, field: Field) -> None:
        reason = refusal()
        if reason:
            raise ValidationError(reason)


class AnonymousForm(FlaskForm):
    """A form of the anonymous pages: ``{{ form.csrf_token }}`` renders a sessionless token."""

    class Meta:
        csrf = True
        csrf_class = _FormToken
        csrf_field_name = FIELD


def is_anonymous_page(app: Flask, req: Request) -> bool:
    """Whether ``req`` goes to a view of an anonymous blueprint (known before routing)."""
    try:
        rule, _args = app.create_url_adapter(req).match(  # type: ignore[union-attr]
            return_rule=True)
    except HTTPException:
        return False  # no such page: an error answer, which writes nothing to a session
    return str(rule.endpoint).partition(".")[0] in ANONYMOUS_BLUEPRINTS


def init_app(app: Flask) -> None:
    """Exempt the anonymous blueprints from Flask-WTF's CSRF check: their views check
    ``refusal()`` themselves (``security.CookieSessions`` keeps their session closed)."""
    for name in ANONYMOUS_BLUEPRINTS:
        csrf.exempt(app.blueprints[name])

