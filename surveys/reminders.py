"""Reminders of an open wave, e-mailed halfway through it and 2 days before it closes.

They go to the wave's recipients: the addresses its invitations were e-mailed to
(``Recipient``, stored by ``surveys.codes.email_codes``), kept for this until the wave closes
and then deleted (``surveys.waves.close_wave``). Nothing says who has answered, so every
reminder goes to every recipient, says so, and asks them to use the code of their invitation:
no code is sent again, and no code is linked to an address.

The scheduler's daily job calls ``claim_reminders`` (marks what falls due as sent, then its
caller commits) and ``send_reminders`` (sends, then its caller commits): a run that stops
half-way or a second run the same day sends nothing twice. An address that could not be
reached is tried once more at the next run, never more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from integrity import formatting
from integrity.config import Settings
from integrity.mail import Mailer, MailError
from surveys.codes import survey_link
from surveys.models import Recipient, Survey, Wave, WaveState

CLOSING_NOTICE_DAYS = 2  # the second reminder goes this many days before the closing day


@dataclass(frozen=True)
class Batch:
    """Reminders of one wave to send: to the recipients ``recipient_ids``; ``retry`` when
    they are the second try for addresses the last run could not reach."""

    wave_id: int
    recipient_ids: tuple[str, ...]
    retry: bool = False


@dataclass(frozen=True)
class Sending:
    sent: int
    failed: int


def halfway_day(wave: Wave) -> date:
    """The day of the first reminder: halfway between the opening and the closing day."""
    return wave.opens_on + (wave.closes_on - wave.opens_on) // 2


def closing_day(wave: Wave) -> date:
    """The day of the last reminder: ``CLOSING_NOTICE_DAYS`` before the closing day."""
    return wave.closes_on - timedelta(days=CLOSING_NOTICE_DAYS)


def _due(wave: Wave, today: date) -> list[str]:
    """The reminders of ``wave`` whose day has come and that were not sent yet. Only while
    the wave is open, and never on its first day (the invitations' day)."""
    if wave.state != WaveState.OPEN or today > wave.closes_on:
        return []
    due = []
    if not wave.halfway_reminded and wave.opens_on < halfway_day(wave) <= today:
        due.append("halfway")
    if not wave.closing_reminded and wave.opens_on < closing_day(wave) <= today:
        due.append("closing")
    return due


def claim_reminders(session: Session, today: date) -> list[Batch]:
    """Mark every reminder due ``today`` as sent, and the retries as tried; the batches to
    send once the caller has committed. Reminders late in coming (a job run late) still go
    while the wave is open; two due at once go as one message."""
    batches = []
    waves = session.scalars(select(Wave).where(Wave.state == WaveState.OPEN,
                                               Wave.closes_on >= today).order_by(Wave.id))
    for wave in waves:
        due = _due(wave, today)
        recipients = select(Recipient.id).where(Recipient.wave_id == wave.id)
        if not due:
            recipients = recipients.where(Recipient.retry.is_(True))
        ids = tuple(session.scalars(recipients.order_by(Recipient.id)))
        if due:
            wave.halfway_reminded = wave.halfway_reminded or "halfway" in due
            wave.closing_reminded = wave.closing_reminded or "closing" in due
        if ids:
            session.execute(update(Recipient).where(Recipient.id.in_(ids)).values(retry=False)
                            .execution_options(synchronize_session=False))
            batches.append(Batch(wave.id, ids, retry=not due))
    session.flush()
    return batches


def reminder_message(settings: Settings, title: str, closes_on: date, address: str,
                     language: str) -> EmailMessage:
    """The reminder, written in ``language`` (``title`` is the survey's in it): the closing
    day, the survey's address without a code, and why everyone gets it."""
    with force_locale(language):
        day = formatting.day(closes_on, "long")
        message = EmailMessage()
        message["From"] = settings.mail_sender
        message["To"] = address
        message["Subject"] = str(_l("Reminder: the survey “%(title)s” closes on %(day)s",
                                    title=title, day=day))
        message.set_content("\n\n".join(str(part) for part in (
            _l("The anonymous survey “%(title)s” is open until the end of %(day)s.",
               title=title, day=day),
            _l("To answer, open %(address)s and type the code from your invitation e-mail. "
               "This reminder carries no code: use the one you were sent.",
               address=survey_link(settings.public_url, language=language)),
            _l("If you have already answered, thank you: we cannot know who has, so this "
               "reminder goes to everyone."),
            _l("Your address is kept only to send the reminders of this survey round, and is "
               "deleted when it closes."),
        )) + "\n")
    message["Content-Language"] = language  # after the content, which resets such headers
    return message


def send_reminders(session: Session, settings: Settings, batches: list[Batch]) -> Sending:
    """Send the claimed reminders, one message per address and wave, in its language. An
    address that fails is counted, and kept for one more try unless this was its retry."""
    sent = failed = 0
    for batch in batches:
        wave = session.get(Wave, batch.wave_id)
        if wave is None or wave.state != WaveState.OPEN:
            continue  # closed meanwhile: its recipients are gone
        recipients: dict[str, list[Recipient]] = {}
        for recipient in session.scalars(select(Recipient).where(
                Recipient.id.in_(batch.recipient_ids)).order_by(Recipient.id)):
            recipients.setdefault(recipient.address.lower(), []).append(recipient)
        if not recipients:
            continue
        unreached = _send_batch(settings, wave.survey, wave.closes_on, recipients)
        sent += len(recipients) - len(unreached)
        failed += len(unreached)
        if not batch.retry:
            for key in unreached:
                for recipient in recipients[key]:
                    recipient.retry = True
    session.flush()
    return Sending(sent, failed)


def _send_batch(settings: Settings, survey: Survey, closes_on: date,
                recipients: dict[str, list[Recipient]]) -> list[str]:
    """Send to each address of ``recipients``; the keys of those not reached."""
    titles: dict[str, str] = {}
    delivered: set[str] = set()
    try:
        with Mailer(settings) as mailer:
            for key, rows in recipients.items():
                first = rows[0]
                if first.language not in titles:
                    titles[first.language] = survey.text("title", first.language)
                try:
                    mailer.send(reminder_message(settings, titles[first.language], closes_on,
                                                 first.address, first.language))
                except MailError:
                    continue
                delivered.add(key)
    except MailError:  # the mail server could not be reached: what was not sent waits
        pass
    return [key for key in recipients if key not in delivered]
