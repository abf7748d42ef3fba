"""Settings an administrator changes in the settings page, over the environment's defaults.

The environment (``INTEGRITY_*``) gives every setting its value at start-up. A few of them can
be changed in the page; those are stored in the ``settings`` table and override the
environment. Every process reads the table again when an application context starts (a
request, a command, a background job), at most every ``REFRESH_SECONDS``, so a change
reaches every worker within seconds and no restart is needed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, appcontext_pushed
from flask_babel import lazy_gettext as _l
from limits import parse_many
from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from integrity import current
from integrity.config import Settings
from integrity.models import StoredSetting, utcnow

REFRESH_SECONDS = 5.0
ENVIRONMENT = "integrity.settings_environment"
_STATE = "integrity.stored_settings"

log = logging.getLogger(__name__)


class SettingError(ValueError):
    """A value the settings page refuses; the message says why."""


def _url(value: str, *, onion: bool = False) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or \
            parts.fragment or parts.username:
        raise SettingError(_l("An address starts with http:// or https:// and names a host."))
    if onion and not parts.hostname.endswith(".onion"):
        raise SettingError(_l("An onion address ends in .onion."))
    return value.rstrip("/")


def _whole(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SettingError(_l("Enter a whole number from %(low)d to %(high)d.",
                                  low=low, high=high))
        return value
    return check


def _text(check: Callable[[str], str]) -> Callable[[Any], str]:
    def inner(value: Any) -> str:
        if not isinstance(value, str):
            raise SettingError(_l("This value must be text."))
        return check(value.strip())
    return inner


def _public_url(value: str) -> str:
    return _url(value)


def _onion_url(value: str) -> str:
    return "" if value == "" else _url(value, onion=True)


def _rate_limit(value: str) -> str:
    try:
        if not value or not parse_many(value):
            raise ValueError(value)
    except ValueError as exc:
        raise SettingError(_l("Write limits as “10 per hour”, several separated by “;”.")) \
            from exc
    return value


@dataclass(frozen=True)
class Editable:
    """A setting the page may change: its label, its check, and its group on the page."""

    label: Any
    check: Callable[[Any], Any]
    group: str
    hint: Any = ""
    number: bool = False


EDITABLE: dict[str, Editable] = {
    "public_url": Editable(_l("Public address of the reporting site"), _text(_public_url),
                           "addresses", _l("Used in links on survey slips and in e-mails.")),
    "onion_url": Editable(_l("Onion address (leave empty if there is none)"),
                          _text(_onion_url), "addresses"),
    "pow_bits": Editable(_l("Proof of work asked of each anonymous submission (bits)"),
                         _whole(0, 24), "reporting",
                         _l("Each bit doubles the work a reporter's device does: 16 takes a "
                            "phone about a second."), number=True),
    "default_retention_days": Editable(_l("Retention period offered to a new channel (days)"),
                                       _whole(1, 36500), "reporting", number=True),
    "ratelimit_reports": Editable(_l("Reports"), _text(_rate_limit), "limits"),
    "ratelimit_uploads": Editable(_l("File uploads"), _text(_rate_limit), "limits"),
    "ratelimit_messages": Editable(_l("Reporter messages"), _text(_rate_limit), "limits"),
    "ratelimit_mailbox_failures": Editable(_l("Wrong receipts"), _text(_rate_limit), "limits"),
    "ratelimit_pow": Editable(_l("Proof-of-work challenges"), _text(_rate_limit), "limits"),
    "ratelimit_login": Editable(_l("Sign-in attempts per account"), _text(_rate_limit),
                                "limits"),
    "ratelimit_totp": Editable(_l("Second-factor attempts per account"), _text(_rate_limit),
                               "limits"),
    "survey_min_responses": Editable(_l("Fewest responses behind a survey figure"),
                                     _whole(1, 1000), "surveys", number=True),
    "survey_min_sensitive": Editable(
        _l("Fewest responses behind a randomized-response estimate"), _whole(1, 1000),
        "surveys", number=True),
    "invitation_hours": Editable(_l("How long a set-up link lasts (hours)"), _whole(1, 720),
                                 "accounts", number=True),
    "audit_staff_years": Editable(
        _l("Keep staff names in the audit log for (years)"), _whole(1, 100), "accounts",
        _l("Older entries keep what was done and when, but no longer who did it."),
        number=True),
}


def check_value(name: str, value: Any, environment: Settings) -> Any:
    """``value`` as the setting ``name`` takes it, or SettingError."""
    value = EDITABLE[name].check(value)
    if name == "public_url" and urlsplit(value).scheme != urlsplit(environment.public_url).scheme:
        # Secure cookies and HSTS are decided when the server starts, from the environment.
        raise SettingError(_l("Keep the scheme of INTEGRITY_PUBLIC_URL (%(scheme)s://): "
                              "changing between http and https needs that variable and a "
                              "restart.", scheme=urlsplit(environment.public_url).scheme))
    return value


def problems(values: Mapping[str, Any], environment: Settings) -> dict[str, str]:
    """What is wrong with each refused value, by name (empty when all are fine)."""
    found = {}
    for name, value in values.items():
        try:
            check_value(name, value, environment)
        except SettingError as exc:
            found[name] = str(exc)
    return found


def stored(session: Session) -> dict[str, Any]:
    """The values stored in the database, by name."""
    rows = session.execute(select(StoredSetting.name, StoredSetting.value)).all()
    return _decoded(rows)


def _decoded(rows: Any) -> dict[str, Any]:
    values = {}
    for name, text in rows:
        if name in EDITABLE:
            try:
                values[name] = EDITABLE[name].check(json.loads(text))
            except (ValueError, SettingError):
                log.warning("Ignoring the stored setting %s: its value is not valid", name)
    return values


def save(session: Session, environment: Settings, values: Mapping[str, Any]) -> dict[str, Any]:
    """Store the values that differ from the environment and drop the others.

    Returns what changed, by name, as (before, after) of the effective values; the caller
    records it and commits.
    """
    in_force = effective(environment, stored(session))
    changed: dict[str, Any] = {}
    for name, raw in values.items():
        value = check_value(name, raw, environment)
        if value != getattr(in_force, name):
            changed[name] = [getattr(in_force, name), value]
        session.execute(delete(StoredSetting).where(StoredSetting.name == name))
        if value != getattr(environment, name):
            session.add(StoredSetting(name=name, value=json.dumps(value), updated_at=utcnow()))
    session.flush()
    return changed


def effective(environment: Settings, overrides: Mapping[str, Any]) -> Settings:
    """The environment's settings with the stored values put over them."""
    return dataclasses.replace(environment, **overrides) if overrides else environment


