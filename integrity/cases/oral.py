"""Oral reports recorded by an inspector (EU Directive 2019/1937 Art. 9(2), 18(2)-(4)).

A reporter who reports in a meeting, by phone or in person has the inspector write the
minutes or transcript. The inspector's browser does what a reporter's browser does when filing:
it draws a receipt, derives the reporter's keys from it, seals the report (its ``minutes``) to
the channel's inspectors, the reporter and the recovery key, and sends the lookup, never the
receipt. It also seals the same minutes as a record (integrity/cases/records.py), so that the
reporter, opening the mailbox with the receipt the inspector hands them, checks, corrects and
agrees it. The server stores the report like any other, marked ``oral``, with the record as the
thread's first message.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.cases.thread import post_record
from integrity.config import Settings
from integrity.models import Channel, ChannelState, User
from integrity.reporting.errors import ProtocolError
from integrity.reporting.filing import FilingRequest, check_filing, store_filing
from integrity.reporting.models import Report
from integrity.reporting.public_config import channel_recipients
from integrity.reporting.storage import AttachmentStore


def oral_channels(channels: list[Channel], user: User) -> list[Channel]:
    """The channels an inspector may record an oral report in: those whose reports they
    receive, that are not closed."""
    return [c for c in channels
            if c.state != ChannelState.CLOSED and user in channel_recipients(c)]


def record_oral_report(session: Session, settings: Settings, store: AttachmentStore,
                       user: User, body: object, lookup_key: bytes,
                       org_public_key: bytes | None) -> Report:
    """Store an oral report sealed in ``user``'s browser and its minutes as a record.

    ``body`` is a filing body (``POST /api/v1/reports``, without a proof of work) plus
    ``record``, the record as ``POST /cases/<id>/messages`` takes a message. The checks are
    filing's; ``user`` must be among the report's readers. Nothing is stored on a refusal."""
    if not isinstance(body, dict):
        raise ProtocolError(_l("The request body must be a JSON object."))
    request = FilingRequest.parse(body, settings, lookup_key)
    filing = check_filing(session, settings, request, org_public_key=org_public_key)
    if user.id not in filing.reader_ids:
        raise ProtocolError(_l("You can record an oral report only in a channel whose reports "
                               "you receive, and without leaving yourself out."))
    minutes = body.get("record")
    if not isinstance(minutes, dict):
        raise ProtocolError(_l("An oral report needs its record for the reporter to agree."))
    report_id = store_filing(session, settings, store, replace(filing, oral=True))
    report = session.get(Report, report_id)
    assert report is not None
    post_record(session, settings, store, report, user, _record_body(minutes))
    record(session, actor=user, action="oral_report_recorded", subject=f"report:{report.id}",
           details={"attachments": len(filing.attachment_ids), "meeting": filing.meeting})
    return report


def _record_body(minutes: dict[str, Any]) -> dict[str, Any]:
    """The record's own fields: a kind or an outcome sent with it is not taken."""
    return {key: minutes[key] for key in ("payload", "key_slots", "attachments", "link")
            if key in minutes}
