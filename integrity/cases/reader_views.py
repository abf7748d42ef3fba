"""Impartiality on the case page: stepping away from a case, taking a colleague off it, and
confirming or declining a closing another reader asked for."""

from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from integrity import current
from integrity.cases.forms import ClosingForm, RecuseForm
from integrity.cases.readers import ReaderError, recuse, remove_reader
from integrity.cases.views import bp, case_or_404, remove_form
from integrity.cases.workflow import WorkflowError, confirm_closing, decline_closing
from integrity.changes import commit_unless, flash_form_errors
from integrity.db import get_session
from integrity.models import User


def _back(report_id: int) -> Response:
    return redirect(url_for("cases.case", report_id=report_id))


@bp.route("/<row_id:report_id>/recuse", methods=["POST"])
def recusal(report_id: int) -> Response:
    """The signed-in inspector steps away from the case, saying why."""
    report = case_or_404(report_id)
    form = RecuseForm(prefix="recuse")
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(report_id)
    db = get_session()
    with commit_unless(db, ReaderError) as change:
        recuse(db, report, g.user, form.reason.data)
    if not change.stored:
        return _back(report_id)
    flash(_("You stepped away from the case: you no longer read it."), "success")
    return redirect(url_for("cases.inbox"))


@bp.route("/<row_id:report_id>/readers/remove", methods=["POST"])
def reader_removal(report_id: int) -> Response:
    """A reader takes a colleague off the case, saying why."""
    report = case_or_404(report_id)
    form = remove_form(report)
    if form.validate_on_submit():
        db = get_session()
        reader = db.get(User, int(form.reader.data or 0))
        with commit_unless(db, ReaderError) as change:
            if reader is None:
                raise ReaderError(_("This inspector does not read the case."))
            remove_reader(db, current.settings(), report, g.user, reader, form.reason.data)
        if change.stored and reader is not None:
            flash(_("%(name)s no longer reads the case.", name=reader.name), "success")
    else:
        flash_form_errors(form)
    return _back(report_id)


@bp.route("/<row_id:report_id>/closing/confirm", methods=["POST"])
def closing_confirm(report_id: int) -> Response:
    """Confirm the closing another reader asked for: the case closes."""
    return _closing(report_id, confirm=True)


@bp.route("/<row_id:report_id>/closing/decline", methods=["POST"])
def closing_decline(report_id: int) -> Response:
    """Decline the closing another reader asked for (or withdraw one's own request)."""
    return _closing(report_id, confirm=False)


def _closing(report_id: int, *, confirm: bool) -> Response:
    report = case_or_404(report_id)
    form = ClosingForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(report_id)
    db = get_session()
    with commit_unless(db, WorkflowError) as change:
        (confirm_closing if confirm else decline_closing)(db, report, g.user)
    if change.stored:
        flash(_("The case is closed.") if confirm else _("The case stays open."), "success")
    return _back(report_id)
