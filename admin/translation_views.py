"""The translation pages of the administration: a channel with everything in it, and the
organisational units' names (the rules are in admin/translations.py)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from werkzeug.wrappers import Response

from admin import translations
from admin.blueprint import bp, list_args
from integrity.db import get_or_404, get_session
from integrity.models import Channel
from integrity.translation_pages import edit, template_helpers


@bp.context_processor
def _language_helpers() -> dict[str, Any]:
    return {**template_helpers(), "channel_missing": translations.channel_missing}


@bp.route("/channels/<int:channel_id>/translations", defaults={"language": None},
          methods=["GET"])
@bp.route("/channels/<int:channel_id>/translations/<language>", methods=["GET", "POST"])
def channel_translations(channel_id: int, language: str | None) -> str | Response:
    """Every text of a channel reporters read, in one language at a time."""
    item = get_or_404(Channel, channel_id)
    return edit(translations.channel_groups(item), language, subject=f"channel:{item.slug}",
                template="admin/translations.html", channel=item, pages=None,
                url=lambda code: url_for("admin.channel_translations", channel_id=item.id,
                                         language=code))


@bp.route("/units/translations", defaults={"language": None}, methods=["GET"])
@bp.route("/units/translations/<language>", methods=["GET", "POST"])
def unit_translations(language: str | None) -> str | Response:
    """The units' names in one language, a page of them at a time."""
    _, page = list_args()
    groups, rows = translations.unit_groups(get_session(), page)
    return edit(groups, language, subject="units", template="admin/translations.html",
                channel=None, pages=rows,
                url=lambda code: url_for("admin.unit_translations", language=code,
                                         page=rows.page if rows.page > 1 else None))
