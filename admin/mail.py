"""Messages the administration sends: a test of the mail settings, and set-up links."""

from __future__ import annotations

from email.message import EmailMessage

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from integrity.config import Settings
from integrity.i18n import language_of
from integrity.mail import Mailer, MailError
from integrity.models import User

__all__ = ["MailError", "send_setup_link", "send_test_message"]


def _send(settings: Settings, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.mail_sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with Mailer(settings, timeout=15) as mailer:
        mailer.send(message)


def send_test_message(settings: Settings, to: str) -> None:
    """A short message through the configured mail server; MailError says what failed."""
    _send(settings, to, _("Integrity: test message"),
          _("This message was sent from the settings page to check the mail settings "
            "(%(host)s, port %(port)d). Nothing needs to be done.",
            host=settings.mail_host, port=settings.mail_port))


def send_setup_link(settings: Settings, user: User, link: str, hours: int) -> None:
    """The set-up link, to the invitee's own address, in their language (not the sender's)."""
    with force_locale(language_of(user)):
        _send(settings, user.email, _("Integrity: set up your account"),
              ngettext("Hello %(name)s,\n\nAn administrator created an account for you. Open this "
                       "link to choose your passphrase and set up your sign-in (it works once, for "
                       "%(hours)d hour):\n\n%(link)s\n\nIf you did not expect this message, tell "
                       "your administrator and do not open the link.",
                       "Hello %(name)s,\n\nAn administrator created an account for you. Open this "
                       "link to choose your passphrase and set up your sign-in (it works once, for "
                       "%(hours)d hours):\n\n%(link)s\n\nIf you did not expect this message, tell "
                       "your administrator and do not open the link.",
                       hours, name=user.name, hours=hours, link=link))
