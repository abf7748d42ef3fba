"""Recording an oral report, in the inspectors' workspace (integrity/cases/oral.py)."""

from __future__ import annotations

from flask import g, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from integrity import current
from integrity.cases.oral import oral_channels, record_oral_report
from integrity.cases.views import bp
from integrity.db import get_session
from integrity.models import Channel
from integrity.reporting.errors import ProtocolError
from integrity.reporting.strings import oral_strings
from integrity.request_guard import read_json


@bp.route("/oral")
def oral_report() -> str:
    """The page where an inspector writes an oral report's minutes; sealed in the browser."""
    channels = oral_channels(list(get_session().scalars(select(Channel).order_by(Channel.name))),
                             g.user)
    return render_template("cases/oral.html", channels=channels,
                           page_strings=oral_strings(current.settings()))


@bp.route("/oral", methods=["POST"])
def record_oral() -> tuple[Response, int]:
    """The oral report and its record, sealed in the inspector's browser (form token in a
    header); the receipt stayed there."""
    body = read_json() if request.mimetype == "application/json" else None
    if body is None:
        raise ProtocolError(_("The request body must be a JSON object."))
    db = get_session()
    report = record_oral_report(db, current.settings(), current.attachment_store(), g.user, body,
                                current.lookup_key(), current.org_public_key())
    db.commit()
    return jsonify(status="recorded", case=url_for("cases.case", report_id=report.id)), 201
