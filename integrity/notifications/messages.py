"""The e-mails of notifications, in the recipient's language.

An inspector's notice says how many things of each kind wait, and links to the workspace:
never a case, its reference, category, unit, channel or anything a reporter wrote. An
administrator's notice gives counts per channel.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from email.utils import make_msgid

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from integrity.config import Settings
from integrity.notifications.outbox import Kind

# The order lines appear in, most pressing first.
_ORDER = [Kind.CASE_EXPIRING, Kind.PERSON_REVIEW_DUE, Kind.ACKNOWLEDGE_OVERDUE,
          Kind.FEEDBACK_OVERDUE, Kind.MEETING_OVERDUE, Kind.ACKNOWLEDGE_SOON,
          Kind.FEEDBACK_SOON, Kind.MEETING_SOON, Kind.CASE_NEW, Kind.REPORTER_MESSAGE,
          Kind.CASE_SHARED, Kind.CASE_REMOVED]


def _line(kind: Kind, count: int) -> str:
    if kind is Kind.CASE_NEW:
        return ngettext("%(num)d new case was sealed to you.",
                        "%(num)d new cases were sealed to you.", count)
    if kind is Kind.REPORTER_MESSAGE:
        return ngettext("%(num)d new message from a reporter.",
                        "%(num)d new messages from reporters.", count)
    if kind is Kind.CASE_SHARED:
        return ngettext("A colleague shared %(num)d case with you.",
                        "Colleagues shared %(num)d cases with you.", count)
    if kind is Kind.CASE_REMOVED:
        return ngettext("A colleague took you off %(num)d case: you no longer read it.",
                        "Colleagues took you off %(num)d cases: you no longer read them.", count)
    if kind is Kind.ACKNOWLEDGE_SOON:
        return ngettext("%(num)d case must be acknowledged within 2 days.",
                        "%(num)d cases must be acknowledged within 2 days.", count)
    if kind is Kind.FEEDBACK_SOON:
        return ngettext("%(num)d case needs feedback to the reporter within 14 days.",
                        "%(num)d cases need feedback to the reporter within 14 days.", count)
    if kind is Kind.CASE_EXPIRING:
        return ngettext(
            "%(num)d case that was never closed will be deleted within 30 days, having "
            "reached the longest time its channel keeps an open case. Close it, or place it "
            "on legal hold if proceedings run.",
            "%(num)d cases that were never closed will be deleted within 30 days, having "
            "reached the longest time their channel keeps an open case. Close them, or place "
            "them on legal hold if proceedings run.", count)
    if kind is Kind.PERSON_REVIEW_DUE:
        return ngettext(
            "The deferred information of %(num)d person concerned by a case is due for "
            "review: inform them, or defer it again with its reasons.",
            "The deferred information of %(num)d persons concerned by cases is due for "
            "review: inform them, or defer it again with its reasons.", count)
    if kind is Kind.MEETING_SOON:
        return ngettext(
            "%(num)d reporter's request for a meeting or a call must be answered within 3 "
            "days.",
            "%(num)d reporters' requests for a meeting or a call must be answered within 3 "
            "days.", count)
    if kind is Kind.MEETING_OVERDUE:
        return ngettext(
            "%(num)d request for a meeting or a call was not answered in time: it is overdue.",
            "%(num)d requests for a meeting or a call were not answered in time: they are "
            "overdue.", count)
    if kind is Kind.ACKNOWLEDGE_OVERDUE:
        return ngettext("%(num)d case was not acknowledged in time: it is overdue.",
                        "%(num)d cases were not acknowledged in time: they are overdue.", count)
    return ngettext("%(num)d case did not get feedback in time: it is overdue.",
                    "%(num)d cases did not get feedback in time: they are overdue.", count)


def _message(settings: Settings, to: str, language: str, subject: str,
             paragraphs: Sequence[str], key: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_sender
    message["To"] = to
    message["Subject"] = subject
    # The same notices always make the same Message-ID, so that a notice sent again after a
    # crash between the server's acceptance and its recording is recognised as a duplicate.
    message["Message-ID"] = make_msgid(idstring=key, domain="integrity.invalid")
    message.set_content("\n\n".join(paragraphs) + "\n")
    message["Content-Language"] = language  # after the content, which resets such headers
    return message


def inspector_notice(settings: Settings, to: str, language: str, kinds: Iterable[str],
                     key: str) -> EmailMessage:
    """One e-mail for all of an inspector's notices due now (``kinds``, one per notice)."""
    counts = Counter(Kind(kind) for kind in kinds)
    workspace = settings.public_url.rstrip("/") + "/cases/"
    account = settings.public_url.rstrip("/") + "/staff/account"
    with force_locale(language):
        overdue = (counts[Kind.ACKNOWLEDGE_OVERDUE] + counts[Kind.FEEDBACK_OVERDUE]
                   + counts[Kind.MEETING_OVERDUE])
        subject = (_("Integrity: cases are overdue") if overdue
                   else _("Integrity: there is something to look at in your workspace"))
        paragraphs = [_line(kind, counts[kind]) for kind in _ORDER if counts[kind]]
        paragraphs += [
            _("Open your workspace to see them: %(link)s", link=workspace),
            _("For your safety and the reporters', this message never names a case nor says "
              "what it is about."),
            _("You choose how often you are told on “My account”: %(link)s (notices of "
              "overdue cases are always sent).", link=account),
        ]
        return _message(settings, to, language, subject, paragraphs, key)


