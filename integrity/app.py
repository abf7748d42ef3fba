"""The application: ``create_app`` builds it from settings, with every part registered."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from flask import Flask

from crypto import b64encode, fingerprint, login_pepper_key, lookup_key, totp_key
from integrity.config import Settings, ensure_installation_secret
from integrity.paths import ROOT, TRANSLATIONS


class Integrity(Flask):
    """Flask, remembering for each view and hook whether it is a coroutine function.

    Flask asks ``ensure_sync`` that of every hook on every request (about ten times a
    request here), through ``inspect``; the answer never changes for a function."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        synced = self._synced.get(func)
        if synced is None:
            synced = super().ensure_sync(func)
            # Bounded: functions passed to after_this_request are new on every request.
            if len(self._synced) < 1024:
                self._synced[func] = synced
        return synced


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the application from ``config`` (settings, or overrides of the environment)."""
    from integrity import (
        bidi,
        catalogs,
        compression,
        current,
        db,
        errors,
        formatting,
        i18n,
        logs,
        request_guard,
        rights,
        security,
        static_files,
        static_views,
    )
    from integrity.auth.services import Hasher
    from integrity.dashboard.summary_store import wave_summaries_for
    from integrity.extensions import babel, csrf, limiter
    from integrity.reporting.chunk_store import attachment_store_for
    from integrity.reporting.mailbox_tokens import token_store
    from integrity.reporting.routing import RouteCache
    from integrity.reporting.uploads import IntegrityRequest, discard_unfinished_uploads

    settings = config if isinstance(config, Settings) else Settings.from_env(**dict(config or {}))
    catalogs.check_languages(settings.languages, TRANSLATIONS)
    app = Integrity(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(
        SECRET_KEY=settings.load_secret_key(),
        SESSION_COOKIE_NAME="integrity_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.https,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.idle_timeout_minutes),
        IDLE_MINUTES=settings.idle_timeout_minutes,
        PREFERRED_URL_SCHEME="https" if settings.https else "http",
        WTF_CSRF_TIME_LIMIT=None,
        RATELIMIT_STORAGE_URI=settings.redis_url or "integrity-memory://",
        RATELIMIT_KEY_PREFIX="integrity",
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        # JSON bodies: a report's payload in base64 and its key slots. Uploads set their own.
        MAX_CONTENT_LENGTH=2 * settings.max_payload_bytes + 256 * 1024,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.request_class = IntegrityRequest
    app.teardown_request(discard_unfinished_uploads)
    app.extensions["integrity.settings"] = settings
    app.extensions["integrity.mailbox_tokens"] = token_store(settings.redis_url)
    # Keys the stored lookup hashes; held outside the database (docs/protocol.md), made in
    # the data folder on first start unless configured.
    ensure_installation_secret(settings)
    installation_secret = settings.load_installation_secret()
    app.extensions["integrity.lookup_key"] = lookup_key(installation_secret)
    # The same secret keys inspectors' wrapping-key shares and the sign-in pepper
    # (docs/inspector-keys.md#scheme-2), so a copy of the database cannot test passphrases.
    app.extensions["integrity.installation_secret"] = installation_secret
    app.extensions["integrity.pepper_key"] = login_pepper_key(installation_secret)
    # Pinned outside the database and read at start (`integrity org-key pin`, then restart).
    app.extensions["integrity.org_public_key"] = settings.load_org_public_key()
    app.extensions["integrity.hasher"] = Hasher(
        settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism,
        settings.kdf_opslimit, settings.kdf_memlimit,
        pepper_key=app.extensions["integrity.pepper_key"],
        totp_key=totp_key(installation_secret),
    )

    logs.install_privacy_filters()
    app.logger.setLevel(settings.log_level)
    db.init_app(app, settings.database_url)
    # Sealed attachments and kept wave summaries: in the database on PostgreSQL, so that
    # several servers share them; in the data folder on SQLite.
    engine = current.engine(app)
    app.extensions["integrity.attachments"] = attachment_store_for(
        engine, settings.data_dir / "attachments")
    app.extensions["integrity.wave_summaries"] = wave_summaries_for(
        engine, settings.data_dir / "cache")
    # First of the hooks, so nothing hostile reaches the database (and before routes exist).
    request_guard.init_app(app)
    # The first after-request hook, so that it runs last, on the finished answer.
    compression.init_app(app)
    # PostgreSQL files a report in one statement; the routes it needs are kept (see RouteCache).
    autocommit = app.extensions.get("integrity.autocommit_engine")
    app.extensions["integrity.route_cache"] = RouteCache(autocommit) if autocommit else None
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["b64"] = b64encode
    app.jinja_env.filters["fingerprint"] = fingerprint
    app.jinja_env.filters["bdi"] = bidi.isolate
    # An administrator's plain text (the rights page): paragraphs and links, never HTML.
    app.jinja_env.filters["plain_text"] = rights.as_html
    formatting.init_app(app)
    app.jinja_env.globals.update(i18n.template_globals())
    # The pinned organisation key (b64, or "" when none is pinned): the pages that seal and
    # read reports speak protocol 2 with it (data-org-key), protocol 1 without.
    org_key = app.extensions["integrity.org_public_key"]
    app.jinja_env.globals["org_key"] = b64encode(org_key) if org_key else ""
    # The onion address the anonymous pages' footer gives, as the settings say now.
    app.jinja_env.globals["onion_url"] = lambda: current.settings().onion_url
    app.url_defaults(i18n.carry_language)
    security.init_app(app, https=settings.https)
    static_files.init_app(app)
    static_views.init_app(app)
    errors.init_app(app)
    _register_blueprints(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from admin.views import bp as admin_bp
    from integrity import access, anonymous_forms
    from integrity.auth.views import bp as auth_bp
    from integrity.auth.views import load_user
    from integrity.cases import (
        history_views,  # noqa: F401 (routes on the cases blueprint)
        meeting_views,  # noqa: F401 (routes on the cases blueprint)
        oral_views,  # noqa: F401 (routes on the cases blueprint)
        persons_views,  # noqa: F401 (routes on the cases blueprint)
        protection_views,  # noqa: F401 (routes on the cases blueprint)
        reader_views,  # noqa: F401 (routes on the cases blueprint)
        redaction_views,  # noqa: F401 (routes on the cases blueprint)
        retention_views,  # noqa: F401 (routes on the cases blueprint)
    )
    from integrity.cases.views import bp as cases_bp
    from integrity.dashboard.views import bp as dashboard_bp
    from integrity.reporting.api import bp as api_bp
    from integrity.reporting.views import bp as reporting_bp
    from surveys.builder_views import bp as survey_admin_bp
    from surveys.translation_views import bp as survey_translations_bp
    from surveys.views import bp as surveys_bp

    app.before_request(load_user)
    for blueprint in (reporting_bp, api_bp, auth_bp, cases_bp, dashboard_bp, admin_bp, surveys_bp,
                      survey_admin_bp, survey_translations_bp):
        app.register_blueprint(blueprint)
    access.check_every_blueprint_declared(app)
    anonymous_forms.init_app(app)  # their own form tokens, no session
