"""The legal hold of a case: placed and lifted by its readers, on the case page."""

from __future__ import annotations

from flask import abort, flash, g, redirect, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from integrity.cases.forms import HoldForm
from integrity.cases.inbox import case_for
from integrity.cases.retention import RetentionError, lift_hold, place_hold
from integrity.cases.views import bp
from integrity.changes import commit_unless, flash_form_errors
from integrity.db import get_session


@bp.route("/<row_id:report_id>/hold", methods=["POST"])
def hold(report_id: int) -> Response:
    """Place the case on legal hold, or lift its hold (the form says which)."""
    db = get_session()
    report = case_for(db, g.user, report_id)
    if report is None:
        abort(404)  # as on the case page: who the case was not sealed to must not learn it exists
    form = HoldForm()
    if form.validate_on_submit():
        lifting = report.held
        with commit_unless(db, RetentionError) as change:
            (lift_hold if lifting else place_hold)(db, report, g.user, form.reason.data or "")
        if change.stored:
            flash(_("The legal hold was lifted: retention applies again.") if lifting
                  else _("The case is on legal hold: it will not be deleted until the hold "
                         "is lifted."), "success")
    else:
        flash_form_errors(form)
    return redirect(url_for("cases.case", report_id=report_id))