def admin_summary(settings: Settings, to: str, language: str,
                  overdue: Sequence[tuple[str, int]], failing: int, key: str) -> EmailMessage:
    """Counts for an administrator: overdue cases per channel, notices the mail server did
    not take."""
    with force_locale(language):
        paragraphs = []
        if overdue:
            paragraphs.append(_("Overdue cases (acknowledgement or feedback late), per channel:")
                              + "\n" + "\n".join(
                                  "- " + ngettext("%(channel)s: %(num)d overdue case",
                                                  "%(channel)s: %(num)d overdue cases",
                                                  count, channel=name)
                                  for name, count in overdue))
        if failing:
            paragraphs.append(ngettext(
                "%(num)d notification could not be sent yet: the mail server refused it or "
                "could not be reached. It is kept and tried again.",
                "%(num)d notifications could not be sent yet: the mail server refused them or "
                "could not be reached. They are kept and tried again.", failing))
        paragraphs.append(_("The administration's overview shows the details: %(link)s",
                            link=settings.public_url.rstrip("/") + "/admin/"))
        return _message(settings, to, language, _("Integrity: daily summary for administrators"),
                        paragraphs, key)


def audit_failed(settings: Settings, to: str, language: str, entry: int,
                 key: str) -> EmailMessage:
    """The audit chain failed its nightly verification."""
    with force_locale(language):
        paragraphs = [
            _("Tonight's verification of the audit log found that its chain is broken: an "
              "entry was changed, removed or added outside the application."),
            _("The first entry that does not hold is number %(entry)d.", entry=entry),
            _("Check it with “integrity audit verify” and follow the procedure in the "
              "operations guide. Keep a copy of the database as it is now."),
        ]
        return _message(settings, to, language,
                        _("Integrity: the audit log failed its verification"), paragraphs, key)


def scheduler_down(settings: Settings, to: str, language: str, since: str,
                   key: str) -> EmailMessage:
    """No scheduler has held the lease for a while."""
    with force_locale(language):
        paragraphs = [
            _("No scheduler has run since %(time)s UTC. Until one runs again, survey waves do "
              "not open or close, notifications and deadline reminders are not sent, and "
              "cases past their retention period are not deleted.", time=since),
            _("Start “integrity scheduler” (or restart “integrity serve” where it runs the "
              "scheduler itself)."),
        ]
        return _message(settings, to, language, _("Integrity: the scheduler is not running"),
                        paragraphs, key)
