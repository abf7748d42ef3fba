"""Who may reach what: every blueprint declares its audience, and everyone else is refused."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

from integrity.models import Role, User

PUBLIC = frozenset({"public"})
F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> User | None:
    user: User | None = g.get("user")
    return user


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after signing in, or None for anything else."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _reads_only(user: User, readers: frozenset[str]) -> bool:
    """Whether ``user`` may read (GET) this view though their role may not use the blueprint:
    the blueprint's ``readers``, or the roles a view names with ``readable_by``."""
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method not in ("GET", "HEAD") and not getattr(view, "readers_submit", False):
        return False
    return user.role in readers or user.role in getattr(view, "readable_by", frozenset())


def _refusal(roles: frozenset[str], readers: frozenset[str] = frozenset()) -> Response | None:
    user = current_user()
    if user is None:
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(401)
    if user.role not in roles and not _reads_only(user, readers):
        abort(403)
    if user.must_change_password and request.endpoint != "auth.password":
        return redirect(url_for("auth.password"))
    if (user.role == Role.INSPECTOR and user.public_key is None
            and request.endpoint not in ("auth.password", "auth.key", "auth.key_save",
                                         "auth.key_unlock")):
        # An inspector's key is made on their device at first sign-in, before anything else.
        return redirect(url_for("auth.key"))
    return None


def restrict(blueprint: Blueprint, *roles: Role, readers: tuple[Role, ...] = ()) -> Blueprint:
    """Admit only signed-in users of ``roles`` to every view of ``blueprint``; ``readers`` may
    open its pages (GET) and send nothing."""
    allowed, reading = frozenset(roles), frozenset(readers)
    blueprint.allowed_roles = allowed  # type: ignore[attr-defined]
    blueprint.reader_roles = reading  # type: ignore[attr-defined]
    blueprint.before_request(lambda: _refusal(allowed, reading))
    return blueprint


def readable_by(*roles: Role) -> Callable[[F], F]:
    """Let ``roles`` open this one view of a restricted blueprint (GET only): the auditor's
    pages among the administration's."""

    def mark(view: F) -> F:
        view.readable_by = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


def readers_submit(view: F) -> F:
    """Let a blueprint's readers also send this view's form: one that builds a document from
    the figures they may read, and changes nothing."""
    view.readers_submit = True  # type: ignore[attr-defined]
    return view


def public(blueprint: Blueprint) -> Blueprint:
    """Mark ``blueprint`` as open to anyone (reporters, respondents, the sign-in pages)."""
    blueprint.allowed_roles = PUBLIC  # type: ignore[attr-defined]
    return blueprint


def login_required(view: F) -> F:
    """For the few public-blueprint views any signed-in staff member may use."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        refusal = _refusal(frozenset(Role))
        return refusal if refusal is not None else view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def check_every_blueprint_declared(app: Flask) -> None:
    """Refuse to start if a blueprint forgot to say who may use it (deny by default)."""
    for name, blueprint in app.blueprints.items():
        if not hasattr(blueprint, "allowed_roles"):
            raise RuntimeError(f"Blueprint {name!r} does not declare its audience")
