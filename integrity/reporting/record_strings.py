"""The sentences of records to agree and of requests for a meeting or a call, as the mailbox
(static/js/mailbox.mjs) and the case page (static/js/case.mjs) show them, from
static/js/records-view.mjs."""

from __future__ import annotations

from flask_babel import gettext as _


def record_strings() -> dict[str, str]:
    """Keys of ``RECORD_STRINGS`` in static/js/records-view.mjs."""
    return {
        "recordQuestion": _("Do you agree that this record is accurate?"),
        "recordAgree": _("I agree"),
        "recordCorrect": _("Correct it"),
        "recordAgreedYou": _("You agreed on %(day)s that this record is accurate."),
        "recordCorrectedYou": _("You sent a correction on %(day)s."),
        "recordAgreedThanks": _("Thank you: your agreement was recorded."),
        "correctsLegend": _("A correction of a record (optional)"),
        "correctsNone": _("No: an ordinary message"),
        "correctsRecord": _("It corrects the record of %(day)s"),
        "meetingAsk": _("I ask for a meeting or a call with an inspector"),
        "meetingHint": _("Write in your message when and how you can be reached. The server "
                         "sees only that you asked, and on which day."),
        "meetingLabel": _("Meeting or call"),
        "meetingAsked": _("You asked on %(day)s."),
        "meeting_requested": _("The inspectors answer by %(day)s."),
        "meeting_arranged": _("It was arranged."),
        "meeting_held": _("It was held."),
        "meeting_declined": _("It was declined: the inspectors' message says why."),
        "recordAwaiting": _("Awaiting the reporter's agreement"),
        "recordAgreed": _("Agreed by the reporter on %(day)s"),
        "recordCorrected": _("Corrected by the reporter on %(day)s"),
        "sentRecord": _("Your record was sent to the reporter, who is asked to agree it."),
        "oralMinutes": _("Minutes of the oral report"),
    }


def oral_page_strings() -> dict[str, str]:
    """Keys of ``STRINGS`` in static/js/oral.mjs."""
    return {
        "emptyMinutes": _("Write the minutes or the transcript."),
        "chooseChannel": _("Choose a channel."),
        "preparing": _("Drawing the reporter's receipt…"),
        "sealing": _("Sealing the report and the record…"),
        "sending": _("Sending…"),
        "noCertified": _("No inspector of this channel has a key certified by the organisation, "
                         "so the report cannot be sealed here."),
        "closed": _("This channel does not take reports at the moment."),
        "failed": _("The oral report could not be sealed in this browser. Nothing was sent."),
    }
