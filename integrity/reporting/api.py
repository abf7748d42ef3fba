"""The reporting API, protocol v1: JSON in and out, no cookie, no form token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from integrity import current
from integrity.access import public
from integrity.cases import retaliation
from integrity.cases.check_ins import stop_check_ins
from integrity.cases.records import agree_record, record_at
from integrity.db import get_session
from integrity.errors import MESSAGES
from integrity.extensions import (
    RateLimited,
    address_key,
    count_request,
    counts_itself,
    csrf,
    limiter,
)
from integrity.models import today
from integrity.reporting import filing
from integrity.reporting.attachments import receive_attachment
from integrity.reporting.errors import ProtocolError
from integrity.reporting.mailbox import find_report, post_reporter_message
from integrity.reporting.mailbox import mailbox_attachment as find_attachment
from integrity.reporting.models import Report
from integrity.reporting.openapi import description
from integrity.reporting.pow import issue_challenge
from integrity.reporting.public_config import public_config
from integrity.reporting.resumable import (
    OffsetMismatch,
    append,
    start_upload,
    unclaimed_upload,
    upload_json,
)
from integrity.reporting.storage import sealed_response
from integrity.request_guard import read_json
from integrity.security import set_headers
from integrity.translated import page_language

bp = public(Blueprint("api", __name__, url_prefix="/api/v1"))
csrf.exempt(bp)


def _limit(name: str) -> Callable[[], str]:
    return lambda: str(getattr(current.settings(), name))


def _count(limits: str) -> None:
    """Count the request against ``limits`` per address; the headers go on any answer."""
    g.rate_limit_headers = count_request(limits, address_key())


@bp.errorhandler(ProtocolError)
def _refused(error: ProtocolError) -> tuple[Response, int]:
    return jsonify(error=str(error)), error.status


@bp.errorhandler(OffsetMismatch)
def _elsewhere(error: OffsetMismatch) -> tuple[Response, int]:
    return jsonify(error=str(error), offset=error.offset), error.status


@bp.errorhandler(RateLimited)
def _rate_limited(error: RateLimited) -> tuple[Response, int]:
    g.rate_limit_headers = error.rate_limit_headers
    return jsonify(error=str(MESSAGES[429])), 429


@bp.after_request
def _rate_limit_headers(response: Response) -> Response:
    set_headers(response.headers, g.pop("rate_limit_headers", {}).items())
    return response


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise ProtocolError(_("This address accepts only application/json bodies."), 415)
    body = read_json()
    if body is None:
        raise ProtocolError(_("The request body is not valid JSON."))
    return body


def _in_language(response: Response) -> Response:
    """Say which language the answer's texts are in (the request's: ``?lang=``, else
    Accept-Language, else the default)."""
    response.headers["Content-Language"] = page_language()
    return response


@bp.get("/config")
def config() -> Response:
    db = get_session()
    answer = public_config(db, current.settings(), request.args.get("channel"))
    db.commit()  # the first call fixes the installation's salt
    return _in_language(jsonify(answer))


@bp.get("/openapi.json")
def openapi() -> Response:
    """This API described in OpenAPI 3.1 (docs/protocol.md is authoritative)."""
    return jsonify(description())


@bp.get("/pow")
@limiter.limit(_limit("ratelimit_pow"), key_func=address_key)
def pow_challenge() -> Response:
    db = get_session()
    answer = issue_challenge(db, current.settings())
    db.commit()
    return jsonify(answer)


@bp.post("/attachments")
@limiter.limit(_limit("ratelimit_uploads"), key_func=address_key)
def upload_attachment() -> tuple[Response, int]:
    if request.mimetype != "application/octet-stream":
        raise ProtocolError(_("Attachments are sent as application/octet-stream."), 415)
    db = get_session()
    attachment = receive_attachment(
        db, current.settings(), current.attachment_store(), request.stream, request.content_length
    )
    db.commit()
    return jsonify(id=attachment.id), 201


# Resumable uploads (docs/protocol.md#resumable-uploads): the length first, then the bytes,
# in as many requests as the link needs. Starting one counts as an upload; so does each append,
# which a cut-off link makes a few of at most.
@bp.post("/uploads")
@limiter.limit(_limit("ratelimit_uploads"), key_func=address_key)
def start_resumable_upload() -> tuple[Response, int]:
    body = _json_body()
    db = get_session()
    attachment = start_upload(db, current.settings(), current.attachment_store(),
                              body.get("length") if isinstance(body, dict) else None)
    db.commit()
    return jsonify(upload_json(attachment)), 201


@bp.get("/uploads/<upload_id>")
def resumable_upload(upload_id: str) -> Response:
    return jsonify(upload_json(unclaimed_upload(get_session(), upload_id)))


@bp.patch("/uploads/<upload_id>")
@limiter.limit(_limit("ratelimit_uploads"), key_func=address_key)
def append_to_upload(upload_id: str) -> Response:
    if request.mimetype != "application/octet-stream":
        raise ProtocolError(_("Attachments are sent as application/octet-stream."), 415)
    offset_text = request.headers.get("Upload-Offset", "")
    offset = int(offset_text) if offset_text.isascii() and offset_text.isdigit() \
        and len(offset_text) < 16 else None
    db = get_session()
    attachment = append(db, current.attachment_store(), upload_id, offset, request.stream)
    db.commit()
    return jsonify(upload_json(attachment))


@bp.post("/reports")
def file_report() -> tuple[Response, int]:
    settings = current.settings()
    _count(settings.ratelimit_reports)  # the busiest route: the light path, same counters
    db = get_session()
    filing.file_report(db, settings, current.attachment_store(), _json_body(),
                       current.lookup_key(), current.route_cache(), current.org_public_key())
    db.commit()
    return jsonify(status="received"), 201


counts_itself("api.file_report")


def _mailbox_failed(response: Response) -> bool:
    return response.status_code == 404


# Failed lookups, counted together across the mailbox routes: receipts cannot be guessed
# at speed from one address.
mailbox_failures = limiter.shared_limit(
    _limit("ratelimit_mailbox_failures"), scope="mailbox-failures", key_func=address_key,
    deduct_when=_mailbox_failed,
)


@bp.post("/mailbox")
@mailbox_failures
def mailbox() -> Response:
    db = get_session()
    body = _json_body()
    root = find_report(db, body, current.lookup_key())
    shown = retaliation.mailbox_case(db, root, body)  # "case": a linked case of the receipt
    return _in_language(jsonify(retaliation.mailbox_answer(db, root, shown)))


def _mailbox_case(body: Any) -> Report:
    """The case a mailbox request names: the receipt's own, or one linked to it."""
    db = get_session()
    return retaliation.mailbox_case(db, find_report(db, body, current.lookup_key()), body)


