"""Channels: settings and recipients, the questionnaire editor, categories."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from admin import channels, recipients
from admin.blueprint import actor, bp, list_args
from admin.forms import (
    KIND_LABELS,
    STATE_LABELS,
    CategoryForm,
    ChannelForm,
    ConfirmForm,
    MoveForm,
    NewChannelForm,
    QuestionForm,
)
from integrity import current
from integrity.changes import commit_unless
from integrity.channels import ChannelError
from integrity.db import get_or_404, get_session
from integrity.models import (
    Category,
    Channel,
    ChannelState,
    Question,
    QuestionKind,
    RecipientChange,
)
from integrity.reporting.public_config import channel_recipients


@bp.route("/channels")
def channel_list() -> str:
    query, page = list_args()
    return render_template("admin/channels.html", query=query, states=STATE_LABELS,
                           channels=channels.list_channels(get_session(), query=query,
                                                           page=page))


def _with_recipients(form: ChannelForm, channel: Channel | None) -> ChannelForm:
    eligible = channels.eligible_recipients(get_session())
    current = list(channel.recipients) if channel else []
    shown = eligible + [user for user in current if user not in eligible]
    form.recipients.choices = [SelectChoice(str(user.id), f"{user.name} <{user.email}>")
                               for user in shown]
    return form


def _fields(form: ChannelForm) -> channels.ChannelFields:
    return channels.ChannelFields(
        name=form.name.data or "", description=form.description.data or "",
        allow_exclusion=bool(form.allow_exclusion.data),
        retention_days=form.retention_days.data or 0,
        short_retention_days=form.short_retention_days.data,
        max_open_days=form.max_open_days.data,
        meeting_days=form.meeting_days.data or channels.MEETING_DAYS,
        asks_category=bool(form.asks_category.data), asks_unit=bool(form.asks_unit.data),
        recipient_ids=list(form.recipients.data or []),
        closing_needs_confirmation=bool(form.closing_needs_confirmation.data),
        person_deletion_days=30 if form.person_deletion_days.data is None
        else form.person_deletion_days.data,
        check_in_months=form.check_in_months.data or "")


@bp.route("/channels/new", methods=["GET", "POST"])
def channel_new() -> str | Response:
    form = NewChannelForm()
    if request.method == "GET":
        form.retention_days.data = current.settings().default_retention_days
        form.person_deletion_days.data = 30
        form.asks_category.data = form.asks_unit.data = True
    _with_recipients(form, None)
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, ChannelError, form.slug) as change:
            channel = channels.create_channel(db, actor(), form.slug.data or "", _fields(form))
        if change.stored:
            flash(_("The channel was added with the default questionnaire. Edit its questions "
                    "below."), "success")
            if recipients.pending(get_session(), channel):
                flash(_("Its recipients receive its reports once another administrator "
                        "confirms them, on the channel's page."), "success")
            return redirect(url_for("admin.questions", channel_id=channel.id))
    return render_template("admin/channel_new.html", form=form,
                           sole_administrator=recipients.sole_administrator(get_session()))


@bp.route("/channels/<int:channel_id>", methods=["GET", "POST"])
def channel(channel_id: int) -> str | Response:
    item = get_or_404(Channel, channel_id)
    form = ChannelForm(obj=item if request.method == "GET" else None)
    if request.method == "GET":
        form.recipients.data = [user.id for user in item.recipients]
    _with_recipients(form, item)
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, ChannelError, form.recipients) as change:
            saved = channels.update_channel(db, actor(), item, _fields(form))
        if change.stored:
            if saved.changed or not saved.proposed:
                flash(_("The channel was saved.") if saved.changed else
                      _("Nothing was changed."), "success")
            if saved.proposed:
                flash(ngettext("%(num)d change of recipients waits for another "
                               "administrator's confirmation.",
                               "%(num)d changes of recipients wait for another "
                               "administrator's confirmation.", saved.proposed), "success")
            return redirect(url_for("admin.channel", channel_id=item.id))
    db = get_session()
    return render_template("admin/channel.html", channel=item, form=form, states=STATE_LABELS,
                           receiving=channel_recipients(item),
                           pending=recipients.pending(db, item), confirm_form=ConfirmForm(),
                           sole_administrator=recipients.sole_administrator(db))


@bp.route("/recipient-changes/<int:change_id>/<any(confirm, decline):answer>",
          methods=["POST"])
def recipient_change(change_id: int, answer: str) -> Response:
    """Confirm or decline a change of a channel's recipients another administrator proposed."""
    change = get_or_404(RecipientChange, change_id)
    channel_id = change.channel_id
    if ConfirmForm().validate_on_submit():
        db = get_session()
        with commit_unless(db, ChannelError) as done:
            (recipients.confirm if answer == "confirm" else recipients.decline)(
                db, actor(), change)
        if done.stored:
            flash(_("The change was confirmed: it applies now.") if answer == "confirm"
                  else _("The change was declined: nothing changed."), "success")
    return redirect(url_for("admin.channel", channel_id=channel_id))


@bp.route("/channels/<int:channel_id>/state/<state>", methods=["GET", "POST"])
def channel_state(channel_id: int, state: str) -> str | Response:
    """Open, hide or close a channel, after a page that says what that does."""
    item = get_or_404(Channel, channel_id)
    if state not in STATE_LABELS:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, ChannelError) as change:
            channels.set_state(db, actor(), item, ChannelState(state))
        if change.stored:
            flash(_("The channel is now: %(state)s.", state=STATE_LABELS[state]), "success")
        return redirect(url_for("admin.channel", channel_id=item.id))
    return render_template("admin/confirm_state.html", channel=item, state=state, form=form,
                           states=STATE_LABELS)


