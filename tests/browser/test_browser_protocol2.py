"""Protocol 2 in real Chromium, with an organisation key pinned: a report filed through the
page carries its thread; the case page and the mailbox judge the conversation and show who can
read the case; and what a database writer does is shown plainly in the pages (a forged,
replayed, moved or deleted message; a substituted, added or formerly excluded reader; a
colleague's key substituted at sharing, which the page refuses)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

import crypto
from crypto.certificates import OrgKey
from integrity.models import Channel, Role, User
from integrity.reporting.models import KeySlot, Message, Report, report_exclusions, report_readers
from tests.conftest import ChannelSetup
from tests.helpers.browser import RecordingApp, file_with_javascript, sign_in_in_browser
from tests.helpers.protocol2 import browser_key, certify, copy_message, thread_rows
from tests.helpers.reports import filed_report_id
from tests.helpers.walks import AXE_SOURCE, RUN_AXE
from tests.protocol2_client import Reporter2Client

ORG = OrgKey.from_seed(bytes(range(96, 128)))
INTACT = "Authentic: every message is as its writer sent it, in its place."
ALTERED = "Warning: some messages are not as they were sent. See the marks beside them."
NOT_AUTHENTIC = "Not authentic: this message may have been forged or moved from another case."
REPLAYED = "Listed again (a replayed copy)."
MISSING = "A message before this one is missing."
AS_RECORDED = "As recorded when the report was sent."
SENT_TO_REPORTER = "Your message was sent to the reporter."
SHARED_C = "The case was shared with Inspector C."
READERS_ALARM = "Warning: who can read this case is not as recorded when the report was sent."


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"org_public_key": crypto.b64encode(ORG.public_key)}


@pytest.fixture
def people(db: Session, make_account, channel: ChannelSetup) -> dict[str, Any]:
    """Inspector a (key made in the browser) and offline inspectors b and d, the channel's
    recipients; c outside it; every key certified by ORG."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    assert ch is not None
    ch.recipients.clear()
    found: dict[str, Any] = {}
    for name in ("a", "b", "c", "d"):
        account = make_account(Role.INSPECTOR, key=False)
        if name == "a":
            pair = browser_key(db, account, ORG)
        else:
            pair = crypto.KeyPair.generate()
            certify(db, account.id, ORG, pair.public_key)
        user = db.get(User, account.id)
        user.name = f"Inspector {name.upper()}"
        if name != "c":
            ch.recipients.append(user)
        found[name] = (account, pair)
    db.commit()
    return found


def _report_id(db: Session) -> int:
    """The one case filed (ids are random: the newest is not the largest)."""
    db.expire_all()
    return db.scalars(select(Report.id)).one()


