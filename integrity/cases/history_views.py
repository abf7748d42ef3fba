"""The case history page: what was done on a case, for the case's readers."""

from __future__ import annotations

from flask import abort, g, render_template, request

from integrity.cases.history import case_history
from integrity.cases.inbox import case_for
from integrity.cases.views import bp
from integrity.db import get_session


@bp.route("/<row_id:report_id>/history")
def history(report_id: int) -> str:
    """The case's audit entries, oldest first, 100 a page."""
    db = get_session()
    report = case_for(db, g.user, report_id)
    if report is None:
        abort(404)  # as on the case page: who the case was not sealed to must not learn it exists
    # Not recorded itself: the page shows who did what, never content, and an entry per view
    # would fill the very history it shows (opening the case is recorded on the case page).
    page = request.args.get("page", 1, type=int) or 1
    return render_template("cases/history.html", report=report,
                           history=case_history(db, report.id, page))
