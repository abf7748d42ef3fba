"""Forms of the dashboard: filters (read-only, no token needed), campaigns, report, posters."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import MonthField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from integrity.dashboard.kpis import Dimension, Granularity, KpiQuery, Period, Scope
from integrity.models import CampaignKind

KIND_NAMES = {CampaignKind.POSTERS.value: _l("Posters"),
              CampaignKind.TRAINING.value: _l("Training"),
              CampaignKind.E_LEARNING.value: _l("E-learning"),
              CampaignKind.LEADERSHIP.value: _l("Messages from leadership")}


def choices(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices (labels made text in the current language)."""
    return [SelectChoice(str(value), str(label)) for value, label in pairs]


def _granularities() -> list[SelectChoice]:
    return choices([(Granularity.QUARTER.value, _l("Quarter")),
                    (Granularity.MONTH.value, _l("Month"))])


def _dimensions() -> list[SelectChoice]:
    return choices([(Dimension.UNIT.value, _l("Unit")), (Dimension.CHANNEL.value, _l("Channel")),
                    (Dimension.CATEGORY.value, _l("Category"))])


def _everything() -> list[SelectChoice]:
    return choices([("", _l("the whole organisation"))])
MAX_PERIODS = 60


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (easier on a phone than a multiple select)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class FilterForm(FlaskForm):
    """Which reports the figures cover; read from the query string."""

    class Meta:
        csrf = False

    granularity = SelectField(_l("Periods"), choices=_granularities,
                              default=Granularity.QUARTER.value)
    start = MonthField(_l("From"), validators=[Optional()])
    end = MonthField(_l("To"), validators=[Optional()])
    scope = SelectField(_l("Reports of"), choices=_everything,
                        default="", validate_choice=False)
    dimension = SelectField(_l("Broken down by"), choices=_dimensions,
                            default=Dimension.UNIT.value)

    def set_scopes(self, scopes: list[tuple[str, str]]) -> None:
        self.scope.choices = _everything() + choices(scopes)

    def query(self, today: date) -> KpiQuery:
        """The query the form asks for; anything unreadable falls back to the recent periods."""
        valid = self.validate()
        granularity = Granularity(self.granularity.data) if self.granularity.data in {
            g.value for g in Granularity} else Granularity.QUARTER
        recent = KpiQuery.recent(today, granularity)
        start = self.start.data if valid and self.start.data else recent.start
        end = self.end.data if valid and self.end.data else recent.end
        first, last = Period.of(granularity, min(start, end)), Period.of(granularity,
                                                                         max(start, end))
        query = KpiQuery(granularity, first.start, last.end)
        if len(query.periods) > MAX_PERIODS:
            query = KpiQuery(granularity, query.periods[-MAX_PERIODS].start, last.end)
        self.start.data, self.end.data = query.start, query.end
        known = {choice.value for choice in self.scope.choices}  # type: ignore[union-attr]
        scope = Scope.parse(self.scope.data) if self.scope.data in known else None
        return query.with_scope(scope)

    def chosen_dimension(self) -> Dimension:
        value = self.dimension.data
        return Dimension(value) if value in {d.value for d in Dimension} else Dimension.UNIT


class CampaignForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=lambda: choices(KIND_NAMES.items()))
    starts_on = DateField(_l("First day"), validators=[DataRequired()])
    ends_on = DateField(_l("Last day"), validators=[DataRequired()])
    units = CheckboxesField(_l("Target units"), coerce=int,
                            validators=[DataRequired(_l("Choose at least one target unit."))])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)],
                         description=_l("What was done, by whom, how many people it reached. "
                                        "No names of reporters or cases."))

    def validate_ends_on(self, field: Any) -> None:
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("A campaign cannot end before it starts."))


class ReportForm(FlaskForm):
    """The PDF integrity report: which periods and which reports."""

    granularity = SelectField(_l("Periods"), choices=_granularities,
                              default=Granularity.QUARTER.value)
    start = MonthField(_l("From"), validators=[DataRequired()])
    end = MonthField(_l("To"), validators=[DataRequired()])
    scope = SelectField(_l("Reports of"), choices=_everything,
                        default="", validate_choice=False)
    survey = SelectField(_l("Survey"), choices=lambda: choices([("", _l("none"))]), default="",
                         validate_choice=False)


class PosterForm(FlaskForm):
    class Meta:
        csrf = False

    channel = SelectField(_l("Channel"), validators=[DataRequired()])
    language = SelectField(_l("Language"))
    size = SelectField(_l("Paper"), choices=lambda: choices([("A4", "A4"), ("A3", "A3")]),
                       default="A4")
