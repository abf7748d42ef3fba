"""The page "Other ways to report, and your rights": the installation's, a channel's, and the
installation's translation page (a channel's texts are on the channel's translation page)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin import rights
from admin.blueprint import actor, bp
from integrity.auth.forms import EmptyForm
from integrity.db import get_or_404, get_session
from integrity.models import Channel
from integrity.rights import MAX_SECTION, SECTIONS, page_of
from integrity.translation_editor import missing_languages
from integrity.translation_pages import edit


def _edit(channel: Channel | None) -> str | Response | tuple[str, int]:
    db = get_session()
    form = EmptyForm()
    values = rights.form_values(db, channel)
    error = None
    if form.validate_on_submit():
        values = {section.field: request.form.get(section.field, "") for section in SECTIONS}
        try:
            changed = rights.save_page(db, actor(), channel, values)
        except rights.RightsError as exc:
            db.rollback()
            error = str(exc)
        else:
            db.commit()
            flash(_("The page was saved.") if changed else _("Nothing was changed."),
                  "success")
            return redirect(request.path)
    page = page_of(db, channel)
    html = render_template(
        "admin/rights.html", form=form, channel=channel, values=values, error=error,
        sections=SECTIONS, limit=MAX_SECTION, below=rights.inherited(db, channel),
        missing=missing_languages(rights.rights_groups(page)))
    return (html, 400) if error else html


@bp.route("/rights", methods=["GET", "POST"])
def rights_page() -> str | Response | tuple[str, int]:
    """The installation's page: every section, in the default language."""
    return _edit(None)


@bp.route("/channels/<int:channel_id>/rights", methods=["GET", "POST"])
def channel_rights(channel_id: int) -> str | Response | tuple[str, int]:
    """A channel's page, where it differs from the installation's."""
    return _edit(get_or_404(Channel, channel_id))


@bp.route("/rights/translations", defaults={"language": None}, methods=["GET"])
@bp.route("/rights/translations/<language>", methods=["GET", "POST"])
def rights_translations(language: str | None) -> str | Response:
    """The installation's page in one language at a time."""
    groups = rights.rights_groups(page_of(get_session()))
    return edit(groups, language, subject="rights", template="admin/translations.html",
                channel=None, pages=None, rights_scope=True,
                url=lambda code: url_for("admin.rights_translations", language=code))
