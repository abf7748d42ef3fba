"""Forms of the survey pages. The answers themselves are checked by surveys.services.

Respondents are anonymous: their forms carry a sessionless token (integrity.anonymous_forms).
"""

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from integrity.anonymous_forms import AnonymousForm


class CodeForm(AnonymousForm):
    code = StringField(
        _l("Access code"),
        validators=[DataRequired(message=_l("Type the code from your slip or e-mail.")),
                    Length(max=40)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
                   "maxlength": 40, "autocorrect": "off"},
    )


class AnswersForm(AnonymousForm):
    """The questionnaire: only the form token here; its fields follow the survey definition."""
