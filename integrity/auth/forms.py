"""Sign-in and account forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from integrity.auth.services import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    # With the page's script, the login value split from the passphrase on the device (the
    # passphrase itself is typed into a field without a name, which browsers never send);
    # on the form without JavaScript, the passphrase of an administrator or a manager.
    password = PasswordField(_l("Passphrase"), validators=[
        DataRequired(message=_l("Enter your passphrase.")), Length(max=1024)])
    next = HiddenField()
    # Set to "1" by the page's script when ``password`` holds the derived login value.
    derived = HiddenField()


class CodeForm(FlaskForm):
    code = StringField(
        _l("Six-digit code from your authenticator app"),
        validators=[
            DataRequired(),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("Enter six digits.")),
        ],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7},
    )


class PasswordChangeForm(FlaskForm):
    # With the page's script: "1", and the fields hold derived values (docs/inspector-keys.md).
    derived = HiddenField()
    new_salt = HiddenField()
    new_wrapped_key = HiddenField()
    current = PasswordField(_l("Current passphrase"), validators=[DataRequired()])
    new = PasswordField(
        _l("New passphrase"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New passphrase again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passphrases differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons such as sign out."""


class SetupForm(FlaskForm):
    """The first passphrase, chosen on the page a set-up link opens."""

    # With the page's script: "1", ``new`` and ``confirm`` hold the derived login value.
    derived = HiddenField()
    new_salt = HiddenField()
    new = PasswordField(
        _l("Passphrase"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Passphrase again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passphrases differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class NotificationsForm(FlaskForm):
    """How an inspector is told of new cases, reporters' messages and approaching deadlines."""

    notify = RadioField(_l("Tell me by e-mail"), choices=[
        SelectChoice("batch", _l("At each of the day's fixed sending times")),
        SelectChoice("digest", _l("Once a day, in a digest")),
        SelectChoice("none", _l("Never (except for overdue cases)")),
    ], validators=[DataRequired()])
    digest_hour = SelectField(_l("Hour of the daily digest (UTC)"), choices=[
        SelectChoice(str(hour), f"{hour:02d}:00") for hour in range(24)])