# --- questionnaire ------------------------------------------------------------------------


@bp.route("/channels/<int:channel_id>/questions")
def questions(channel_id: int) -> str:
    item = get_or_404(Channel, channel_id)
    return render_template("admin/questions.html", channel=item, kinds=KIND_LABELS,
                           move_form=MoveForm())


def _question_fields(form: QuestionForm) -> channels.QuestionFields:
    return channels.QuestionFields(
        kind=QuestionKind(form.kind.data), label=form.label.data or "",
        help_text=form.help_text.data or "", required=bool(form.required.data),
        options=(form.options.data or "").splitlines())


@bp.route("/channels/<int:channel_id>/questions/new", methods=["GET", "POST"])
def question_new(channel_id: int) -> str | Response:
    item = get_or_404(Channel, channel_id)
    form = QuestionForm()
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, ChannelError, form.label) as change:
            channels.add_question(db, actor(), item, _question_fields(form))
        if change.stored:
            flash(_("The question was added at the end of the form."), "success")
            return redirect(url_for("admin.questions", channel_id=item.id))
    return render_template("admin/question.html", channel=item, question=None, form=form)


@bp.route("/questions/<int:question_id>", methods=["GET", "POST"])
def question(question_id: int) -> str | Response:
    item = get_or_404(Question, question_id)
    form = QuestionForm(obj=item if request.method == "GET" else None)
    if request.method == "GET":
        form.options.data = "\n".join(item.options or [])
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, ChannelError, form.label) as change:
            channels.update_question(db, actor(), item, _question_fields(form))
        if change.stored:
            flash(_("The question was saved."), "success")
            return redirect(url_for("admin.questions", channel_id=item.channel_id))
    return render_template("admin/question.html", channel=item.channel, question=item, form=form)


def _step(form: MoveForm) -> int:
    if not form.validate_on_submit() or form.step.data not in ("-1", "1"):
        abort(400)
    return int(form.step.data)


@bp.route("/questions/<int:question_id>/move", methods=["POST"])
def question_move(question_id: int) -> Response:
    item = get_or_404(Question, question_id)
    if channels.move_question(get_session(), actor(), item, _step(MoveForm())):
        get_session().commit()
    return redirect(url_for("admin.questions", channel_id=item.channel_id,
                            _anchor=f"question-{item.id}"))


@bp.route("/questions/<int:question_id>/remove", methods=["GET", "POST"])
def question_remove(question_id: int) -> str | Response:
    item = get_or_404(Question, question_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        channel_id = item.channel_id
        channels.remove_question(get_session(), actor(), item)
        get_session().commit()
        flash(_("The question was removed from the form."), "success")
        return redirect(url_for("admin.questions", channel_id=channel_id))
    return render_template("admin/confirm_question.html", question=item, form=form)


@bp.route("/channels/<int:channel_id>/preview")
def preview(channel_id: int) -> str:
    """The questionnaire as reporters will see it (nothing can be sent from here)."""
    item = get_or_404(Channel, channel_id)
    return render_template("admin/preview.html", channel=item,
                           categories=[c for c in item.categories if not c.retired])


# --- categories ---------------------------------------------------------------------------


@bp.route("/channels/<int:channel_id>/categories", methods=["GET", "POST"])
def categories(channel_id: int) -> str | Response:
    item = get_or_404(Channel, channel_id)
    form = CategoryForm()
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, ChannelError, form.name) as change:
            channels.add_category(db, actor(), item, form.name.data or "")
        if change.stored:
            flash(_("The category was added."), "success")
            return redirect(url_for("admin.categories", channel_id=item.id))
    query, page = list_args()
    return render_template("admin/categories.html", channel=item, form=form, query=query,
                           categories=channels.list_categories(get_session(), item, query=query,
                                                               page=page),
                           move_form=MoveForm())


def _back_to_list(category: Category, **extra: Any) -> Response:
    return redirect(url_for("admin.categories", channel_id=category.channel_id, **extra))


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
def category(category_id: int) -> str | Response:
    item = get_or_404(Category, category_id)
    form = CategoryForm(obj=item if request.method == "GET" else None)
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, ChannelError, form.name) as change:
            channels.rename_category(db, actor(), item, form.name.data or "")
        if change.stored:
            flash(_("The category was renamed."), "success")
            return _back_to_list(item)
    return render_template("admin/category.html", category=item, form=form)


@bp.route("/categories/<int:category_id>/move", methods=["POST"])
def category_move(category_id: int) -> Response:
    item = get_or_404(Category, category_id)
    if channels.move_category(get_session(), actor(), item, _step(MoveForm())):
        get_session().commit()
    return _back_to_list(item, _anchor=f"category-{item.id}")


@bp.route("/categories/<int:category_id>/retire", methods=["GET", "POST"])
def category_retire(category_id: int) -> str | Response:
    item = get_or_404(Category, category_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with commit_unless(get_session(), ChannelError) as change:
            channels.set_retired(get_session(), actor(), item, True)
        if change.stored:
            flash(_("The category was retired."), "success")
        return _back_to_list(item)
    return render_template("admin/confirm_category.html", category=item, form=form)


@bp.route("/categories/<int:category_id>/restore", methods=["POST"])
def category_restore(category_id: int) -> Response:
    item = get_or_404(Category, category_id)
    if ConfirmForm().validate_on_submit():
        with commit_unless(get_session(), ChannelError) as change:
            channels.set_retired(get_session(), actor(), item, False)
        if change.stored:
            flash(_("The category is offered to reporters again."), "success")
    return _back_to_list(item)
