"""The anonymous reporting channel: public pages for staff who report.

Each page works as a plain HTML form; with JavaScript the page script seals in the browser
and talks to the API instead (static/js/report.mjs, static/js/mailbox.mjs).
"""

from __future__ import annotations

from collections.abc import Callable
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
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from crypto import format_receipt
from crypto.offline import safe_file_name
from integrity import anonymous_forms, current, rights
from integrity.access import public
from integrity.anonymous_forms import AnonymousForm
from integrity.cases import check_ins, retaliation
from integrity.cases.deadlines import ACKNOWLEDGE_DAYS, FEEDBACK_MONTHS
from integrity.cases.records import agree_record, record_at
from integrity.channels import ChannelError
from integrity.db import get_session
from integrity.extensions import address_key, limiter
from integrity.models import Channel, ChannelState, OrgUnit, today
from integrity.reporting import mailbox_tokens, plain, texts
from integrity.reporting.api import mailbox_failures
from integrity.reporting.errors import ProtocolError
from integrity.reporting.public_config import channel_recipients, open_channels
from integrity.reporting.strings import mailbox_strings, report_strings
from integrity.reporting.uploads import SealingSink
from integrity.translated import page_language

bp = public(Blueprint("reporting", __name__))
# The field the opened mailbox's forms carry its mailbox token in (never the receipt).
TOKEN_FIELD = "mailbox_token"  # noqa: S105 (a field name, not a secret)


@bp.context_processor
def _deadlines() -> dict[str, int]:
    """The legal deadlines the receipt names (when to come back to the mailbox)."""
    return {"acknowledge_days": ACKNOWLEDGE_DAYS, "feedback_months": FEEDBACK_MONTHS}


def _open_channel(slug: str) -> Channel:
    channel = get_session().scalar(select(Channel).where(Channel.slug == slug))
    if channel is None or channel.state == ChannelState.CLOSED:
        abort(404)
    return channel


@bp.route("/")
def index() -> str:
    channels = open_channels(get_session())
    return render_template("reporting/index.html", channels=channels)


@bp.route("/rights")
@bp.route("/report/<slug>/rights")
def rights_page(slug: str | None = None) -> str:
    """Other ways to report, and the reporter's rights: the channel's page, or the
    installation's, with how long each channel keeps reports."""
    db = get_session()
    channel = _open_channel(slug) if slug else None
    return render_template("reporting/rights.html", channel=channel, rights_channel=channel,
                           sections=rights.shown_sections(db, channel),
                           kept=[channel] if channel else open_channels(db))


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
        "rights_channel": channel,
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
        keep_details=request.form.get("keep_details") == "1",
        meeting=request.form.get("meeting") == "1",
    )
    db = get_session()
    try:
        receipt = plain.file_plain_report(db, current.settings(), current.attachment_store(),
                                          current.lookup_key(), channel, filing)
    except (ProtocolError, ChannelError) as exc:
        db.rollback()
        status = getattr(exc, "status", 400)
        context = _form_context(channel, error=str(exc), values=request.form)
        return render_template("reporting/form.html", **context), status
    db.commit()
    return render_template("reporting/receipt.html", receipt=format_receipt(receipt),
                           channel=channel, rights_channel=channel)


def _mailbox_page(**context: Any) -> str:
    context.setdefault("opened", None)
    return render_template("reporting/mailbox.html", form=AnonymousForm(),
                           page_strings=mailbox_strings(current.settings()), **context)


@bp.route("/mailbox")
def mailbox() -> str:
    return _mailbox_page()


def _render_mailbox(opened: plain.OpenedMailbox, token: str, **extra: Any) -> str:
    report = opened.report
    channel = report.channel
    # A report of retaliation answers its own form, not the channel's questionnaire.
    questions: list[Any] = list(retaliation.QUESTIONS if report.kind == retaliation.RETALIATION
                                else channel.questions)
    answers = texts.answer_rows(questions, opened.document, {"yes": _("Yes"), "no": _("No")})
    db = get_session()
    root = retaliation.root_case(report)
    return _mailbox_page(opened=opened, answers=answers, mailbox_token=token,
                         rights_channel=channel if channel.state != ChannelState.CLOSED
                         else None, root=root, linked=retaliation.linked_cases(db, root),
                         case=None if report is root else report.reference,
                         check_ins=check_ins.posted_check_ins(db, report),
                         check_in_text=check_ins.CHECK_IN_TEXT,
                         check_ins_stopped=check_ins.stopped(db, root),
                         what_happened=retaliation.WHAT_HAPPENED, **extra)


