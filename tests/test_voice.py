"""Voice messages: the microphone is allowed on the report form and the mailbox only, the
recorder is the page script's (absent without JavaScript), and a voice message turned into a
written record leaves the transcript in the thread and deletes the recording with a tombstone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import crypto
from crypto.certificates import sign_inspector_key
from integrity.audit import AuditEntry
from integrity.models import Channel, Role, User
from integrity.reporting.models import Attachment, Message, MessageKind
from tests.helpers.reports import filed_report_id, open_reason, seal_reason
from tests.protocol2_client import Reporter2Client, inspector_message
from tests.protocol_client import Upload
from tests.test_redaction import ORG, _post, _report_file, _sealed

VOICE = b"\x1aE\xdf\xa3VOICE-RECORDING-MARKER" * 200


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"org_public_key": crypto.b64encode(ORG.public_key)}


@pytest.fixture
def inspector(db, make_account, channel):
    """The channel's only recipient, with a certified key."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    account = make_account(Role.INSPECTOR)
    pair = crypto.KeyPair.generate()
    user = db.get(User, account.id)
    user.public_key = pair.public_key
    user.key_certificate = sign_inspector_key(ORG, str(user.id), pair.public_key)
    ch.recipients.clear()
    ch.recipients.append(user)
    db.commit()
    return account, pair


def _policy(response) -> str:
    return response.headers.get("Permissions-Policy", "")


def test_the_microphone_is_allowed_on_the_report_form_and_the_mailbox_only(
    client, channel
) -> None:
    for url in (f"/report/{channel.slug}", "/mailbox"):
        response = client.get(url)
        assert response.status_code == 200
        assert "microphone=(self)" in _policy(response), url
        assert "camera=()" in _policy(response)
    for url in ("/", "/report", "/rights", "/staff/login", f"/report/{channel.slug}/rights"):
        response = client.get(url)
        assert "microphone=()" in _policy(response), url
        assert "microphone=(self)" not in _policy(response), url
    assert "media-src blob:" in client.get("/mailbox").headers["Content-Security-Policy"]


def test_the_recorder_is_not_in_the_pages_without_javascript(client, channel) -> None:
    for url in (f"/report/{channel.slug}", "/mailbox"):
        page = client.get(url).get_data(as_text=True)
        assert 'class="voice-recorder"' not in page and "<audio" not in page
        assert ">Record<" not in page


@pytest.fixture
def voice_case(app, client, login, channel, inspector):
    """A protocol 2 report whose reporter also sent a voice message (an audio file)."""
    reporter = Reporter2Client(app.test_client(), ORG.public_key, check_floors=False)
    filed = reporter.file(channel.slug, {"what": "Spoken report"},
                          uploads=[Upload("voice-message.webm", "audio/webm", VOICE)])
    login(inspector[0])
    return reporter, filed, filed_report_id(app, filed)


def test_a_voice_message_becomes_a_record_and_the_recording_is_deleted(
    app, db, client, voice_case, inspector
) -> None:
    reporter, filed, report_id = voice_case
    account, pair = inspector
    attachment_id = _report_file(db, report_id).id
    store = app.extensions["integrity.attachments"]
    assert store.exists(attachment_id)
    sealed = _sealed(client, report_id)
    message = inspector_message(sealed, pair.secret_key, str(account.id),
                                "Transcript: the tanker is emptied at 2 a.m.")
    url = f"/cases/{report_id}/voice/{attachment_id}/transcribe"
    reason = seal_reason(sealed, "Transcribed.")
    # Without the transcript, or with a reason in clear, nothing happens.
    assert _post(client, url, {"reason": reason}).status_code == 400
    assert _post(client, url, {"reason": "Transcribed.", "message": message}).status_code == 400
    assert store.exists(attachment_id)
    response = _post(client, url, {"reason": reason, "message": message})
    assert response.status_code == 201, response.get_data(as_text=True)
    db.expire_all()
    assert db.get(Attachment, attachment_id) is None and not store.exists(attachment_id)
    record = db.scalar(select(Message).where(Message.report_id == report_id))
    assert record.kind == MessageKind.RECORD
    actions = [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    assert actions[-3:] == ["message_sent", "attachment_deleted", "voice_transcribed"]
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "voice_transcribed"))
    assert entry.facts == {"attachment": attachment_id, "message": record.id}
    # The reporter reads the transcript, a record, and sees the recording's tombstone.
    box = reporter.mailbox(filed.receipt)
    assert box["messages"][0]["kind"] == "record"
    assert box["messages"][0]["document"]["text"] == "Transcript: the tanker is emptied at 2 a.m."
    assert all(check.intact for check in box["checks"])
    assert box["tombstones"][0]["kind"] == "attachment"
    assert "reason" not in box["tombstones"][0]
    data = _sealed(client, report_id)
    assert open_reason(data, data["tombstones"][0], pair) == "Transcribed."
    # A second transcription of the same recording finds nothing.
    again = inspector_message(_sealed(client, report_id), pair.secret_key, str(account.id), "x")
    assert _post(client, url, {"reason": reason, "message": again}).status_code == 404
    assert crypto.b64decode(message["payload"])  # sealed in the browser, never in clear
