"""Forms of the inbox and the case page."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

from integrity.cases.readers import MAX_REASON

STATUS_CHOICES = [
    SelectChoice("acknowledged", _l("Acknowledged")),
    SelectChoice("in_progress", _l("In progress")),
    SelectChoice("closed", lazy_pgettext("case status", "Closed")),
]
OUTCOME_CHOICES = [
    SelectChoice("", _l("No outcome (only when not closing)")),
    SelectChoice("substantiated", _l("Substantiated")),
    SelectChoice("partly_substantiated", _l("Partly substantiated")),
    SelectChoice("unsubstantiated", _l("Unsubstantiated")),
    SelectChoice("not_in_scope", _l("Not in scope")),
]


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=STATUS_CHOICES, validators=[DataRequired()])
    outcome = SelectField(_l("Outcome"), choices=OUTCOME_CHOICES)


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Responsible inspector"), choices=[])


class GoToCaseForm(FlaskForm):
    # Long enough for a reference typed with spaces; the service reads it (normalise_reference).
    reference = StringField(_l("Case reference"), validators=[DataRequired(), Length(max=40)])


class HoldForm(FlaskForm):
    """Place or lift a legal hold: the reason is kept in the audit log, so it names the
    proceedings, never what the report says."""

    reason = StringField(_l("Reason (such as the reference of the proceedings)"),
                         validators=[DataRequired(), Length(max=200)])


class RecuseForm(FlaskForm):
    reason = TextAreaField(_l("Why you step away"),
                           validators=[DataRequired(), Length(max=MAX_REASON)])


class RemoveReaderForm(FlaskForm):
    reader = SelectField(_l("Inspector to take off the case"), choices=[],
                         validators=[DataRequired()])
    reason = TextAreaField(_l("Why they must no longer read it"),
                           validators=[DataRequired(), Length(max=MAX_REASON)])


class ClosingForm(FlaskForm):
    """Confirming or declining a requested closing: the form token alone."""


class MeetingForm(FlaskForm):
    """Record that a requested meeting or call was arranged or held (declining goes with a
    message to the reporter, sealed in the browser)."""

    answer = HiddenField(_l("Answer"), validators=[AnyOf(["arranged", "held"])])