def _mailbox_opened(response: Response) -> bool:
    return response.status_code == 200


@bp.route("/mailbox", methods=["POST"])
@mailbox_failures
@limiter.limit(lambda: current.settings().ratelimit_mailbox_opens, key_func=address_key,
               deduct_when=_mailbox_opened,
               error_message=lambda: _("The mailbox was opened too many times from this "
                                       "network: please wait a while and try again."))
def mailbox_open() -> str | tuple[str, int]:
    """Open the mailbox without JavaScript: the receipt is used in memory for this request,
    and the page carries a mailbox token for the replies and downloads that follow."""
    if refused := anonymous_forms.refusal():
        return _mailbox_page(error=refused), 400
    settings = current.settings()
    try:
        opened = plain.open_plain_mailbox(get_session(), settings, current.lookup_key(),
                                          request.form.get("receipt", ""))
    except ProtocolError as exc:
        return _mailbox_page(error=str(exc)), exc.status
    token = mailbox_tokens.issue(current.mailbox_tokens(),
                                 mailbox_tokens.OpenMailbox(opened.report.id, opened.secret_key),
                                 settings.mailbox_token_minutes)
    # A reply typed before the page expired comes back in its box.
    return _render_mailbox(opened, token, reply_text=request.form.get("text", ""))


def _reopened() -> tuple[plain.OpenedMailbox, str] | None:
    """The mailbox this form's token keeps open, and the token; None once it has expired."""
    token = request.form.get(TOKEN_FIELD, "")
    kept = mailbox_tokens.redeem(current.mailbox_tokens(), token)
    if kept is None:
        return None
    # "case": a report of retaliation linked to the token's case, by its reference.
    opened = plain.reopen_plain_mailbox(get_session(), current.settings(), kept.report_id,
                                        kept.secret_key, request.form.get("case") or None)
    return None if opened is None else (opened, token)


def _expired() -> tuple[str, int]:
    """The receipt form again, with what was typed in the reply box kept for the reopening."""
    return _mailbox_page(error=_("This mailbox page has expired: enter your receipt again to "
                                 "open the mailbox."),
                         reply_text=request.form.get("text", "")), 400


def _act_on_mailbox(act: Callable[[Session, plain.OpenedMailbox], int], notice: str,
                    **typed: str) -> str | tuple[str, int]:
    """Do ``act`` in the mailbox the form's token keeps open, and show the mailbox again with
    ``notice``: the case whose id ``act`` returns. A refusal shows the reason with what the
    reporter typed (``typed``, the template's names for it), so that nothing typed is lost,
    and stores nothing."""
    refused = anonymous_forms.refusal(single_use=True)
    found = _reopened()
    if found is None:
        return (_mailbox_page(error=refused), 400) if refused else _expired()
    opened, token = found
    if refused:
        return _render_mailbox(opened, token, error=refused, **typed), 400
    db = get_session()
    try:
        shown = act(db, opened)
    except ProtocolError as exc:
        db.rollback()
        return _render_mailbox(opened, token, error=str(exc), **typed), exc.status
    db.commit()
    again = plain.reopen_plain_mailbox(db, current.settings(), shown, opened.secret_key)
    if again is None:
        return _expired()
    return _render_mailbox(again, token, notice=notice)


