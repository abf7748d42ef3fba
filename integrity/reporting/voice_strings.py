"""The sentences of the voice recorder (report form and mailbox), of tombstones (mailbox and
case page) and of deleting, redacting and transcribing on the case page, translated on the
server and handed to the page scripts as JSON (static/js/voice.mjs, case-redaction.mjs)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import pgettext


def voice_strings() -> dict[str, str]:
    """The voice recorder of the report form and the mailbox."""
    return {
        "voiceHeading": _("Voice message (optional)"),
        "voiceWarning": _("A voice can identify you, even if you never say your name. Writing "
                          "is safer: if you can, type your message instead."),
        "voiceRecord": pgettext("voice recorder", "Record"),
        "voiceStop": pgettext("voice recorder", "Stop"),
        "voiceDiscard": _("Discard the recording"),
        "voicePlayer": _("Your recording"),
        "voiceRecording": _("Recording… %(time)s"),
        "voiceKept": _("Recorded: %(time)s. It will be sealed and sent with your files."),
        "voiceDiscarded": _("The recording was discarded."),
        "voiceDenied": _("The microphone could not be used. You can write your message "
                         "instead."),
        # A file name: letters, digits and hyphens only.
        "voiceFileName": _("voice-message"),
    }


def reporter_tombstones() -> dict[str, str]:
    """What the reporter's mailbox shows where an inspector deleted or redacted (never why)."""
    return {
        "fileDeleted": _("A file was deleted on %(day)s by %(name)s."),
        "messageDeleted": _("A message was deleted on %(day)s by %(name)s."),
        "passageRemoved": _("A passage was removed on %(day)s by %(name)s."),
    }


def redaction_strings() -> dict[str, str]:
    """Deleting, redacting and transcribing on the case page, and its tombstones."""
    return {
        "fileDeleted": _("A file was deleted on %(day)s by %(name)s: %(reason)s"),
        "messageDeleted": _("A message was deleted on %(day)s by %(name)s: %(reason)s"),
        "passageRemoved": _("A passage was removed on %(day)s by %(name)s: %(reason)s"),
        # A tombstone whose reason this inspector cannot open: the reporter's sentences.
        **{f"{key}NoReason": text for key, text in reporter_tombstones().items()},
        "reasonDamaged": _("Its reason could not be opened: it was altered or damaged."),
        "removedMarker": _("[removed]"),
        "redactSummary": _("Delete or remove a passage"),
        "redactHint": _("Select the passage to remove in the copy below (with the mouse, or "
                        "with Shift and the arrow keys), then remove it. The message is sealed "
                        "again with the marker “[removed]” in its place. Or delete the whole "
                        "message and its files."),
        "redactCopy": _("Copy of the message"),
        "deleteReason": _("Why (only the case's inspectors see it, never the reporter)"),
        "removePassage": _("Remove the selected passage"),
        "deleteMessage": _("Delete the whole message"),
        "selectPassage": _("Select the passage to remove first."),
        "fileDeleteSummary": _("Delete this file"),
        "deleteFile": _("Delete the file for good"),
        "giveReason": _("Say why it is deleted."),
        "deletedMessage": _("The message was deleted."),
        "removedPassage": _("The passage was removed."),
        "deletedFile": _("The file was deleted."),
        "play": _("Play the voice message"),
        "voiceLabel": _("Voice message"),
        "transcribeSummary": _("Transcribe, then delete the recording"),
        "transcribeHint": _("Type what the reporter says. The transcript is sent to the "
                            "reporter as a record they can check and agree; then the recording "
                            "is deleted for good."),
        "transcript": _("Transcript"),
        "transcribeReason": _("Transcribed: the record replaces the recording."),
        "transcribe": _("Send the transcript and delete the recording"),
        "emptyTranscript": _("Type the transcript first."),
        "transcribed": _("The transcript was sent to the reporter and the recording was "
                         "deleted."),
    }