@bp.post("/mailbox/messages")
@mailbox_failures
@limiter.limit(_limit("ratelimit_messages"), key_func=address_key)
def mailbox_message() -> tuple[Response, int]:
    db = get_session()
    body = _json_body()
    report = _mailbox_case(body)
    post_reporter_message(db, current.settings(), current.attachment_store(), report, body)
    db.commit()
    return jsonify(status="received"), 201


@bp.post("/mailbox/agree")
@mailbox_failures
def mailbox_agree() -> tuple[Response, int]:
    """The reporter agrees that a record (minutes, a transcript) is accurate."""
    db = get_session()
    body = _json_body()
    report = find_report(db, body, current.lookup_key())
    agree_record(db, current.settings(), report, record_at(report, body.get("record")))
    db.commit()
    return jsonify(status="agreed"), 201


@bp.post("/mailbox/retaliation")
@mailbox_failures
def mailbox_retaliation() -> tuple[Response, int]:
    """A report of retaliation, sealed in the browser: a case linked to the receipt's."""
    settings = current.settings()
    _count(settings.ratelimit_reports)
    db = get_session()
    body = _json_body()
    root = find_report(db, body, current.lookup_key())
    linked = retaliation.file_retaliation(db, settings, current.attachment_store(), root, body)
    db.commit()
    return jsonify(status="received", case=linked.reference), 201


counts_itself("api.mailbox_retaliation")


@bp.post("/mailbox/check-ins/stop")
@mailbox_failures
def mailbox_stop_check_ins() -> Response:
    """No more check-ins in this receipt's mailbox, for its case and the linked ones."""
    db = get_session()
    root = find_report(db, _json_body(), current.lookup_key())
    stop_check_ins(db, [root, *retaliation.linked_cases(db, root)], today())
    db.commit()
    return jsonify(status="stopped")


@bp.post("/mailbox/attachment")
@mailbox_failures
def mailbox_attachment() -> Response:
    db = get_session()
    body = _json_body()
    attachment = find_attachment(db, _mailbox_case(body), body)
    return sealed_response(current.attachment_store(), attachment.id)
