"""Outgoing mail over SMTP with the installation's mail settings (``INTEGRITY_MAIL_*``)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from types import TracebackType

from integrity.config import Settings


class MailError(Exception):
    """A message could not be handed to the mail server."""


class Mailer:
    """One SMTP connection for a batch of messages: ``with Mailer(settings) as m: m.send(...)``.

    Nothing is logged: recipients of survey codes must not be recorded anywhere.
    """

    def __init__(self, settings: Settings, timeout: float = 30) -> None:
        self.settings = settings
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        s = self.settings
        try:
            smtp: smtplib.SMTP
            if s.mail_tls:
                smtp = smtplib.SMTP_SSL(s.mail_host, s.mail_port, timeout=self.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.mail_host, s.mail_port, timeout=self.timeout)
            if s.mail_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.mail_username:
                smtp.login(s.mail_username, s.mail_password)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"cannot reach the mail server {s.mail_host}:{s.mail_port}: "
                            f"{exc.__class__.__name__}") from exc
        self._smtp = smtp
        return self

    def send(self, message: EmailMessage) -> None:
        """Hand one message to the server; MailError if it refuses it."""
        if self._smtp is None:
            raise MailError("the mailer is not connected")
        # Headers folded at 78 characters lose the space between two encoded words (Python's
        # folder splits "есть просроченные" into two words with no space inside either): a
        # subject in Russian or Arabic would reach the reader with words run together. Up to
        # RFC 5322's 998 characters, a header stays whole.
        message.policy = message.policy.clone(max_line_length=998)
        try:
            refused = self._smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(exc.__class__.__name__) from exc
        if refused:
            raise MailError("recipient refused")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None
