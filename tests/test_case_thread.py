"""The case page's data and the inspectors' messages, driven by a Python client that seals as
the inspector's browser will: the server hands out ciphertext and the caller's slots only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import crypto
from integrity.audit import verify
from integrity.models import Channel, Role, User
from tests.conftest import csrf_token
from tests.helpers.reports import first_case, open_item, seal_item
from tests.protocol_client import ReporterClient, Upload

ANSWERS = {"what": "Fuel tankers cross at night with no seal check."}


@pytest.fixture
def keyed_inspectors(db, make_account, channel):
    """Two inspectors who sign in, each with a key pair, recipients of the channel."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    result = []
    for _ in range(2):
        account = make_account(Role.INSPECTOR)
        pair = crypto.KeyPair.generate()
        user = db.get(User, account.id)
        user.public_key = pair.public_key
        ch.recipients.append(user)
        result.append((account, pair))
    db.commit()
    return result


def test_inspector_reads_replies_and_writes_notes_the_reporter_never_sees(
    app, client, login, channel, keyed_inspectors, db
) -> None:
    (first, first_pair), (second, second_pair) = keyed_inspectors
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS,
                          uploads=[Upload("seal.jpg", "image/jpeg", b"\xff\xd8" + bytes(500))])
    login(first)
    report_id = first_case(client)
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    # Only this inspector's own slot is handed out, and it opens the report.
    document = open_item(data, data["report"], first_pair)
    assert document["answers"] == ANSWERS
    with pytest.raises(crypto.DecryptionError):
        open_item(data, data["report"], second_pair)
    token = csrf_token(client, f"/cases/{report_id}")
    headers = {"X-CSRFToken": token}
    reply = seal_item(data, {"text": "Thank you. Which night of the week?", "attachments": []},
                      note=False)
    assert client.post(f"/cases/{report_id}/messages", json=reply,
                       headers=headers).status_code == 201
    note = seal_item(data, {"text": "Check the night shift roster.", "attachments": []}, note=True)
    assert client.post(f"/cases/{report_id}/notes", json=note, headers=headers).status_code == 201
    # A note sealed to the reporter, or a reply missing them, is refused.
    bad = seal_item(data, {"text": "x", "attachments": []}, note=False)
    response = client.post(f"/cases/{report_id}/notes", json=bad, headers=headers)
    assert response.status_code == 400 and "must not have one" in response.get_json()["error"]
    # Without the form token in the header, nothing is accepted.
    assert client.post(f"/cases/{report_id}/messages", json=reply).status_code == 400

    box = reporter.mailbox(filed.receipt)
    assert [m["document"]["text"] for m in box["messages"]] == [
        "Thank you. Which night of the week?"]
    assert all(m["from"] == "inspector" for m in box["messages"])
    db.expire_all()
    from integrity.reporting.models import Report

    report = db.get(Report, report_id)
    assert report.status == "acknowledged" and report.feedback_on is not None
    # The other inspector of the case opens the reply and the note with their own slots.
    other = app.test_client()
    from tests.helpers.pages import sign_in

    sign_in(other, second)
    data2 = other.get(f"/cases/{report_id}/sealed").get_json()
    texts = [open_item(data2, m, second_pair)["text"] for m in data2["messages"]]
    assert texts == ["Thank you. Which night of the week?", "Check the night shift roster."]
    assert [m["from"] for m in data2["messages"]] == ["inspector", "note"]
    assert verify(db).ok


def test_note_attachments_are_not_handed_to_the_reporter(app, client, login, channel,
                                                         keyed_inspectors) -> None:
    (first, _), _ = keyed_inspectors
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    login(first)
    report_id = first_case(client)
    data = client.get(f"/cases/{report_id}/sealed").get_json()
    upload_id, entry = reporter.upload(Upload("roster.pdf", "application/pdf", b"%PDF-1.4"))
    note = seal_item(data, {"text": "Roster attached.", "attachments": [entry]}, note=True)
    note["attachments"] = [upload_id]
    token = csrf_token(client, f"/cases/{report_id}")
    assert client.post(f"/cases/{report_id}/notes", json=note,
                       headers={"X-CSRFToken": token}).status_code == 201
    keys = reporter.derive(filed.receipt)
    with reporter.http.post("/api/v1/mailbox/attachment", json={
            "lookup": crypto.b64encode(keys.lookup), "id": upload_id}) as response:
        assert response.status_code == 404
    assert reporter.mailbox(filed.receipt)["messages"] == []


def test_case_data_is_refused_to_others(app, make_account, channel, keyed_inspectors,
                                        client) -> None:
    from tests.helpers.pages import sign_in

    (first, _), (second, _) = keyed_inspectors
    ReporterClient(app.test_client()).file(channel.slug, ANSWERS, excluded=[str(second.id)])
    outsider = app.test_client()
    sign_in(outsider, second)
    assert outsider.get("/cases/1/sealed").status_code == 404
    manager = app.test_client()
    sign_in(manager, make_account(Role.MANAGER))
    assert manager.get("/cases/1/sealed").status_code == 403
    assert client.get("/cases/1/sealed").status_code == 302
