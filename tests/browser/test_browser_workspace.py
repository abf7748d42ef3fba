"""The inspectors' workspace end to end in real Chromium: an inspector makes a key at first
sign-in, a report filed through the JavaScript page is opened in the case page with its file,
the inspector and the reporter write to each other, the case is closed, shared with an
inspector whose key lives in a file, and never reaches the inspector the reporter excluded.
The server never receives the passphrase, the wrapping key or a private key."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote_plus

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from integrity.audit import AuditEntry, verify
from integrity.db import Base
from integrity.models import Channel, Role, User
from tests.conftest import ChannelSetup
from tests.helpers.browser import (
    EVIDENCE,
    REPORT_MARKER,
    WHAT,
    RecordingApp,
    file_with_javascript,
    keyring_call,
    sign_in_in_browser,
    stored_in_page,
)
from tests.helpers.pages import sign_in

INSPECTOR_REPLY = "Thank you. Was anyone else at lane 4 that night? MARKER-INSPECTOR-5ab2"
REPORTER_ANSWER = "The relief officer saw it too. MARKER-ANSWER-93c0"
FINAL_NOTICE = "Proven: the officer is suspended and charged. MARKER-FINAL-4c1d"


def _wrapping_key(app: Flask, db: Session, account) -> bytes:
    """The scheme-2 wrapping key: the passphrase's value completed with the server's share."""
    user = db.get(User, account.id)
    own = crypto.derive_staff_keys(account.password, user.login_salt, user.login_opslimit,
                                   user.login_memlimit).wrapping_key
    share = crypto.wrap_share(app.extensions["integrity.installation_secret"], account.id)
    return crypto.shared_wrapping_key(own, share)


def _add_recipient(db: Session, slug: str, user_id: int) -> None:
    channel = db.scalar(select(Channel).where(Channel.slug == slug))
    user = db.get(User, user_id)
    assert channel is not None and user is not None
    channel.recipients.append(user)
    db.commit()


def _every_stored_value(db: Session) -> bytes:
    """Every value of every row of every table, as bytes, for a search of the database."""
    db.expire_all()
    parts = []
    for table in Base.metadata.sorted_tables:
        for row in db.execute(select(table)).all():
            for value in row:
                if isinstance(value, bytes):
                    parts.append(value)
                    parts.append(crypto.b64encode(value).encode())
                elif value is not None:
                    parts.append(str(value).encode())
    return b"\n".join(parts)


def test_workspace_end_to_end(open_page, base_url: str, recorder: RecordingApp,
                              app: Flask, db: Session, channel: ChannelSetup,
                              make_account) -> None:
    from playwright.sync_api import expect

    first = make_account(Role.INSPECTOR, key=False)
    offline = make_account(Role.INSPECTOR, key=False)
    excluded = make_account(Role.INSPECTOR, key=False)
    excluded_user = db.get(User, excluded.id)
    excluded_user.public_key = crypto.KeyPair.generate().public_key
    db.commit()
    _add_recipient(db, channel.slug, excluded.id)

    # 1. The first inspector signs in and makes a key in the browser.
    inspector = open_page()
    sign_in_in_browser(inspector, base_url, first)
    inspector.wait_for_url("**/staff/key")
    inspector.wait_for_selector('#key-setup[data-ready="1"]')
    inspector.get_by_role("button", name="Make my key").click()
    inspector.wait_for_url("**/cases/")
    db.expire_all()
    user = db.get(User, first.id)
    assert user.public_key is not None and user.wrapped_secret_key is not None
    assert user.key_scheme == 2
    wrapping_key = _wrapping_key(app, db, first)
    secret_key = crypto.unwrap_private_key(user.wrapped_secret_key, wrapping_key)
    _add_recipient(db, channel.slug, first.id)

    # 2. A reporter files through the JavaScript page, leaving one inspector out.
    reporter = open_page()
    receipt = file_with_javascript(reporter, base_url, channel, exclude=str(excluded.id))

    # 3. The inspector opens the case: answers and the file, decrypted in the page.
    inspector.goto(f"{base_url}/cases/")
    inspector.locator("table a").first.click()
    inspector.wait_for_selector('#case-content[data-opened="1"]')
    report_path = inspector.url.removeprefix(base_url)
    expect(inspector.locator("#case-answers")).to_contain_text(REPORT_MARKER)
    with inspector.expect_download() as info:
        inspector.get_by_role("button", name="Save evidence.bin").click()
    assert info.value.suggested_filename == "evidence.bin"
    assert Path(info.value.path()).read_bytes() == EVIDENCE

    # 4. ...and replies to the reporter, sealed in the page.
    inspector.fill("#reply-text", INSPECTOR_REPLY)
    inspector.get_by_role("button", name="Send to the reporter").click()
    expect(inspector.locator("#case-announce")).to_have_text(
        "Your message was sent to the reporter.")
    expect(inspector.locator("#case-thread")).to_contain_text(INSPECTOR_REPLY)
    inspector.fill("#note-text", "Check the lane 4 roster. MARKER-NOTE-77e1")
    inspector.get_by_role("button", name="Save the note").click()
    expect(inspector.locator("#case-announce")).to_have_text("The note was saved.")

    # 5. The reporter reads the reply in the mailbox and answers.
    reporter.goto(f"{base_url}/mailbox")
    reporter.fill("#receipt-input", crypto.format_receipt(receipt))
    reporter.get_by_role("button", name="Open").click()
    thread = reporter.locator("#thread")
    expect(thread).to_contain_text(INSPECTOR_REPLY)
    expect(thread).not_to_contain_text("MARKER-NOTE")
    reporter.fill("#reply-text", REPORTER_ANSWER)
    reporter.get_by_role("button", name="Send", exact=True).click()
    expect(reporter.get_by_text("Your message was sent.")).to_be_visible()

    # 6. The inspector sees the answer. Closing needs a final notice to the reporter first:
    # the status form alone is refused; the final notice closes the case with its outcome.
    inspector.reload()
    inspector.wait_for_selector('#case-content[data-opened="1"]')
    expect(inspector.locator("#case-thread")).to_contain_text(REPORTER_ANSWER)
    inspector.select_option("#status", "closed")
    inspector.select_option("#outcome", "substantiated")
    inspector.get_by_role("button", name="Change status").click()
    expect(inspector.locator("body")).to_contain_text(
        "Send the reporter a final notice (the outcome and its grounds) before closing the "
        "case, or with it.")
    expect(inspector.locator("#case-final-notice")).to_have_text(
        "Not sent yet: needed to close the case")
    inspector.wait_for_selector('#case-content[data-opened="1"]')
    expect(inspector.locator("#reply-outcome-field")).to_be_hidden()
    inspector.get_by_label("Final notice: the outcome and its grounds").check()
    expect(inspector.locator("#reply-outcome-field")).to_be_visible()
    inspector.get_by_label("Close the case with this notice").select_option("substantiated")
    inspector.fill("#reply-text", FINAL_NOTICE)
    inspector.get_by_role("button", name="Send to the reporter").click()
    expect(inspector.locator("body")).to_contain_text(
        "Your final notice was sent to the reporter and the case was closed.")
    expect(inspector.locator("#case-status")).to_contain_text("Closed (Substantiated)")
    inspector.wait_for_selector('#case-content[data-opened="1"]')
    final = inspector.locator("#case-thread li").filter(has_text=FINAL_NOTICE)
    expect(final.locator(".kind")).to_have_text("Final notice")

    # The reporter's mailbox says the case is closed, with its outcome in plain words, and
    # marks the final notice as such (from the server's clear kind).
    reporter.goto(f"{base_url}/mailbox")
    reporter.fill("#receipt-input", crypto.format_receipt(receipt))
    reporter.get_by_role("button", name="Open").click()
    expect(reporter.locator("#report-outcome")).to_have_text(
        "Case closed: the facts you reported were confirmed.")
    notice = reporter.locator("#thread li").filter(has_text=FINAL_NOTICE)
    expect(notice.locator(".kind")).to_have_text("Final notice")
    expect(reporter.locator("#thread .kind")).to_have_count(1)

    # 7. An inspector whose key was made offline registers its public half from the file.
    offline_pair = crypto.KeyPair.generate()
    key_file = {"name": "inspector.key", "mimeType": "application/json",
                "buffer": crypto.dump_key_file(offline_pair, "Offline").encode()}
    second = open_page()
    sign_in_in_browser(second, base_url, offline)
    second.wait_for_url("**/staff/key")
    second.wait_for_selector('#key-setup[data-ready="1"]')
    second.set_input_files("#key-file", files=[key_file])
    second.get_by_role("button", name="Use this key").click()
    second.wait_for_url("**/cases/")
    db.expire_all()
    offline_user = db.get(User, offline.id)
    assert offline_user.public_key == offline_pair.public_key
    assert offline_user.wrapped_secret_key is None
    expect(second.locator("body")).not_to_contain_text(report_path)

    # 8. The first inspector shares the case; the excluded one is not offered.
    inspector.reload()
    inspector.wait_for_selector('#case-content[data-opened="1"]')
    options = inspector.locator("#share-inspector option").evaluate_all(
        "options => options.map(o => o.value)")
    assert str(offline.id) in options and str(excluded.id) not in options
    inspector.select_option("#share-inspector", str(offline.id))
    inspector.get_by_role("button", name="Share").click()  # without saying why: refused
    expect(inspector.locator("#share-reason-error")).to_contain_text(
        "Say why you share the case.")
    inspector.fill("#share-reason", "A second reader for the evidence.")
    inspector.get_by_role("button", name="Share").click()
    expect(inspector.locator("#case-announce")).to_contain_text("The case was shared with")
    db.expire_all()
    shared = db.scalar(select(AuditEntry).where(AuditEntry.action == "case_shared"))
    assert shared is not None and shared.facts["reason"] == "A second reader for the evidence."

    # 9. The second inspector loads the key file into the case page and reads everything.
    second.goto(f"{base_url}/cases/")
    second.locator(f'a[href="{report_path}"]').click()
    second.set_input_files("#key-file", files=[key_file])
    second.get_by_role("button", name="Open the case").click()
    second.wait_for_selector('#case-content[data-opened="1"]')
    expect(second.locator("#case-answers")).to_contain_text(REPORT_MARKER)
    expect(second.locator("#case-thread")).to_contain_text(INSPECTOR_REPLY)
    expect(second.locator("#case-thread")).to_contain_text(REPORTER_ANSWER)
    expect(second.locator("#case-thread")).to_contain_text("MARKER-NOTE-77e1")
    with second.expect_download() as info:
        second.get_by_role("button", name="Save evidence.bin").click()
    assert Path(info.value.path()).read_bytes() == EVIDENCE
    # The case page and the inbox fit a small phone.
    second.set_viewport_size({"width": 360, "height": 640})
    for path in (report_path, "/cases/"):
        if path != report_path:
            second.goto(f"{base_url}{path}")
        width = second.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width}px wide"
    # The keyring keeps the key file's key until sign-out, and nothing is stored on the device.
    assert keyring_call(second, "ping")["unlocked"] == [crypto.b64encode(offline_pair.public_key)]
    assert stored_in_page(second) == {"local": {}, "session": {}, "indexedDB": [], "cookies": ""}
    second.get_by_role("button", name="Sign out").click()
    second.wait_for_url("**/staff/login")
    assert keyring_call(second, "ping")["unlocked"] == []

    # 10. The excluded inspector does not see the case or learn that it exists.
    left_out = app.test_client()
    sign_in(left_out, excluded)
    assert report_path not in left_out.get("/cases/").get_data(as_text=True)
    assert left_out.get(report_path).status_code == 404
    assert left_out.get(f"{report_path}/sealed").status_code == 404

    # The server never received the passphrase, the wrapping key or a private key...
    forbidden = {
        "passphrase": first.password.encode(),
        "passphrase (form)": quote_plus(first.password).encode(),
        "wrapping key": crypto.b64encode(wrapping_key).encode(),
        "secret key": crypto.b64encode(secret_key).encode(),
        "offline secret key": crypto.b64encode(offline_pair.secret_key).encode(),
        "reply": INSPECTOR_REPLY.encode(), "note": b"MARKER-NOTE-77e1",
        "final notice": FINAL_NOTICE.encode(),
    }
    for page in (inspector, second):
        for sent in page.sent:
            for what, value in forbidden.items():
                assert sent.body is None or value not in sent.body, f"{what} sent to {sent.url}"
    for received in recorder.received:
        for what, value in forbidden.items():
            assert value not in received.body, f"{what} reached {received.path}"
    # ...and does not hold them.
    stored = _every_stored_value(db)
    for what, value in {**forbidden, "secret key (raw)": secret_key,
                        "offline secret key (raw)": offline_pair.secret_key,
                        "wrapping key (raw)": wrapping_key}.items():
        assert value not in stored, f"{what} is in the database"
    assert verify(db).ok
    assert inspector.console_errors == [] and second.console_errors == []
    assert reporter.console_errors == []


ANSWERS_AS_READ = {
    "What happened?": WHAT.strip(),
    "When did it happen?": "2024-05-17",
    "Where did it happen?": "Lane 4, night shift",
    "Is it still going on?": "Yes",
    "How do you know about it?": "I saw it myself",
    "What could support it?": "Documents, Messages",
}


def _answers_shown(page, selector: str) -> dict[str, str]:
    """The question and answer pairs of a page's answer list, as a reader sees them."""
    return page.locator(selector).evaluate(
        "list => Object.fromEntries([...list.querySelectorAll('dt')].map("
        "dt => [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]))")


