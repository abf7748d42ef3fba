"""Deleting a file or a message of a case, redacting a passage, and turning a voice message
into a written record: JSON routes the case page's script calls (form token in a header)."""

from __future__ import annotations

from flask import g, jsonify, request
from werkzeug.wrappers import Response

from integrity import current
from integrity.cases.redaction import (
    case_message,
    delete_attachment,
    delete_message,
    redact_message,
    wipe_freed_pages,
)
from integrity.cases.views import bp, case_or_404
from integrity.cases.voice import transcribe_voice
from integrity.db import get_session
from integrity.request_guard import read_json


def _body() -> object:
    return read_json() if request.mimetype == "application/json" else None


@bp.route("/<row_id:report_id>/attachments/<attachment_id>/delete", methods=["POST"])
def delete_file(report_id: int, attachment_id: str) -> tuple[Response, int]:
    """Delete a file of the case for good, saying why."""
    report = case_or_404(report_id)
    db = get_session()
    delete_attachment(db, current.settings(), current.attachment_store(), report, g.user,
                      attachment_id, _body())
    db.commit()
    wipe_freed_pages(db)
    return jsonify(status="deleted"), 200


@bp.route("/<row_id:report_id>/messages/<message_id>/delete", methods=["POST"])
def delete_thread_message(report_id: int, message_id: str) -> tuple[Response, int]:
    """Delete a message or note of the case, and its files, saying why."""
    report = case_or_404(report_id)
    db = get_session()
    delete_message(db, current.settings(), current.attachment_store(), report, g.user,
                   case_message(db, report, message_id), _body())
    db.commit()
    wipe_freed_pages(db)
    return jsonify(status="deleted"), 200


@bp.route("/<row_id:report_id>/messages/<message_id>/redact", methods=["POST"])
def redact(report_id: int, message_id: str) -> tuple[Response, int]:
    """Replace a message by the one the browser sealed again, a passage marked as removed."""
    report = case_or_404(report_id)
    db = get_session()
    redact_message(db, current.settings(), report, g.user, case_message(db, report, message_id),
                   _body())
    db.commit()
    wipe_freed_pages(db)
    return jsonify(status="redacted"), 200


@bp.route("/<row_id:report_id>/voice/<attachment_id>/transcribe", methods=["POST"])
def transcribe(report_id: int, attachment_id: str) -> tuple[Response, int]:
    """Send the transcript of a voice message as a record, then delete the recording."""
    report = case_or_404(report_id)
    db = get_session()
    transcribe_voice(db, current.settings(), current.attachment_store(), report, g.user,
                     attachment_id, _body())
    db.commit()
    wipe_freed_pages(db)
    return jsonify(status="transcribed"), 201