@dataclass
class _State:
    environment: Settings
    overrides: dict[str, Any] = field(default_factory=dict)
    checked: float = float("-inf")


def environment_settings(app: Flask) -> Settings:
    """The settings as the environment (and the factory's arguments) gave them."""
    state: _State | None = app.extensions.get(_STATE)
    if state is None:
        return current.settings(app)
    return state.environment


def refresh(app: Flask, *, force: bool = False) -> None:
    """Put the stored values over the environment's, reading them at most every few seconds."""
    state: _State | None = app.extensions.get(_STATE)
    if state is None:
        state = _State(current.settings(app))
        app.extensions[_STATE] = state
    now = time.monotonic()
    if not force and now - state.checked < REFRESH_SECONDS:
        return
    state.checked = now
    table = StoredSetting.__table__
    try:
        # A connection of its own: a failure here must not spoil the context's session. Core
        # only, no ORM: this runs as the scheduler's thread starts, while gunicorn may fork
        # workers, and must not be the one configuring the mappers at that moment.
        with current.engine(app).connect() as connection:
            rows = connection.execute(select(table.c.name, table.c.value)).all()
    except SQLAlchemyError:
        return  # no database or no settings table yet (before `integrity init`)
    overrides = _decoded(rows)
    if overrides != state.overrides:
        state.overrides = overrides
        app.extensions["integrity.settings"] = effective(state.environment, overrides)


def install(app: Flask) -> None:
    """Apply stored settings in ``app`` whenever one of its application contexts starts."""
    app.extensions[_STATE] = _State(current.settings(app))

    def on_push(sender: Flask, **_extra: Any) -> None:
        refresh(sender)

    appcontext_pushed.connect(on_push, app, weak=False)

