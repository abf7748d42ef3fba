"""Risk assessments and protective measures, sealed in the inspector's browser
(static/js/case-protection.mjs; the rules in integrity/cases/protection.py)."""

from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from integrity import current
from integrity.cases.protection import post_record
from integrity.cases.views import bp, case_or_404
from integrity.db import get_session
from integrity.reporting.errors import ProtocolError
from integrity.request_guard import read_json


@bp.route("/<row_id:report_id>/protection", methods=["POST"])
def protection(report_id: int) -> tuple[Response, int]:
    """A risk assessment or a protective measure (form token in a header)."""
    report = case_or_404(report_id)
    body = read_json() if request.mimetype == "application/json" else None
    if body is None:
        raise ProtocolError(_("The request body must be a JSON object."))
    db = get_session()
    post_record(db, current.settings(), current.attachment_store(), report, g.user, body)
    db.commit()
    return jsonify(status="received"), 201
