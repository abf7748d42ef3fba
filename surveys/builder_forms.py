"""The survey builder's forms: surveys, questions, sections, waves, access codes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from integrity.request_guard import IntegerField
from surveys.definitions import QuestionType

TYPE_NAMES = {
    QuestionType.AGREEMENT: _l("Agreement (5 points)"),
    QuestionType.FREQUENCY: _l("Frequency (never … very often)"),
    QuestionType.SINGLE: _l("Single choice"),
    QuestionType.MULTIPLE: _l("Multiple choice"),
    QuestionType.YESNO: _l("Yes / no / prefer not to say"),
    QuestionType.NUMBER: _l("Number"),
    QuestionType.TEXT: _l("Free text (optional)"),
    QuestionType.CROSSWISE: _l("Sensitive: crosswise"),
    QuestionType.FORCED_RESPONSE: _l("Sensitive: forced response"),
}

class EmptyForm(FlaskForm):
    pass


class NewSurveyForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    first_question = StringField(_l("First question (agreement with a statement)"),
                                 validators=[DataRequired(), Length(max=1000)])


class TemplateForm(FlaskForm):
    template = SelectField(_l("Template"), choices=[])


class ImportForm(FlaskForm):
    file = FileField(_l("Definition file (JSON)"), validators=[FileRequired()])


class SurveyForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    introduction = TextAreaField(_l("Introduction"), validators=[Length(max=5000)])
    open_link = BooleanField(_l("Open link: anyone with the address may answer, without a "
                                "code (weaker)"))
    recurrence_months = IntegerField(_l("A new wave every … months (empty: waves by hand)"),
                                     validators=[Optional(), NumberRange(1, 36)])
    open_days = IntegerField(_l("Each wave open for … days"),
                             validators=[Optional(), NumberRange(1, 365)])


class AddQuestionForm(FlaskForm):
    section = SelectField(_l("Section"), choices=[])
    type = SelectField(_l("Kind of question"),
                       choices=[SelectChoice(t.value, name) for t, name in TYPE_NAMES.items()])
    text = StringField(_l("Question or statement"), validators=[DataRequired(), Length(max=1000)])


class QuestionForm(FlaskForm):
    text = TextAreaField(_l("Question or statement"), validators=[DataRequired(),
                                                                  Length(max=1000)])
    help = TextAreaField(_l("Help text"), validators=[Length(max=2000)])
    required = BooleanField(_l("An answer is required"))
    index = StringField(_l("Index tag (questions with the same tag form one index)"),
                        validators=[Length(max=40)])
    reverse = BooleanField(_l("Worded against the index (agreeing is the worse answer)"))
    # Checked with the whole definition: an unknown or later question is refused there.
    condition_question = SelectField(_l("Show only when this earlier question …"), choices=[],
                                     validate_choice=False)
    condition_values = StringField(_l("… was answered with (answer numbers or words, "
                                      "separated by commas)"), validators=[Length(max=200)])
    options = TextAreaField(_l("Options, one per line"))
    correct = IntegerField(_l("Number of the right option (for a knowledge check)"),
                           validators=[Optional(), NumberRange(1, 50)])
    minimum = DecimalField(_l("Smallest number allowed"), validators=[Optional()])
    maximum = DecimalField(_l("Largest number allowed"), validators=[Optional()])
    innocuous = TextAreaField(_l("Innocuous statement, true with a known probability"))
    p = DecimalField(_l("Probability that the innocuous statement is true"),
                     validators=[Optional(), NumberRange(0, 1)])
    p_truth = DecimalField(_l("Probability of answering truthfully"),
                           validators=[Optional(), NumberRange(0, 1)])
    p_forced_yes = DecimalField(_l("Probability of being told to answer yes"),
                                validators=[Optional(), NumberRange(0, 1)])
    p_forced_no = DecimalField(_l("Probability of being told to answer no"),
                               validators=[Optional(), NumberRange(0, 1)])


class SectionForm(FlaskForm):
    title = StringField(_l("Section title"), validators=[Length(max=200)])
    introduction = TextAreaField(_l("Section introduction"), validators=[Length(max=2000)])


class WaveForm(FlaskForm):
    opens_on = DateField(_l("Opens on"), validators=[InputRequired()])
    closes_on = DateField(_l("Last day"), validators=[InputRequired()])


class CodesForm(FlaskForm):
    units = SelectMultipleField(_l("Units"), choices=[], validators=[DataRequired()])
    count = IntegerField(_l("Codes per unit"), validators=[InputRequired(), NumberRange(1, 5000)])


class MailForm(FlaskForm):
    unit = SelectField(_l("Unit of these people"), choices=[])
    addresses = TextAreaField(
        _l("E-mail addresses, one per line (kept until the wave closes, for its reminders)"),
        validators=[DataRequired()])
