"""Forms of the administration pages (CSRF on all of them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from admin.settings import Editable
from integrity.db import database_int
from integrity.models import ChannelState, CrossingType, QuestionKind, Role, UnitKind
from integrity.request_guard import IntegerField

REQUIRED = _l("Please fill in this field.")
ADDRESS = Regexp(r"^[^@\s]+@[^@\s]+$", message=_l("That is not an e-mail address."))


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(Role.INSPECTOR.value, _l("Inspector")),
            SelectChoice(Role.MANAGER.value, _l("Manager")),
            SelectChoice(Role.ADMIN.value, _l("Administrator")),
            SelectChoice(Role.AUDITOR.value, _l("Auditor"))]


def choices(labels: Mapping[str, Any]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


KIND_LABELS = {
    QuestionKind.SHORT_TEXT.value: _l("Short text"),
    QuestionKind.LONG_TEXT.value: _l("Long text"),
    QuestionKind.SINGLE_CHOICE.value: _l("Single choice"),
    QuestionKind.MULTIPLE_CHOICE.value: _l("Multiple choice"),
    QuestionKind.DATE.value: _l("Date"),
    QuestionKind.YES_NO.value: _l("Yes or no"),
}

UNIT_KIND_LABELS = {
    UnitKind.AGENCY.value: _l("Agency"),
    UnitKind.REGION.value: _l("Region"),
    UnitKind.CROSSING_POINT.value: _l("Border crossing point"),
    UnitKind.HEADQUARTERS.value: _l("Headquarters"),
}

CROSSING_LABELS = {
    CrossingType.LAND.value: _l("Land"),
    CrossingType.SEA.value: _l("Sea"),
    CrossingType.AIR.value: _l("Air"),
}

STATE_LABELS = {
    ChannelState.OPEN.value: lazy_pgettext("channel state", "Open"),
    ChannelState.HIDDEN.value: _l("Hidden"),
    ChannelState.CLOSED.value: lazy_pgettext("channel state", "Closed"),
}


class ConfirmForm(FlaskForm):
    """The second step of a destructive action: the page says what it does, this confirms."""


class InviteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=200)])
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(message=REQUIRED), Length(max=254),
        ADDRESS])
    role = SelectField(_l("Role"), choices=role_choices, default=Role.INSPECTOR.value)
    # Choices and default (the installation's first language) are set by the view.
    language = SelectField(_l("Language"))
    send = BooleanField(_l("Also send the link to this address by e-mail"))


class SendLinkForm(FlaskForm):
    send = BooleanField(_l("Also send the link by e-mail"))


class RoleForm(FlaskForm):
    role = SelectField(_l("New role"), choices=role_choices)


class ResetForm(FlaskForm):
    reason = StringField(_l("Reason (written to the audit log)"), validators=[
        DataRequired(message=_l("Say why the second factor is reset.")), Length(max=300)])
    passphrase_lost = BooleanField(_l("The passphrase is lost too: issue a new set-up link"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ChannelForm(FlaskForm):
    name = StringField(_l("Name shown to reporters"),
                       validators=[DataRequired(message=REQUIRED), Length(max=200)])
    description = TextAreaField(_l("Description shown to reporters"),
                                validators=[Length(max=5000)])
    allow_exclusion = BooleanField(_l("Reporters may leave out an inspector"))
    retention_days = IntegerField(_l("Retention period of closed cases (days)"), validators=[
        InputRequired(message=REQUIRED),
        NumberRange(min=1, max=36500, message=_l("Enter a number of days from 1 to 36500."))])
    short_retention_days = IntegerField(
        _l("Retention period of cases closed as unsubstantiated or not in scope (days)"),
        validators=[Optional(), NumberRange(min=1, max=36500, message=_l(
            "Enter a number of days from 1 to 36500, or leave it empty."))])
    max_open_days = IntegerField(
        _l("Longest time a case may stay open (days)"),
        validators=[Optional(), NumberRange(min=365, max=36500, message=_l(
            "Enter a number of days from 365 to 36500, or leave it empty."))])
    person_deletion_days = IntegerField(
        _l("Days a cleared person's data is kept"),
        validators=[Optional(), NumberRange(min=0, max=3650, message=_l(
            "Enter a number of days from 0 to 3650."))])
    meeting_days = IntegerField(
        _l("Days to answer a request for a meeting or a call"), default=14,
        validators=[Optional(), NumberRange(min=1, max=90, message=_l(
            "Enter a number of days from 1 to 90."))])
    asks_category = BooleanField(_l("Ask for a category"))
    asks_unit = BooleanField(_l("Ask for the organisational unit"))
    closing_needs_confirmation = BooleanField(
        _l("Closing a case needs a second inspector's confirmation"))
    check_in_months = StringField(_l("Check-ins after a case is closed (months)"),
                                  default="3,6,12", validators=[Length(max=32)])
    recipients = MultiCheckboxField(_l("Inspectors who receive the reports"), choices=[],
                                    coerce=database_int, validate_choice=False)


class NewChannelForm(ChannelForm):
    slug = StringField(_l("Short name in the address (letters a-z, digits, hyphens)"),
                       validators=[DataRequired(message=REQUIRED), Length(max=64)])


class StateForm(FlaskForm):
    state = HiddenField()


class QuestionForm(FlaskForm):
    kind = SelectField(_l("Type of answer"), choices=choices(KIND_LABELS))
    label = StringField(_l("Question"),
                        validators=[DataRequired(message=REQUIRED), Length(max=500)])
    help_text = TextAreaField(_l("Help text (optional)"), validators=[Length(max=2000)])
    required = BooleanField(_l("An answer is required"))
    options = TextAreaField(_l("Answers to choose from, one per line (choice questions only)"),
                            validators=[Length(max=8000)])


class MoveForm(FlaskForm):
    step = HiddenField()


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=200)])


class UnitForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=choices(UNIT_KIND_LABELS))
    crossing_type = SelectField(_l("Crossing type (border crossing points only)"),
                                choices=choices({"": _l("Not a crossing point"),
                                                 **CROSSING_LABELS}))
    parent_id = SelectField(_l("Part of"), choices=[], coerce=str)
    headcount = IntegerField(_l("Headcount"), default=0, validators=[
        InputRequired(message=REQUIRED),
        NumberRange(min=0, message=_l("The headcount is a whole number, 0 or more."))])


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(message=_l("Choose a file."))])


class QuestionnaireImportForm(FlaskForm):
    file = FileField(_l("Questionnaire file (JSON)"),
                     validators=[FileRequired(message=_l("Choose a file."))])


def settings_form(editable: Mapping[str, Editable]) -> type[FlaskForm]:
    """A form with one field per setting the settings page may change."""

    class SettingsForm(FlaskForm):
        pass

    for name, item in editable.items():
        field: Field
        if item.number:
            field = IntegerField(item.label, description=item.hint,
                                 validators=[InputRequired(message=REQUIRED)])
        else:
            field = StringField(item.label, description=item.hint,
                                validators=[Length(max=300)])
        setattr(SettingsForm, name, field)
    return SettingsForm


class MailTestForm(FlaskForm):
    address = EmailField(_l("Send a test message to"), validators=[
        DataRequired(message=REQUIRED), Length(max=254),
        ADDRESS])
