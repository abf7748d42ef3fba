"""The inspectors' workspace: the inbox and the case pages."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from integrity import current
from integrity.access import restrict
from integrity.audit import record
from integrity.cases.activity import mark_seen
from integrity.cases.check_ins import planned
from integrity.cases.deadlines import deadlines
from integrity.cases.forms import (
    OUTCOME_CHOICES,
    AssignForm,
    ClosingForm,
    GoToCaseForm,
    HoldForm,
    RecuseForm,
    RemoveReaderForm,
    StatusForm,
)
from integrity.cases.inbox import InboxFilters, Position, case_by_reference, case_for, inbox
from integrity.cases.protection import assessed_on, mark_sealed_case
from integrity.cases.references import normalise_reference
from integrity.cases.retaliation import RETALIATION, linked_cases, question_json
from integrity.cases.retention import deletion_day
from integrity.cases.sharing import case_attachment, share_case
from integrity.cases.thread import post_message, sealed_case
from integrity.cases.workflow import WorkflowError, assign, change_status
from integrity.changes import commit_unless, flash_form_errors
from integrity.db import get_session
from integrity.models import Category, Channel, Role, User, today
from integrity.reporting.errors import ProtocolError
from integrity.reporting.models import Outcome, Report, Status
from integrity.reporting.storage import sealed_response
from integrity.reporting.strings import case_strings
from integrity.request_guard import read_json

bp = restrict(Blueprint("cases", __name__, url_prefix="/cases"), Role.INSPECTOR)


@bp.route("/", endpoint="inbox")
def inbox_page() -> str:
    filters = InboxFilters.parse(request.args)
    db = get_session()
    result = inbox(db, g.user, filters, Position.parse(request.args), today())
    channels = list(db.scalars(select(Channel).order_by(Channel.name)))
    # Channels may share a category's slug; the filter asks for the slug.
    categories = {c.slug: c for c in db.scalars(
        select(Category).where(Category.retired.is_(False)).order_by(Category.name))}
    return render_template("cases/inbox.html", inbox=result, filters=filters,
                           channels=channels, categories=list(categories.values()),
                           statuses=list(Status), go_form=GoToCaseForm())


@bp.route("/go", methods=["POST"])
def go_to_case() -> Response:
    """Open a case by its reference (posted, so that references stay out of URLs and logs)."""
    form = GoToCaseForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("cases.inbox"))
    typed = form.reference.data or ""
    if normalise_reference(typed) is None:
        flash(_("A case reference has eight letters and digits, such as K7QX-2M4P."), "error")
        return redirect(url_for("cases.inbox"))
    report = case_by_reference(get_session(), g.user, typed)
    if report is None:
        # The same answer whether or not a case has it: it may be another inspector's.
        flash(_("No case of yours has this reference."), "error")
        return redirect(url_for("cases.inbox"))
    return redirect(url_for("cases.case", report_id=report.id))


def case_or_404(report_id: int) -> Report:
    """The case if the signed-in inspector reads it; "not found" otherwise."""
    report = case_for(get_session(), g.user, report_id)
    if report is None:
        abort(404)  # not 403: an inspector the case was not sealed to must not learn it exists
    return report


def _assign_form(report: Report) -> AssignForm:
    form = AssignForm(assignee=str(report.assignee_id or ""))
    form.assignee.choices = [SelectChoice("", _("Not assigned"))] + [
        SelectChoice(str(user.id), user.name) for user in report.readers if user.active
    ]
    return form


def remove_form(report: Report) -> RemoveReaderForm:
    """The form that takes a colleague off the case: the other readers to choose from."""
    form = RemoveReaderForm(prefix="remove")
    form.reader.choices = [SelectChoice("", _("Choose an inspector"))] + [
        SelectChoice(str(user.id), user.name) for user in report.readers if user.id != g.user.id
    ]
    return form


@bp.route("/<row_id:report_id>")
def case(report_id: int) -> str:
    report = case_or_404(report_id)
    db = get_session()
    record(db, actor=g.user, action="case_opened", subject=f"report:{report.id}")
    mark_seen(db, report, g.user)
    db.commit()
    return render_template(
        "cases/case.html", report=report,
        # Only the linked cases this inspector reads: the others' existence is not theirs.
        linked=[r for r in linked_cases(db, report) if g.user in r.readers],
        original=report.retaliation_of if report.retaliation_of is not None
        and g.user in report.retaliation_of.readers else None,
        assessed_on=assessed_on(db, report), check_ins=planned(db, report),
        due=deadlines(report.created_on, report.acknowledged_on, report.feedback_on, today()),
        status_form=StatusForm(), assign_form=_assign_form(report),
        outcome_choices=[(c.value, c.label) for c in OUTCOME_CHOICES if c.value],
        hold_form=HoldForm(), deleted_on=deletion_day(report),
        recuse_form=RecuseForm(prefix="recuse"), remove_form=remove_form(report),
        closing_form=ClosingForm(), today=today(),
        page_strings=case_strings(current.settings()),
    )


@bp.route("/<row_id:report_id>/status", methods=["POST"])
def status(report_id: int) -> Response:
    report = case_or_404(report_id)
    form = StatusForm()
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, WorkflowError) as change:
            moved = change_status(db, report, g.user, Status(form.status.data),
                                  Outcome(form.outcome.data) if form.outcome.data else None)
        if change.stored:
            flash(_("The case's status was changed.") if moved else
                  _("The case will close when another inspector of the case confirms it."),
                  "success")
    else:
        flash_form_errors(form)
    return redirect(url_for("cases.case", report_id=report_id))


@bp.route("/<row_id:report_id>/assign", methods=["POST"])
def assignment(report_id: int) -> Response:
    report = case_or_404(report_id)
    form = _assign_form(report)
    if form.validate_on_submit():
        db = get_session()
        chosen = db.get(User, int(form.assignee.data)) if form.assignee.data else None
        with commit_unless(db, WorkflowError) as change:
            assign(db, report, g.user, chosen)
        if change.stored:
            flash(_("The case was assigned."), "success")
    else:
        flash_form_errors(form)
    return redirect(url_for("cases.case", report_id=report_id))


@bp.errorhandler(ProtocolError)
def _refused(error: ProtocolError) -> tuple[Response, int]:
    return jsonify(error=str(error)), error.status


@bp.route("/<row_id:report_id>/sealed")
def sealed(report_id: int) -> Response:
    """The case's ciphertext and this inspector's key slots, for the page's script."""
    report = case_or_404(report_id)
    db = get_session()
    answer = sealed_case(db, current.settings(), report, g.user, current.org_public_key())
    mark_sealed_case(db, report, answer)  # which notes are risk assessments or measures
    answer["kind"] = report.kind
    if report.kind == RETALIATION:
        answer["questions"] = question_json(reader=True)  # its own form, not the channel's
    return jsonify(answer)


