"""Administration pages; administrators never see report content."""

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l

from admin.services import list_users
from integrity.access import restrict
from integrity.audit import entries, verify
from integrity.db import get_session
from integrity.models import Role

bp = restrict(Blueprint("admin", __name__, url_prefix="/admin"), Role.ADMIN)

# What the audit page's filter offers; an action missing here still shows, under its code.
AUDIT_ACTIONS = {
    "login": _l("Signed in"),
    "login_failed": _l("Failed sign-in"),
    "logout": _l("Signed out"),
    "password_changed": _l("Passphrase changed"),
    "second_factor_enrolled": _l("Two-factor sign-in set up"),
    "second_factor_removed": _l("Two-factor sign-in removed"),
    "case_opened": _l("Case opened"),
    "status_changed": _l("Status changed"),
    "assigned": _l("Case assigned"),
    "shared": _l("Case shared"),
    "export": _l("Export"),
    "user_added": _l("Account added"),
    "channel_added": _l("Channel added"),
    "key_added": _l("Inspector key added"),
    "key_changed": _l("Key changed"),
    "recovery_key_created": _l("Recovery key made"),
    "case_purged": _l("Case deleted after retention"),
}


@bp.route("/")
def index() -> str:
    page = request.args.get("page", 1, type=int) or 1
    query = request.args.get("q", "").strip()
    return render_template(
        "admin/index.html", users=list_users(get_session(), query=query, page=page), query=query
    )


@bp.route("/audit")
def audit() -> str:
    """The audit log, newest first; the whole chain is checked when asked (?check=1)."""
    page = request.args.get("page", 1, type=int) or 1
    action = request.args.get("action", "").strip()
    actor = request.args.get("actor", "").strip()[:254]
    session = get_session()
    return render_template(
        "admin/audit.html",
        # Reading every entry takes seconds at a million: only when the admin asks.
        check=verify(session) if request.args.get("check") else None,
        entries=entries(session, page=page, action=action or None, actor=actor or None),
        action=action,
        actor=actor,
        actions=AUDIT_ACTIONS,
    )