@bp.route("/mailbox/reply", methods=["POST"])
@mailbox_failures
@limiter.limit(lambda: current.settings().ratelimit_messages, key_func=address_key)
def mailbox_reply() -> str | tuple[str, int]:
    text = request.form.get("text", "")

    def reply(db: Session, opened: plain.OpenedMailbox) -> int:
        plain.reply_plain(db, current.settings(), current.attachment_store(), opened,
                          text, _uploads("files"), request.form.get("keep_details") == "1",
                          meeting=request.form.get("meeting") == "1",
                          corrects=request.form.get("corrects") or None)
        return opened.report.id

    return _act_on_mailbox(reply, _("Your message was sent."), reply_text=text)


@bp.route("/mailbox/agree", methods=["POST"])
@mailbox_failures
def mailbox_agree() -> str | tuple[str, int]:
    """The reporter agrees that a record is accurate, without JavaScript."""
    def agree(db: Session, opened: plain.OpenedMailbox) -> int:
        agree_record(db, current.settings(), opened.report,
                     record_at(opened.report, request.form.get("record", "")))
        return opened.report.id

    return _act_on_mailbox(agree, _("Thank you: your agreement was recorded."))


@bp.route("/mailbox/case", methods=["POST"])
@mailbox_failures
def mailbox_case() -> str | tuple[str, int]:
    """Another case of the opened mailbox: a linked report of retaliation (``case``), or the
    receipt's own (no ``case``)."""
    if refused := anonymous_forms.refusal():
        return _mailbox_page(error=refused), 400
    found = _reopened()
    return _expired() if found is None else _render_mailbox(*found)


@bp.route("/mailbox/retaliation", methods=["POST"])
@mailbox_failures
@limiter.limit(lambda: current.settings().ratelimit_reports, key_func=address_key)
def mailbox_retaliation() -> str | tuple[str, int]:
    """A report of retaliation sent without JavaScript: sealed here, in memory, and shown."""
    text = request.form.get(retaliation.WHAT_HAPPENED.key, "")

    def report(db: Session, opened: plain.OpenedMailbox) -> int:
        return retaliation.plain_retaliation(db, current.settings(), current.attachment_store(),
                                             opened, text, page_language()).id

    return _act_on_mailbox(report, _("Your report of retaliation was sent. It is a case of its "
                                     "own, in this same mailbox."), retaliation_text=text)


@bp.route("/mailbox/check-ins/stop", methods=["POST"])
@mailbox_failures
def mailbox_stop_check_ins() -> str | tuple[str, int]:
    """No more check-ins in this mailbox."""
    if refused := anonymous_forms.refusal():
        return _mailbox_page(error=refused), 400
    found = _reopened()
    if found is None:
        return _expired()
    db = get_session()
    root = retaliation.root_case(found[0].report)
    check_ins.stop_check_ins(db, [root, *retaliation.linked_cases(db, root)], today())
    db.commit()
    return _render_mailbox(*found, notice=_("You will get no more check-ins in this mailbox."))


@bp.route("/mailbox/close", methods=["POST"])
def mailbox_close() -> str | tuple[str, int]:
    """Close the mailbox opened without JavaScript: its token opens nothing any more, and the
    empty mailbox form comes back (for a reporter on a shared device)."""
    if refused := anonymous_forms.refusal():
        return _mailbox_page(error=refused), 400
    mailbox_tokens.end(current.mailbox_tokens(), request.form.get(TOKEN_FIELD, ""))
    return _mailbox_page(closed=True)


@bp.route("/mailbox/file", methods=["POST"])
@mailbox_failures
def mailbox_file() -> Response | tuple[str, int]:
    """An attachment, decrypted on the way out, for readers without JavaScript."""
    if refused := anonymous_forms.refusal():
        return _mailbox_page(error=refused), 400
    found = _reopened()
    if found is None:
        return _expired()
    try:
        entry, length, chunks = plain.plain_attachment(
            current.attachment_store(), found[0], request.form.get("attachment", ""))
    except ProtocolError as exc:
        abort(exc.status)
    name = safe_file_name(entry.get("name"), "attachment")
    # Always a download, never rendered here: the content is the reporter's, not ours. The
    # length lets a browser tell a transfer cut short from a complete file.
    return Response(stream_with_context(chunks), mimetype="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Content-Length": str(length)})
