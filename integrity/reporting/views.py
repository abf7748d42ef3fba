"""The anonymous reporting channel: public pages for staff who report.

Each page works as a plain HTML form; with JavaScript the page script seals in the browser
and talks to the API instead (static/js/report.mjs, static/js/mailbox.mjs).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from crypto import format_receipt
from crypto.offline import safe_file_name
from integrity import anonymous_forms, current
from integrity.access import public
from integrity.anonymous_forms import AnonymousForm
from integrity.channels import ChannelError
from integrity.db import get_session
from integrity.extensions import address_key, limiter
from integrity.models import Channel, ChannelState, OrgUnit
from integrity.reporting import plain, texts
from integrity.reporting.api import mailbox_failures
from integrity.reporting.errors import ProtocolError
from integrity.reporting.public_config import channel_recipients, open_channels
from integrity.reporting.strings import mailbox_strings, report_strings
from integrity.reporting.uploads import SealingSink
from integrity.translated import page_language

bp = public(Blueprint("reporting", __name__))


def _open_channel(slug: str) -> Channel:
    channel = get_session().scalar(select(Channel).where(Channel.slug == slug))
    if channel is None or channel.state == ChannelState.CLOSED.value:
        abort(404)
    return channel


@bp.route("/")
def index() -> str:
    channels = open_channels(get_session())
    return render_template("reporting/index.html", channels=channels)


@bp.route("/report")
def choose() -> str | Response:
    channels = open_channels(get_session())
    if len(channels) == 1:
        return redirect(url_for("reporting.form", slug=channels[0].slug))
    return render_template("reporting/choose.html", channels=channels)


def _form_context(channel: Channel, **extra: Any) -> dict[str, Any]:
    db = get_session()
    return {
        "channel": channel,
        "recipients": channel_recipients(channel),
        "categories": [c for c in channel.categories if not c.retired],
        "org_units": sorted(db.scalars(select(OrgUnit)),
                            key=lambda org_unit: org_unit.text("name")),
        "settings": current.settings(),
        "form": AnonymousForm(),
        "values": {},
        "page_strings": report_strings(current.settings()),
        **extra,
    }


@bp.route("/report/<slug>")
def form(slug: str) -> str:
    return render_template("reporting/form.html", **_form_context(_open_channel(slug)))


def _answers_from_form(channel: Channel) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for question in channel.questions:
        name = f"q-{question.key}"
        if question.kind == "multiple_choice":
            answers[question.key] = request.form.getlist(name)
        else:
            answers[question.key] = request.form.get(name, "")
    return answers


def _uploads(field: str) -> list[tuple[SealingSink, str, str]]:
    """The files of a form field, already sealed on disk as they arrived (empty inputs left out)."""
    return [(storage.stream, safe_file_name(storage.filename, "file"),
             storage.mimetype or "application/octet-stream")
            for storage in request.files.getlist(field)
            if storage.filename and isinstance(storage.stream, SealingSink)]


@bp.route("/report/<slug>", methods=["POST"])
@limiter.limit(lambda: current.settings().ratelimit_reports, key_func=address_key)
def file_plain(slug: str) -> str | tuple[str, int]:
    """The form sent without JavaScript: the server seals in memory and shows the receipt."""
    channel = _open_channel(slug)
    if refused := anonymous_forms.refusal(single_use=True):
        return render_template("reporting/form.html",
                               **_form_context(channel, error=refused, values=request.form)), 400
    filing = plain.PlainFiling(
        category=request.form.get("category") or None,
        org_unit=request.form.get("org_unit") or None,
        excluded=request.form.getlist("exclude"),
        answers=_answers_from_form(channel),
        uploads=_uploads("files"),
        language=page_language(),
    )
    db = get_session()
    try:
        receipt = plain.file_plain_report(db, current.settings(), current.attachment_store(),
                                          channel, filing)
    except (ProtocolError, ChannelError) as exc:
        db.rollback()
        status = getattr(exc, "status", 400)
        context = _form_context(channel, error=str(exc), values=request.form)
        return render_template("reporting/form.html", **context), status
    db.commit()
    return render_template("reporting/receipt.html", receipt=format_receipt(receipt),
                           channel=channel)


def _mailbox_page(**context: Any) -> str:
    context.setdefault("opened", None)
    return render_template("reporting/mailbox.html", form=AnonymousForm(),
                           page_strings=mailbox_strings(current.settings()), **context)


@bp.route("/mailbox")
def mailbox() -> str:
    return _mailbox_page()


def _render_mailbox(receipt: str, **extra: Any) -> str:
    opened = plain.open_plain_mailbox(get_session(), current.settings(), receipt)
    answers = texts.answer_rows(opened.report.channel.questions, opened.document,
                                {"yes": _("Yes"), "no": _("No")})
    return _mailbox_page(opened=opened, answers=answers, receipt=format_receipt(opened.receipt),
                         **extra)


@bp.route("/mailbox", methods=["POST"])
@mailbox_failures
def mailbox_open() -> str | tuple[str, int]:
    """Open the mailbox without JavaScript: the receipt is used in memory for this request."""
    if refused := anonymous_forms.refusal():
        return _mailbox_page(error=refused), 400
    try:
        return _render_mailbox(request.form.get("receipt", ""))
    except ProtocolError as exc:
        return _mailbox_page(error=str(exc)), exc.status


@bp.route("/mailbox/reply", methods=["POST"])
@mailbox_failures
@limiter.limit(lambda: current.settings().ratelimit_messages, key_func=address_key)
def mailbox_reply() -> str | tuple[str, int]:
    receipt, text = request.form.get("receipt", ""), request.form.get("text", "")
    if refused := anonymous_forms.refusal(single_use=True):
        return _reply_refused(receipt, ProtocolError(refused), text)
    db = get_session()
    try:
        plain.reply_plain(db, current.settings(), current.attachment_store(), receipt, text,
                          _uploads("files"))
    except ProtocolError as exc:
        db.rollback()
        return _reply_refused(receipt, exc, text)
    db.commit()
    return _render_mailbox(receipt, notice=_("Your message was sent."))


def _reply_refused(receipt: str, refusal: ProtocolError, text: str) -> tuple[str, int]:
    """The mailbox again with the reason and the reply as typed (nothing typed is lost); the
    bare page when the receipt opens no mailbox."""
    if refusal.status != 404:
        try:
            return (_render_mailbox(receipt, error=str(refusal), reply_text=text),
                    refusal.status)
        except ProtocolError:
            pass  # a malformed receipt: refused for the same reason when opening
    return _mailbox_page(error=str(refusal)), refusal.status


@bp.route("/mailbox/file", methods=["POST"])
@mailbox_failures
def mailbox_file() -> Response | tuple[str, int]:
    """An attachment, decrypted on the way out, for readers without JavaScript."""
    if refused := anonymous_forms.refusal():
        return _mailbox_page(error=refused), 400
    try:
        entry, chunks = plain.plain_attachment(
            get_session(), current.settings(), current.attachment_store(),
            request.form.get("receipt", ""), request.form.get("attachment", ""))
    except ProtocolError as exc:
        abort(exc.status)
    name = safe_file_name(entry.get("name"), "attachment")
    # Always a download, never rendered here: the content is the reporter's, not ours.
    return Response(stream_with_context(chunks), mimetype="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
