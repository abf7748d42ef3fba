"""Answering a reporter's request for a meeting or a call, on the case page."""

from __future__ import annotations

from flask import abort, flash, g, redirect, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from integrity.cases.forms import MeetingForm
from integrity.cases.inbox import case_for
from integrity.cases.meetings import MeetingError, answer_meeting
from integrity.cases.views import bp
from integrity.changes import commit_unless, flash_form_errors
from integrity.db import get_session
from integrity.reporting.models import MeetingState


@bp.route("/<row_id:report_id>/meeting", methods=["POST"])
def meeting(report_id: int) -> Response:
    """Record that the requested meeting or call was arranged, or held."""
    db = get_session()
    report = case_for(db, g.user, report_id)
    if report is None:
        abort(404)  # as on the case page: who the case was not sealed to must not learn it exists
    form = MeetingForm()
    if form.validate_on_submit():
        answer = MeetingState(form.answer.data)
        with commit_unless(db, MeetingError) as change:
            answer_meeting(db, report, g.user, answer)
        if change.stored:
            flash(_("The meeting or call is recorded as arranged.")
                  if answer is MeetingState.ARRANGED
                  else _("The meeting or call is recorded as held."), "success")
    else:
        flash_form_errors(form)
    return redirect(url_for("cases.case", report_id=report_id))
