"""Filing a protocol 2 report (docs/protocol.md#protocol-2-the-constructs): sealed only to
certified keys, with its thread inside, no reporter key stored; protocol 1 unchanged."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

import crypto
from crypto import thread_documents
from crypto.certificates import OrgKey, sign_inspector_key, sign_recovery_key
from integrity import current
from integrity.installation import get_installation
from integrity.models import User
from integrity.reporting.models import KeySlot, Report
from tests.helpers.reports import filed_report_id
from tests.protocol2_client import Reporter2Client
from tests.protocol_client import ReporterClient

ORG = OrgKey.from_seed(bytes(range(32)))
ANSWERS = {"what": "Seals on the container were replaced at night"}


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"org_public_key": crypto.b64encode(ORG.public_key)}


def _certify(db, channel, *ids: str) -> None:
    for rid in ids:
        user = db.get(User, int(rid))
        user.key_certificate = sign_inspector_key(ORG, rid, user.public_key)
    db.commit()


def _reporter(client) -> Reporter2Client:
    return Reporter2Client(client, ORG.public_key, check_floors=False)


def test_a_protocol_2_report_goes_to_certified_keys_and_stores_no_reporter_key(
    app, db, client, channel
) -> None:
    certified, uncertified = sorted(channel.inspectors, key=int)
    _certify(db, channel, certified)
    reporter = _reporter(client)
    assert [r["id"] for r in reporter.certified_recipients(channel.slug)] == [certified]
    filed = reporter.file(channel.slug, ANSWERS, category="bribery")

    report = db.scalar(select(Report))
    assert report.protocol == 2 and report.reporter_public_key is None
    assert {slot.reader for slot in report.key_slots} == {certified, "reporter"}
    assert [str(user.id) for user in report.readers] == [certified]
    assert report.lookup_hash == crypto.keyed_lookup_hash(filed.keys.lookup,
                                                          current.lookup_key(app))
    slot = db.scalar(select(KeySlot.slot).where(KeySlot.report_id == report.id,
                                                KeySlot.reader == certified))
    document = crypto.open_document(report.payload, slot,
                                    channel.inspectors[certified].secret_key, 1024)
    thread = thread_documents.report_thread(document)
    assert thread.secret == reporter.thread_secret
    assert thread.reporter_public_key == filed.keys.public_key
    assert (thread.channel, thread.category) == (channel.slug, "bribery")
    assert set(thread.readers) == {certified}
    # The reporter opens it with the receipt alone, as in protocol 1.
    assert reporter.mailbox(filed.receipt)["report"]["document"]["answers"] == ANSWERS


def test_a_key_slot_for_an_uncertified_inspector_is_refused_and_nothing_stored(
    db, client, channel
) -> None:
    certified, uncertified = sorted(channel.inspectors, key=int)
    _certify(db, channel, certified)
    # A client that trusts the server's list seals to the uncertified key too.
    careless = _reporter(client)
    careless.certified_recipients = lambda slug: careless.channel(slug)["recipients"]
    refused = careless.send(careless.report_body(channel.slug, ANSWERS))
    assert refused.response.status_code == 400
    assert "key slot" in refused.response.get_json()["error"]
    assert db.scalar(select(Report)) is None


def test_a_certificate_moved_to_another_inspector_does_not_count(db, client, channel) -> None:
    first, second = sorted(channel.inspectors, key=int)
    _certify(db, channel, first)
    user = db.get(User, int(second))
    user.key_certificate = db.get(User, int(first)).key_certificate
    db.commit()
    reporter = _reporter(client)
    assert [r["id"] for r in reporter.certified_recipients(channel.slug)] == [first]
    reporter.file(channel.slug, ANSWERS)
    assert {slot.reader for slot in db.scalar(select(Report)).key_slots} == {first, "reporter"}


def test_the_recovery_key_is_a_reader_only_when_certified(app, db, client, channel) -> None:
    _certify(db, channel, *channel.inspectors)
    recovery = crypto.KeyPair.generate()
    row = get_installation(db, current.settings(app))
    row.recovery_public_key = recovery.public_key
    db.commit()
    first = db.get(Report, filed_report_id(app, _reporter(client).file(channel.slug, ANSWERS)))
    assert "recovery" not in {slot.reader for slot in first.key_slots}

    row = get_installation(db, current.settings(app))
    row.recovery_certificate = sign_recovery_key(ORG, recovery.public_key)
    db.commit()
    second = db.get(Report, filed_report_id(app, _reporter(client).file(channel.slug, ANSWERS)))
    assert "recovery" in {slot.reader for slot in second.key_slots}


def test_a_protocol_2_body_carrying_the_reporter_key_is_refused(db, client, channel) -> None:
    _certify(db, channel, *channel.inspectors)
    reporter = _reporter(client)
    filed = reporter.report_body(channel.slug, ANSWERS)
    filed.body["reporter_public_key"] = crypto.b64encode(filed.keys.public_key)
    answer = reporter.send(filed).response
    assert answer.status_code == 400
    assert "does not send the reporter's public key" in answer.get_json()["error"]
    assert db.scalar(select(Report)) is None


def test_protocol_1_is_unchanged_beside_protocol_2_and_other_versions_are_refused(
    db, client, channel
) -> None:
    _certify(db, channel, *channel.inspectors)
    config = client.get("/api/v1/config").get_json()
    assert config["protocol"] == 1 and config["protocols"] == [1, 2]
    recipient = config["channels"][0]["recipients"][0]
    assert crypto.b64decode(recipient["certificate"], 64)
    ReporterClient(client).file(channel.slug, ANSWERS)
    old = db.scalar(select(Report))
    assert old.protocol == 1 and old.reporter_public_key is not None
    body = ReporterClient(client).report_body(channel.slug, ANSWERS).body
    for version in (3, 0, True, "2", 2.0):
        answer = client.post("/api/v1/reports", data=json.dumps({**body, "protocol": version}),
                             content_type="application/json")
        assert answer.status_code == 400, version
        assert answer.get_json()["error"] == "Only protocol versions 1 and 2 are understood."


def test_floors_refuse_the_cheap_costs_the_tests_run_with(client, channel) -> None:
    reporter = Reporter2Client(client, ORG.public_key)
    with pytest.raises(crypto.ShapeError, match="Argon2id cost below 3 passes"):
        reporter.report_body(channel.slug, ANSWERS)


def test_without_an_organisation_key_protocol_2_reports_are_refused(
    app, tmp_path, database_url, channel
) -> None:
    from integrity.app import create_app
    from integrity.db import dispose
    from tests.conftest import make_settings

    bare = create_app(make_settings(tmp_path / "bare", database_url))
    try:
        client = bare.test_client()
        reporter = _reporter(client)
        reporter.certified_recipients = lambda slug: reporter.channel(slug)["recipients"]
        answer = reporter.send(reporter.report_body(channel.slug, ANSWERS)).response
        assert answer.status_code == 400
        assert "no organisation key" in answer.get_json()["error"]
    finally:
        dispose(bare)


def test_the_pinned_key_is_in_the_pages_and_only_there_when_pinned(
    client, channel, tmp_path, database_url
) -> None:
    from integrity.app import create_app
    from integrity.db import dispose
    from tests.conftest import make_settings

    pinned = f'data-org-key="{crypto.b64encode(ORG.public_key)}"'
    for path in (f"/report/{channel.slug}", "/mailbox"):
        assert pinned in client.get(path).get_data(as_text=True)
    unpinned = create_app(make_settings(tmp_path / "other", database_url))
    try:
        for path in (f"/report/{channel.slug}", "/mailbox"):
            assert 'data-org-key=""' in unpinned.test_client().get(path).get_data(as_text=True)
    finally:
        dispose(unpinned)
