"""The sentences the reporter page scripts show, translated on the server and handed to the
page as JSON (``data-strings``); placeholders such as %(label)s are filled in by the script."""

from __future__ import annotations

from babel import Locale
from flask_babel import get_locale, ngettext, pgettext
from flask_babel import gettext as _

from integrity.cases.retaliation_strings import (
    case_protection_strings,
    mailbox_retaliation_strings,
)
from integrity.config import Settings
from integrity.i18n import SUPPORTED_LANGUAGES
from integrity.reporting.record_strings import oral_page_strings, record_strings
from integrity.reporting.voice_strings import (
    redaction_strings,
    reporter_tombstones,
    voice_strings,
)


def _shared(settings: Settings) -> dict[str, str]:
    return {
        "tooManyFiles": ngettext("A report or message takes at most %(count)d attachment.",
                                 "A report or message takes at most %(count)d attachments.",
                                 settings.max_attachments, count=settings.max_attachments),
        "fileTooLarge": _("The file “%(name)s” is larger than the %(size)s this server accepts "
                          "for one file."),
        "network": _("The server could not be reached. Check your connection and try again."),
        "server": _("The server could not handle the request (error %(status)s). Please try "
                    "again later."),
        "files": _("Files (optional)"),
        # Sending files (static/js/uploads.mjs): sealing, bytes sent, a lost connection.
        "sealingFile": _("Sealing “%(name)s”…"),
        "uploading": _("Sending: %(sent)s of %(total)s"),
        "retrying": _("Connection lost: trying again in %(seconds)s s…"),
    }


def _cleaning() -> dict[str, str]:
    """What the file pickers say about each file's hidden details (static/js/file-checks.mjs)."""
    return {
        "found_gps": _("GPS position"),
        "found_camera": _("camera or phone model"),
        "found_date": _("dates and times"),
        "found_author": _("author's name"),
        "found_company": _("company name"),
        "found_software": _("software used"),
        "found_other": _("other hidden details"),
        "fileCleaned": _("Found and removed: %(details)s."),
        "fileClean": _("No hidden details found."),
        "fileUnchecked": _("This kind of file is not checked for hidden details."),
        "fileFailed": _("This file may carry hidden details that cannot be removed here. It is "
                        "sent only if you tick the box below."),
        "keepFile": _("Send this file as it is, with its details"),
        "keepChosen": _("“%(name)s” must be left out or sent as it is: it may carry hidden "
                        "details that cannot be removed here. Tick “Send this file as it is” to "
                        "send it, or choose other files."),
        # Also beside the file pickers of templates/reporting/form.html and mailbox.html.
        "cleanHint": _("Photos and documents can carry hidden details: where and when a photo "
                       "was taken, the phone model, a document's author. They are removed before "
                       "your files are sealed, unless you choose to send a file as it is."),
    }


def _floors() -> dict[str, str]:
    """The refusals of installation parameters below the client's floors (static/js/floors.mjs,
    docs/protocol.md "Floors"), keyed ``floor_<parameter>``."""
    return {
        "floor_opslimit": _("The server asks for an Argon2id cost below 3 passes, which this "
                            "client refuses."),
        "floor_memlimit": _("The server asks for less than 64 MiB of Argon2id memory, which this "
                            "client refuses."),
        "floor_padBlock": _("The server asks for a padding block below 1024 bytes, which this "
                            "client refuses."),
    }


def _damaged() -> dict[str, str]:
    """What the mailbox and the case page show in place of a document that does not open."""
    return {
        "damagedReport": _("This report could not be opened: it was altered or damaged."),
        "damagedMessage": _("This message could not be opened: it was altered or damaged."),
        "damagedFile": _("This file could not be opened: it was altered or damaged."),
    }