def _open_mailbox(page: Any, base_url: str, receipt: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/mailbox")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    page.fill("#receipt-input", crypto.format_receipt(receipt))
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#mailbox-view")).to_be_visible()


def _open_case(page: Any, base_url: str, report_id: int) -> None:
    page.goto(f"{base_url}/cases/{report_id}")
    page.wait_for_selector('#case-content[data-opened="1"]')


def _axe(page: Any) -> list[str]:
    """What axe finds on the page as it is now (the marks and alarms shown)."""
    page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
    return [f"{v['rule']}: {v['nodes'][:3]}" for v in page.evaluate(RUN_AXE)]


def _item(page: Any, selector: str, marker: str) -> Any:
    return page.locator(f"{selector} > li", has_text=marker)


def test_a_protocol_2_report_filed_and_answered_in_the_pages_is_authentic(
    open_page, base_url: str, recorder: RecordingApp, db: Session, channel: ChannelSetup,
    people: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    a, b = people["a"][0], people["b"][0]
    reporter = open_page()
    receipt = file_with_javascript(reporter, base_url, channel, exclude=str(b.id))
    body = json.loads(recorder.posts("/api/v1/reports")[-1].body)
    assert body["protocol"] == 2 and "reporter_public_key" not in body
    assert set(body["key_slots"]) == {str(a.id), str(people["d"][0].id), "reporter"}
    report_id = _report_id(db)
    stored = db.get(Report, report_id)
    assert stored.protocol == 2 and stored.reporter_public_key is None

    inspector = open_page()
    sign_in_in_browser(inspector, base_url, a)
    inspector.wait_for_url("**/cases/")
    _open_case(inspector, base_url, report_id)
    expect(inspector.locator("#case-readers")).to_contain_text(AS_RECORDED)
    inspector.fill("#reply-text", "Which lane exactly? MARKER-P2-INSPECTOR")
    inspector.get_by_role("button", name="Send to the reporter").click()
    expect(inspector.locator("#case-announce")).to_have_text(SENT_TO_REPORTER)
    expect(inspector.locator("#case-thread-status")).to_have_text(INTACT)
    inspector.fill("#note-text", "Check the lane 4 rota. MARKER-P2-NOTE")
    inspector.get_by_role("button", name="Save the note").click()
    expect(inspector.locator("#case-announce")).to_have_text("The note was saved.")

    _open_mailbox(reporter, base_url, receipt)
    expect(reporter.locator("#thread-status")).to_have_text(INTACT)
    expect(_item(reporter, "#thread", "MARKER-P2-INSPECTOR")).to_have_attribute(
        "data-check", "intact")
    expect(reporter.locator("#readers")).to_contain_text(AS_RECORDED)
    reporter.fill("#reply-text", "Lane 4, every Friday. MARKER-P2-REPORTER")
    reporter.get_by_role("button", name="Send", exact=True).click()
    expect(reporter.get_by_text("Your message was sent.")).to_be_visible()
    expect(reporter.locator("#thread > li")).to_have_count(2)
    expect(reporter.locator("#thread-status")).to_have_text(INTACT)

    # The inspector shares the case with c, after seeing c's key fingerprint.
    c_account, c_pair = people["c"]
    _open_case(inspector, base_url, report_id)
    expect(inspector.locator("#case-thread-status")).to_have_text(INTACT)
    expect(inspector.locator("#case-thread > li")).to_have_count(3)
    inspector.select_option("#share-inspector", str(c_account.id))
    inspector.fill("#share-reason", "A second reader for the evidence.")
    expect(inspector.locator("#share-fingerprint")).to_contain_text(
        crypto.fingerprint(c_pair.public_key))
    inspector.get_by_role("button", name="Share").click()
    expect(inspector.locator("#case-announce")).to_have_text(SHARED_C)
    expect(inspector.locator("#case-readers-changes")).to_contain_text(
        "Inspector C was added when an inspector shared the case.")
    expect(inspector.locator("#case-readers-alarm")).to_have_count(0)
    share = json.loads(recorder.posts(f"/cases/{report_id}/share")[-1].body)
    assert share["message"]["link"]["seq"] == 3

    _open_mailbox(reporter, base_url, receipt)
    expect(reporter.locator("#thread-status")).to_have_text(INTACT)
    expect(reporter.locator("#thread > li").last).to_contain_text(SHARED_C)
    expect(reporter.locator("#readers-changes")).to_contain_text(
        "Inspector C was added when an inspector shared the case.")
    expect(reporter.locator("#readers-alarm")).to_have_count(0)
    assert reporter.console_errors == [] and inspector.console_errors == []


def _filed(app: Flask, db: Session, channel: ChannelSetup, people) -> tuple[Any, str, int]:
    """A protocol 2 report filed by a client, b left out, with the reporter's first message."""
    reporter = Reporter2Client(app.test_client(), ORG.public_key)
    filed = reporter.file(channel.slug, {"what": "Fines pocketed at the east gate. MARKER-P2-CASE"},
                          excluded=[str(people["b"][0].id)])
    assert reporter.reply(filed.receipt, "First message. MARKER-FIRST").status_code == 201
    return reporter, filed.receipt, filed_report_id(app, filed)


def _inspector_a(open_page: Any, base_url: str, people: dict[str, Any], report_id: int,
                 route: Any = None) -> Any:
    """Inspector a signed in in the browser, on the case page."""
    page = open_page()
    if route is not None:
        page.route(f"**/cases/{report_id}/sealed", route)
    sign_in_in_browser(page, base_url, people["a"][0])
    page.wait_for_url("**/cases/")
    _open_case(page, base_url, report_id)
    return page


def test_what_a_database_writer_does_to_the_thread_is_shown(
    open_page, base_url: str, app: Flask, db: Session, channel: ChannelSetup,
    people: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    reporter, receipt, report_id = _filed(app, db, channel, people)
    inspector = _inspector_a(open_page, base_url, people, report_id)
    inspector.fill("#reply-text", "Second. MARKER-SECOND")
    inspector.get_by_role("button", name="Send to the reporter").click()
    expect(inspector.locator("#case-announce")).to_have_text(
        "Your message was sent to the reporter.")
    assert reporter.reply(receipt, "Third message. MARKER-THIRD").status_code == 201
    thread = reporter.mailbox(receipt)["thread"]
    account, pair = people["a"]
    # Deleted: the inspector's message; the next one shows the gap.
    second = thread_rows(db, report_id)[1]
    db.execute(delete(Message).where(Message.id == second.id))
    # Forged inspector message (sealed to the reporter only) and forged reporter message
    # (sealed to inspector a only), each with an authenticator its writer could not make.
    to_reporter = crypto.seal_document(
        {"protocol": 2, "text": "Send us your phone number. MARKER-FORGED-I", "attachments": []},
        {"reporter": thread.reporter_public_key}, 1024)
    to_inspector = crypto.seal_document(
        {"protocol": 2, "text": "I withdraw everything. MARKER-FORGED-R", "attachments": []},
        {str(account.id): pair.public_key}, 1024)
    for seq, sender, sealed, reader in ((4, "inspector", to_reporter, "reporter"),
                                        (5, "reporter", to_inspector, str(account.id))):
        forged = Message(report_id=report_id, sender=sender,
                         author_id=account.id if sender == "inspector" else None,
                         payload=sealed.payload, chain="thread", seq=seq, prev=bytes(32),
                         auth=bytes(32))
        db.add(forged)
        db.flush()
        db.add(KeySlot(report_id=report_id, message_id=forged.id, reader=reader,
                       slot=sealed.key_slots[reader]))
    # Replayed: the first message listed again at its own place (the unique index dropped).
    db.execute(text("DROP INDEX uq_messages_link"))
    copy_message(db, thread_rows(db, report_id)[0], report_id)
    # Moved: a message of another case of the same inspector.
    db.commit()
    other = Reporter2Client(app.test_client(), ORG.public_key)
    other_filed = other.file(channel.slug, {"what": "another case"})
    assert other.reply(other_filed.receipt, "From the other case. MARKER-MOVED").status_code == 201
    moved = copy_message(db, thread_rows(db, filed_report_id(app, other_filed))[0], report_id)
    moved.seq = 6
    db.commit()

    page = open_page()
    _open_mailbox(page, base_url, receipt)
    expect(page.locator("#thread-status")).to_have_text(ALTERED)
    expect(_item(page, "#thread", "MARKER-FORGED-I")).to_contain_text(NOT_AUTHENTIC)
    expect(_item(page, "#thread", "MARKER-THIRD")).to_contain_text(MISSING)
    firsts = _item(page, "#thread", "MARKER-FIRST")
    expect(firsts).to_have_count(2)
    expect(firsts.nth(0)).to_have_attribute("data-check", "intact")
    expect(firsts.nth(1)).to_contain_text(REPLAYED)
    expect(page.locator("#thread")).not_to_contain_text("MARKER-FORGED-R")  # not sealed to them
    assert _axe(page) == []

    _open_case(inspector, base_url, report_id)
    expect(inspector.locator("#case-thread-status")).to_have_text(ALTERED)
    expect(_item(inspector, "#case-thread", "MARKER-FORGED-R")).to_contain_text(NOT_AUTHENTIC)
    expect(_item(inspector, "#case-thread", "MARKER-MOVED")).to_contain_text(NOT_AUTHENTIC)
    expect(_item(inspector, "#case-thread", "MARKER-THIRD")).to_contain_text(MISSING)
    expect(_item(inspector, "#case-thread", "MARKER-FIRST").nth(1)).to_contain_text(REPLAYED)
    assert _axe(inspector) == []
    assert page.console_errors == [] and inspector.console_errors == []


def test_readers_changed_by_a_database_writer_are_flagged(
    open_page, base_url: str, app: Flask, db: Session, channel: ChannelSetup,
    people: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    reporter, receipt, report_id = _filed(app, db, channel, people)
    b_id, c_id, d_id = (people[n][0].id for n in ("b", "c", "d"))
    # Added: c, without a share. Exclusion removed: b. Substituted: d's key, its certificate kept.
    db.execute(insert(report_readers).values(report_id=report_id, user_id=c_id))
    db.execute(delete(report_exclusions).where(report_exclusions.c.report_id == report_id))
    db.execute(insert(report_readers).values(report_id=report_id, user_id=b_id))
    db.get(User, d_id).public_key = crypto.KeyPair.generate().public_key
    db.commit()
    expected = {
        "unrecorded": "Inspector C was added without any record in the conversation.",
        "excluded_reader": "Inspector B was left out when the report was sent, but can read it "
                           "now.",
        "uncertified": "Inspector D: their key is not certified by the organisation; it may have "
                       "been substituted.",
    }

    page = open_page()
    _open_mailbox(page, base_url, receipt)
    expect(page.locator("#thread-status")).to_have_text(INTACT)
    alarm = page.locator("#readers-alarm")
    expect(alarm).to_contain_text(READERS_ALARM)
    for kind, sentence in expected.items():
        expect(alarm.locator(f"li[data-kind={kind}]")).to_have_text(sentence)
    assert _axe(page) == []
    # Nothing is sealed to a key the organisation did not certify.
    page.fill("#reply-text", "Not to be sent. MARKER-UNSENT")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#form-error")).to_contain_text("Not sent: a reader's key is not certified")
    assert not [r for r in page.sent if r.url.endswith("/api/v1/mailbox/messages")]

    inspector = _inspector_a(open_page, base_url, people, report_id)
    alarm = inspector.locator("#case-readers-alarm")
    for kind, sentence in expected.items():
        expect(alarm.locator(f"li[data-kind={kind}]")).to_have_text(sentence)
    assert page.console_errors == [] and inspector.console_errors == []


def test_a_colleague_key_substituted_at_sharing_is_refused(
    open_page, base_url: str, app: Flask, db: Session, channel: ChannelSetup,
    people: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    _, _, report_id = _filed(app, db, channel, people)
    c_account, c_pair = people["c"]
    substitute = crypto.KeyPair.generate().public_key

    def substituted(route: Any) -> None:
        # A server that hands out another key for c, with c's real certificate.
        answer = route.fetch()
        sealed = answer.json()
        for candidate in sealed["share_candidates"]:
            if candidate["id"] == str(c_account.id):
                candidate["public_key"] = crypto.b64encode(substitute)
        route.fulfill(response=answer, json=sealed)

    inspector = _inspector_a(open_page, base_url, people, report_id, substituted)
    inspector.select_option("#share-inspector", str(c_account.id))
    inspector.fill("#share-reason", "A second reader for the evidence.")
    expect(inspector.locator("#share-fingerprint")).to_contain_text(crypto.fingerprint(substitute))
    expect(inspector.locator("#share-fingerprint")).not_to_contain_text(
        crypto.fingerprint(c_pair.public_key))
    inspector.get_by_role("button", name="Share").click()
    expect(inspector.locator("#form-error")).to_have_text(
        "Not shared: this inspector's key is not certified by the organisation.")
    assert not [r for r in inspector.sent if r.url.endswith(f"/cases/{report_id}/share")]
    db.expire_all()
    readers = set(db.scalars(select(report_readers.c.user_id).where(
        report_readers.c.report_id == report_id)))
    assert c_account.id not in readers


def test_a_route_changed_by_a_database_writer_is_flagged(
    open_page, base_url: str, app: Flask, db: Session, channel: ChannelSetup,
    people: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    from integrity.models import OrgUnit

    _reporter, _receipt, report_id = _filed(app, db, channel, people)
    inspector = _inspector_a(open_page, base_url, people, report_id)
    expect(inspector.locator("#case-route-status")).to_have_count(0)
    # The case moved to another unit (its statistics, its deadlines' owner) without the reporter.
    unit = OrgUnit(name="Lane 12", kind="crossing_point", headcount=4)
    db.add(unit)
    db.flush()
    db.execute(text("UPDATE reports SET org_unit_id = :unit WHERE id = :id"),
               {"unit": unit.id, "id": report_id})
    db.commit()
    _open_case(inspector, base_url, report_id)
    expect(inspector.locator("#case-route-status")).to_have_text(
        "Warning: the channel, category or unit stored for this case is not the one the reporter "
        "chose when sending it.")
    assert "MARKER-P2-CASE" in inspector.inner_text("#case-answers")  # the report still opens
    assert inspector.console_errors == []