def _post(report_id: int, *, note: bool) -> tuple[Response, int]:
    report = case_or_404(report_id)
    body = read_json() if request.mimetype == "application/json" else None
    if body is None:
        raise ProtocolError(_("The request body must be a JSON object."))
    db = get_session()
    was_open = report.status != Status.CLOSED
    post_message(db, current.settings(),
                 current.attachment_store(), report, g.user, body,
                 note=note)
    db.commit()
    if was_open and report.status == Status.CLOSED:
        # The page reloads to show the closed case; this says why.
        flash(_("Your final notice was sent to the reporter and the case was closed."),
              "success")
    elif body.get("meeting") == "declined":
        flash(_("Your message was sent to the reporter, and the meeting or call is recorded "
                "as declined."), "success")
    return jsonify(status="received"), 201


@bp.route("/<row_id:report_id>/messages", methods=["POST"])
def message(report_id: int) -> tuple[Response, int]:
    """A reply to the reporter, sealed in the inspector's browser (form token in a header)."""
    return _post(report_id, note=False)


@bp.route("/<row_id:report_id>/notes", methods=["POST"])
def note(report_id: int) -> tuple[Response, int]:
    """An internal note, sealed to the case's inspectors only."""
    return _post(report_id, note=True)


@bp.route("/<row_id:report_id>/share", methods=["POST"])
def share(report_id: int) -> tuple[Response, int]:
    """Add a reader: the key slots were re-sealed to them in the sharing inspector's browser."""
    report = case_or_404(report_id)
    body = read_json() if request.mimetype == "application/json" else None
    db = get_session()
    target = share_case(db, current.settings(), current.attachment_store(), report, g.user,
                        body, current.org_public_key())
    db.commit()
    return jsonify(status="shared", inspector=str(target.id), name=target.name), 201


@bp.route("/<row_id:report_id>/attachments/<attachment_id>")
def attachment(report_id: int, attachment_id: str) -> Response:
    """A sealed file of this case, as stored: the browser opens it with the key in a payload."""
    report = case_or_404(report_id)
    found = case_attachment(get_session(), report, attachment_id)
    if found is None:
        abort(404)
    return sealed_response(current.attachment_store(), found.id)