def _thread() -> dict[str, str]:
    """How the mailbox and the case page show a protocol 2 report's messages and readers
    (static/js/thread-view.mjs)."""
    return {
        "notAuthentic": _("Not authentic: this message may have been forged or moved from "
                          "another case."),
        "replayed": _("Listed again (a replayed copy)."),
        "missingBefore": _("A message before this one is missing."),
        "outOfOrder": _("Listed out of order."),
        "conflicting": _("Conflicting message: another message was listed in its place."),
        "threadIntact": _("Authentic: every message is as its writer sent it, in its place."),
        "routeAltered": _("Warning: the channel, category or unit stored for this case is not "
                          "the one the reporter chose when sending it."),
        "threadAltered": _("Warning: some messages are not as they were sent. See the marks "
                           "beside them."),
        "protocol1": _("Not authenticated (sent with protocol 1)."),
        "readersHeading": _("Who can read this case"),
        "readersAsRecorded": _("As recorded when the report was sent."),
        "readersAlarm": _("Warning: who can read this case is not as recorded when the report "
                          "was sent."),
        "readerFingerprint": _("%(name)s (key %(fingerprint)s)"),
        "inspectorNumber": _("Inspector no. %(id)s"),
        "reader_uncertified": _("%(name)s: their key is not certified by the organisation; it "
                                "may have been substituted."),
        "reader_excluded_reader": _("%(name)s was left out when the report was sent, but can "
                                    "read it now."),
        "reader_key_changed": _("%(name)s reads it with another key than the one recorded."),
        "reader_unrecorded": _("%(name)s was added without any record in the conversation."),
        "reader_shared": _("%(name)s was added when an inspector shared the case."),
        "reader_removed": _("%(name)s no longer reads it."),
        "reader_recovery_added": _("A recovery key was added."),
        "reader_recovery_changed": _("The recovery key was replaced."),
        "reader_recovery_removed": _("The recovery key was removed."),
        "recoveryUncertified": _("The recovery key is not certified by the organisation."),
        "shareMessage": _("The case was shared with %(name)s."),
        "readersUnsafe": _("Not sent: a reader's key is not certified by the organisation (see "
                           "“Who can read this case”)."),
    }


def _kinds() -> dict[str, str]:
    """The labels of the inspectors' messages that are feedback or a final notice (the kind
    is clear on the server, not secret), on the mailbox and the case page."""
    return {
        "kind_feedback": pgettext("message kind", "Feedback"),
        "kind_final_notice": pgettext("message kind", "Final notice"),
        "kind_record": pgettext("message kind", "Record"),
        **record_strings(),
    }


def outcome_sentences() -> dict[str, str]:
    """``outcome_<outcome>``: what a closed case's outcome means, in the reporter's words."""
    return {
        "outcome_substantiated": _("Case closed: the facts you reported were confirmed."),
        "outcome_partly_substantiated": _("Case closed: some of the facts you reported were "
                                          "confirmed."),
        "outcome_unsubstantiated": _("Case closed: the facts you reported could not be "
                                     "confirmed."),
        "outcome_not_in_scope": _("Case closed: what you reported is not a matter this service "
                                  "deals with."),
    }


def _answer_words() -> dict[str, str]:
    """How a yes/no answer reads on the mailbox and the case page (static/js/answers.mjs)."""
    return {"yes": _("Yes"), "no": _("No")}


def report_strings(settings: Settings) -> dict[str, str]:
    return {
        **_shared(settings),
        **_cleaning(),
        **_floors(),
        **voice_strings(),
        "preparing": _("Preparing your receipt…"),
        "pow": _("Proving this is not an automated flood…"),
        "sealing": _("Sealing your report…"),
        "sending": _("Sending your report…"),
        "required": _("Please answer “%(label)s”."),
        "notDate": _("“%(label)s” is not a date."),
        "noneLeft": _("At least one inspector must remain to receive the report."),
        "noCertified": _("No inspector of this channel has a key certified by the organisation, "
                         "so the report cannot be sealed here."),
        "closed": _("This channel does not take reports at the moment. Please try again later."),
        "failed": _("Your report could not be sealed on this device. Please try again."),
    }


