"""A channel's questionnaire as a JSON file: download it, or replace the questions by a file's
(the rules are in admin/questionnaires.py)."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import ngettext
from werkzeug.wrappers import Response as BaseResponse

from admin import questionnaires
from admin.blueprint import actor, bp
from admin.forms import QuestionnaireImportForm
from integrity.db import get_or_404, get_session
from integrity.models import Channel


@bp.route("/channels/<int:channel_id>/questionnaire.json")
def questionnaire_json(channel_id: int) -> Response:
    """The questionnaire with its texts in every language, as a file to keep or import."""
    item = get_or_404(Channel, channel_id)
    text = json.dumps(questionnaires.questionnaire_json(item), ensure_ascii=False, indent=2)
    response = Response(text + "\n", mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="questionnaire-{item.slug}.json"')
    return response


@bp.route("/channels/<int:channel_id>/questionnaire/import", methods=["GET", "POST"])
def questionnaire_import(channel_id: int) -> str | BaseResponse:
    """Replace the questions by a file's, in one go, after a page that says so."""
    item = get_or_404(Channel, channel_id)
    form = QuestionnaireImportForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            raw = form.file.data.read(questionnaires.MAX_FILE_BYTES + 1)
            count = questionnaires.import_questionnaire(
                db, actor(), item, questionnaires.read_questionnaire(raw))
        except questionnaires.QuestionnaireError as exc:
            db.rollback()
            form.file.errors.append(str(exc))
        else:
            db.commit()
            flash(ngettext("The questionnaire was imported: %(num)d question.",
                           "The questionnaire was imported: %(num)d questions.", count),
                  "success")
            return redirect(url_for("admin.questions", channel_id=item.id))
    return render_template("admin/questionnaire_import.html", channel=item, form=form)