def test_answers_read_in_the_questionnaires_words_in_mailbox_and_case_page(
        open_page, base_url: str, app: Flask, db: Session, channel: ChannelSetup,
        make_account) -> None:
    """A yes/no answer shows as "Yes", a choice as the answer offered, never a stored value."""
    account = make_account(Role.INSPECTOR, key=False)
    user = db.get(User, account.id)
    pair = crypto.KeyPair.generate()
    user.public_key = pair.public_key
    user.wrapped_secret_key = crypto.wrap_private_key(pair.secret_key,
                                                      _wrapping_key(app, db, account))
    db.commit()
    _add_recipient(db, channel.slug, account.id)

    reporter = open_page()
    left_out = next(iter(channel.inspectors))
    receipt = file_with_javascript(reporter, base_url, channel, exclude=left_out)
    reporter.goto(f"{base_url}/mailbox")
    reporter.fill("#receipt-input", crypto.format_receipt(receipt))
    reporter.get_by_role("button", name="Open").click()
    reporter.wait_for_selector("#report-answers")
    assert _answers_shown(reporter, "#report-answers") == ANSWERS_AS_READ

    inspector = open_page()
    sign_in_in_browser(inspector, base_url, account)
    inspector.wait_for_url("**/cases/")
    inspector.locator("table a").first.click()
    inspector.wait_for_selector('#case-content[data-opened="1"]')
    # The case page also says which language the report was written in.
    assert _answers_shown(inspector, "#case-answers") == {"Written in": "English",
                                                           **ANSWERS_AS_READ}
    assert reporter.console_errors == [] and inspector.console_errors == []