def mailbox_strings(settings: Settings) -> dict[str, str]:
    return {
        **mailbox_retaliation_strings(),
        **_shared(settings),
        **_cleaning(),
        **_answer_words(),
        **_floors(),
        **_damaged(),
        **_thread(),
        **_kinds(),
        **outcome_sentences(),
        **voice_strings(),
        **reporter_tombstones(),
        "opening": _("Opening your mailbox…"),
        "openingFile": _("Opening the file…"),
        "sendingReply": _("Sealing and sending your message…"),
        "receiptInvalid": _("A receipt has exactly 20 digits."),
        "statusLabel": _("Status"),
        "sentOn": _("Sent on"),
        "yourReport": _("Your report"),
        "messages": _("Messages"),
        "you": _("You"),
        "inspector": _("Inspector"),
        "noMessages": _("No messages yet."),
        "write": _("Write to the inspectors"),
        "yourMessage": _("Your message"),
        "send": _("Send"),
        "download": _("Download %(name)s"),
        "emptyReply": _("Write a message or attach a file."),
        "sent": _("Your message was sent."),
        "status_new": _("Received, not yet acknowledged"),
        "status_acknowledged": _("Acknowledged"),
        "status_in_progress": _("Being looked into"),
        "status_closed": pgettext("case status", "Closed"),
        "failed": _("Your mailbox could not be opened on this device. Please try again."),
        "closeMailbox": _("Close the mailbox"),
        "closeHint": _("On a shared device, close the mailbox when you are done: this page then "
                       "forgets your receipt and the conversation."),
        "mailboxClosed": _("The mailbox is closed. This page no longer holds your receipt or the "
                           "conversation."),
    }


def case_strings(settings: Settings) -> dict[str, str]:
    """The inspector's case page (static/js/case.mjs)."""
    return {
        **case_protection_strings(),
        **_shared(settings),
        **_answer_words(),
        **_damaged(),
        **_thread(),
        **_kinds(),
        **redaction_strings(),
        "shareFingerprint": _("Key fingerprint of %(name)s: %(fingerprint)s. Compare it with the "
                              "one they read to you."),
        "shareUncertified": _("Not shared: this inspector's key is not certified by the "
                              "organisation."),
        "reporter": _("Reporter"),
        "inspector": _("Inspector"),
        "note": _("Internal note"),
        "locked": _("This browser does not hold your unlocked key: sign out and sign in again "
                    "with JavaScript on."),
        "failed": _("The case could not be opened with your key."),
        "wrongKeyFile": _("This key file is not the key of your account."),
        "badKeyFile": _("This file is not a key file of this system, or its passphrase does not "
                        "open it."),
        "wrongPassphrase": _("This passphrase does not unlock your key. Check it and try again."),
        "unlockLimited": _("Too many sign-in requests came from this network just now: wait a "
                           "minute and try again."),
        "download": _("Save %(name)s"),
        "unlocking": _("Opening the file…"),
        "sending": _("Sealing and sending…"),
        "sharing": _("Sealing the case to the inspector…"),
        "empty": _("Write a message or attach a file."),
        "emptyNote": _("Write the note."),
        "sent": _("Your message was sent to the reporter."),
        "sentFeedback": _("Your feedback was sent to the reporter."),
        "sentFinalNotice": _("Your final notice was sent to the reporter."),
        "sentAndClosed": _("Your final notice was sent to the reporter and the case was "
                           "closed."),
        "noted": _("The note was saved."),
        "shared": _("The case was shared with %(name)s."),
        "chooseInspector": _("Choose an inspector."),
        "shareReason": _("Say why you share the case."),
        "noFiles": _("No files."),
        "writtenIn": _("Written in"),
        **language_names(),
    }


def oral_strings(settings: Settings) -> dict[str, str]:
    """The page where an inspector records an oral report (static/js/oral.mjs)."""
    return {**_shared(settings), **_floors(), **oral_page_strings()}


def language_names() -> dict[str, str]:
    """``language_<code>``: each supported language's name in the page's language, for the
    language a report was written in."""
    here = str(get_locale())
    names = {}
    for code in SUPPORTED_LANGUAGES:
        name = Locale.parse(code).get_display_name(here) or code
        names[f"language_{code}"] = name[:1].upper() + name[1:]
    return names
