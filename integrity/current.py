"""The objects ``create_app`` binds to an application, looked up with their types.

Each accessor reads the application's ``extensions`` on every call, never a copy: stored
settings replace ``integrity.settings`` while the application runs (admin/settings.py).
Without ``app``, the application of the current context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import Flask, current_app

import crypto

if TYPE_CHECKING:  # for the types only: the configuration imports modules that import this one
    from sqlalchemy.engine import Engine

    from integrity.auth.services import Hasher
    from integrity.config import Settings
    from integrity.dashboard.summary_store import WaveSummaries
    from integrity.reporting.mailbox_tokens import TokenStore
    from integrity.reporting.routing import RouteCache
    from integrity.reporting.storage import AttachmentStore


def _extension(name: str, app: Flask | None) -> object:
    return (app or current_app).extensions[name]


def settings(app: Flask | None = None) -> Settings:
    """The settings in force: the environment's, with the values stored by administrators."""
    return cast("Settings", _extension("integrity.settings", app))


def attachment_store(app: Flask | None = None) -> AttachmentStore:
    """Where sealed attachments are kept: rows on PostgreSQL, files on SQLite."""
    return cast("AttachmentStore", _extension("integrity.attachments", app))


def wave_summaries(app: Flask | None = None) -> WaveSummaries:
    """Where the summaries of closed survey waves are kept: a table on PostgreSQL, files of
    the data folder on SQLite."""
    return cast("WaveSummaries", _extension("integrity.wave_summaries", app))


def mailbox_tokens(app: Flask | None = None) -> TokenStore:
    """Where the tokens of mailboxes opened without JavaScript are kept (memory or Redis)."""
    return cast("TokenStore", _extension("integrity.mailbox_tokens", app))


def hasher(app: Flask | None = None) -> Hasher:
    """The passphrase hasher, with the installation's Argon2 and key-derivation costs."""
    return cast("Hasher", _extension("integrity.hasher", app))


def route_cache(app: Flask | None = None) -> RouteCache | None:
    """The kept routes for filing a report in one statement; None except on PostgreSQL."""
    return cast("RouteCache | None", _extension("integrity.route_cache", app))


def lookup_key(app: Flask | None = None) -> bytes:
    """The key of stored lookup hashes, from the installation secret (never in the database)."""
    return cast("bytes", _extension("integrity.lookup_key", app))


def pepper_key(app: Flask | None = None) -> bytes:
    """The key of the sign-in pepper, from the installation secret (never in the database)."""
    return cast("bytes", _extension("integrity.pepper_key", app))


def wrap_share(user_id: int, app: Flask | None = None) -> bytes:
    """The server's share of inspector ``user_id``'s wrapping key (docs/inspector-keys.md),
    keyed with the installation secret held outside the database."""
    return crypto.wrap_share(cast("bytes", _extension("integrity.installation_secret", app)),
                             user_id)


def org_public_key(app: Flask | None = None) -> bytes | None:
    """The organisation key pinned when the application started; None if none is pinned."""
    return cast("bytes | None", _extension("integrity.org_public_key", app))


def engine(app: Flask | None = None) -> Engine:
    """The database engine of the application's sessions."""
    return cast("Engine", _extension("integrity.engine", app))
