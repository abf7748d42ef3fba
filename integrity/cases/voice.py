"""A voice message turned into a written record (EU Directive 2019/1937, Art. 18(2)): the
inspector listens in the browser, types the transcript, and it is sent to the reporter as a
message of kind "record" (which the reporter can check and agree); then the recording is
deleted with a tombstone. A voice can identify a person: once it is written down, it is not
kept."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.cases.redaction import checked_reason, delete_attachment
from integrity.cases.thread import post_record
from integrity.config import Settings
from integrity.models import User
from integrity.reporting.errors import ProtocolError
from integrity.reporting.models import Attachment, Message, Report
from integrity.reporting.storage import AttachmentStore


def transcribe_voice(session: Session, settings: Settings, store: AttachmentStore,
                     report: Report, user: User, attachment_id: str, body: object) -> Message:
    """Post the sealed transcript (``body["message"]``, a message of kind "record"), then
    delete the recording ``attachment_id``, in the caller's transaction."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
        raise ProtocolError(_l("Send the transcript with the recording's deletion."))
    checked_reason(session, settings, report, body)  # refused before anything is stored
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.report_id != report.id:
        raise ProtocolError(_l("This case has no such file."), 404)
    transcript: dict[str, Any] = {**body["message"]}
    transcript.pop("outcome", None)
    message = post_record(session, settings, store, report, user, transcript)
    delete_attachment(session, settings, store, report, user, attachment_id,
                      {"reason": body["reason"]})
    record(session, actor=user, action="voice_transcribed", subject=f"report:{report.id}",
           details={"attachment": attachment_id, "message": message.id})
    return message
