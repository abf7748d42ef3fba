"""The administration blueprint: administrators only, and never any report content."""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, Flask, current_app, g, request
from flask.sansio.blueprints import BlueprintSetupState

from admin import settings as stored_settings
from integrity.access import restrict
from integrity.models import Role, User

bp = restrict(Blueprint("admin", __name__, url_prefix="/admin"), Role.ADMIN)


@bp.record_once
def _apply_stored_settings(state: BlueprintSetupState) -> None:
    # The settings page stores values that override the environment's, in every process.
    stored_settings.install(cast(Flask, state.app))


# Which entry of the administration's menu a page belongs to, by the start of its endpoint.
SECTIONS = (
    (("admin.user", "admin.invite", "admin.new_link", "admin.deactivate", "admin.reactivate",
      "admin.role", "admin.reset"), "admin.user_list"),
    (("admin.channel", "admin.question", "admin.preview", "admin.categor"), "admin.channel_list"),
    (("admin.unit",), "admin.unit_list"),
    (("admin.settings", "admin.mail", "admin.rights"), "admin.settings_page"),
    (("admin.audit_head",), "admin.audit_head"),
    (("admin.audit",), "admin.audit"),
)


@bp.context_processor
def _menu() -> dict[str, Any]:
    endpoint = request.endpoint or ""
    section = next((name for prefixes, name in SECTIONS if endpoint.startswith(prefixes)),
                   "admin.index")
    return {"section": section,
            "survey_pages": "survey_admin.index" in current_app.view_functions}


def actor() -> User:
    user: User = g.user
    return user


def list_args() -> tuple[str, int]:
    """The search text and page number of a list page."""
    return request.args.get("q", "").strip()[:200], request.args.get("page", 1, type=int) or 1
