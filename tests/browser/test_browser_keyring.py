"""The staff keyring in real Chromium (docs/inspector-keys.md, "The keyring"): after sign-in no
secret key or wrapping key is in localStorage, sessionStorage, IndexedDB, a cookie or anything
the page's globals reach, and none after sign-out; the key survives the move from one page to
the next; a new sign-in wipes it; a page that finds the keyring empty asks for the passphrase
(or a protected key file's passphrase) and opens the case; a browser without SharedWorker still
works, page by page."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

import crypto
from integrity.models import User
from tests.conftest import ChannelSetup
from tests.helpers.browser import (
    PAGE_GLOBALS,
    inspector_with_a_case,
    keyring_call,
    sign_in_in_browser,
    staff_wrapping_key,
    stored_in_page,
)

TEXT = "The shift chief lets one lorry a week pass unchecked. MARKER-KEYRING-2b9e"
NOTHING_STORED = {"local": {}, "session": {}, "indexedDB": [], "cookies": ""}
EMPTY = {"ready": True, "pending": False, "wrapping": False, "unlocked": []}


def _secrets(app: Flask, db: Session, account: Any, pair: crypto.KeyPair) -> list[str]:
    """The inspector's secret key, both wrapping keys, as base64url and hex."""
    user = db.get(User, account.id)
    values = [pair.secret_key, staff_wrapping_key(app, user, account.password),
              staff_wrapping_key(app, user, account.password, scheme=1)]
    return [crypto.b64encode(value) for value in values] + [value.hex() for value in values]


def _assert_no_secret_in(page: Any, secrets: list[str]) -> None:
    assert stored_in_page(page) == NOTHING_STORED
    reached = page.evaluate(PAGE_GLOBALS)
    assert page.url in reached  # the walk did reach the page's globals (location.href)
    for text in reached:
        assert not any(secret in text for secret in secrets), "a secret is in a page global"


def _open_first_case(page: Any) -> None:
    page.locator("table a").first.click()
    page.wait_for_selector('#case-content[data-opened="1"]')
    assert TEXT in page.inner_text("#case-answers")


def test_no_secret_on_the_device_or_in_the_page_after_sign_in_and_after_sign_out(
    page, base_url: str, app: Flask, db: Session, channel: ChannelSetup, make_account
) -> None:
    account, pair = inspector_with_a_case(app, db, make_account, channel, TEXT)
    secrets = _secrets(app, db, account, pair)
    sign_in_in_browser(page, base_url, account)
    page.wait_for_url("**/cases/")
    _open_first_case(page)
    _assert_no_secret_in(page, secrets)
    handle = crypto.b64encode(pair.public_key)
    assert keyring_call(page, "ping") == {**EMPTY, "wrapping": True, "unlocked": [handle]}
    # From page to page the keyring stays: the next case page opens without asking anything.
    page.goto(f"{base_url}/cases/")
    _open_first_case(page)
    assert page.locator("#unlock-form").is_hidden()
    _assert_no_secret_in(page, secrets)

    # The check finds a key a page would keep in an object a global leads to.
    page.evaluate("(bytes) => { window.kept = { key: new Uint8Array(bytes) }; }",
                  list(pair.secret_key))
    assert crypto.b64encode(pair.secret_key) in page.evaluate(PAGE_GLOBALS)
    page.evaluate("delete window.kept")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/staff/login")
    assert keyring_call(page, "ping") == EMPTY
    _assert_no_secret_in(page, secrets)
    assert page.console_errors == []


def test_a_new_sign_in_wipes_the_keyring(
    page, base_url: str, app: Flask, db: Session, channel: ChannelSetup, make_account
) -> None:
    account, pair = inspector_with_a_case(app, db, make_account, channel, TEXT)
    sign_in_in_browser(page, base_url, account)
    page.wait_for_url("**/cases/")
    _open_first_case(page)
    assert keyring_call(page, "ping")["unlocked"] == [crypto.b64encode(pair.public_key)]
    # The session ends without a sign-out (it expired, say) and someone signs in on this browser.
    page.context.clear_cookies()
    page.goto(f"{base_url}/staff/login")
    page.wait_for_selector('#login-form[data-ready="1"]')
    page.wait_for_function("""async () => {
      const worker = new SharedWorker(document.body.dataset.keyring,
        { name: "integrity-keyring", extendedLifetime: true });
      return new Promise((resolve) => {
        worker.port.onmessage = (event) => resolve(event.data.result.unlocked.length === 0);
        worker.port.postMessage({ id: 1, op: "ping" });
      });
    }""")
    assert keyring_call(page, "ping") == EMPTY


def test_an_empty_keyring_asks_for_the_passphrase_on_the_case_page(
    page, base_url: str, app: Flask, db: Session, channel: ChannelSetup, make_account
) -> None:
    account, pair = inspector_with_a_case(app, db, make_account, channel, TEXT)
    sign_in_in_browser(page, base_url, account)
    page.wait_for_url("**/cases/")
    # As after the idle time (tests/js/keyring.test.mjs moves that clock).
    keyring_call(page, "wipe")
    page.locator("table a").first.click()
    page.wait_for_selector("#unlock-form:not([hidden])")
    page.get_by_label("Your passphrase").fill("not my passphrase at all")
    page.get_by_role("button", name="Open the case").click()
    error = page.locator("#unlock-passphrase-error")
    error.wait_for()
    assert "does not unlock your key" in error.inner_text()
    assert page.input_value("#unlock-passphrase") == ""  # never kept in the field
    page.get_by_label("Your passphrase").fill(account.password)
    page.get_by_role("button", name="Open the case").click()
    page.wait_for_selector('#case-content[data-opened="1"]')
    assert TEXT in page.inner_text("#case-answers")
    assert keyring_call(page, "ping")["unlocked"] == [crypto.b64encode(pair.public_key)]
    _assert_no_secret_in(page, _secrets(app, db, account, pair))


def test_without_shared_workers_each_page_asks_for_the_passphrase(
    open_page, base_url: str, app: Flask, db: Session, channel: ChannelSetup, make_account
) -> None:
    page = open_page()
    page.add_init_script("delete window.SharedWorker")
    account, _pair = inspector_with_a_case(app, db, make_account, channel, TEXT)
    sign_in_in_browser(page, base_url, account)
    page.wait_for_url("**/cases/")  # the key page found nothing to complete and went on
    for _ in range(2):
        page.goto(f"{base_url}/cases/")
        page.locator("table a").first.click()
        page.get_by_label("Your passphrase").fill(account.password)
        page.get_by_role("button", name="Open the case").click()
        page.wait_for_selector('#case-content[data-opened="1"]')
        assert TEXT in page.inner_text("#case-answers")
    assert stored_in_page(page) == NOTHING_STORED
    assert page.console_errors == []


def test_a_key_file_protected_with_a_passphrase_opens_the_case(
    page, base_url: str, app: Flask, db: Session, channel: ChannelSetup, make_account
) -> None:
    account, pair = inspector_with_a_case(app, db, make_account, channel, TEXT)
    user = db.get(User, account.id)
    user.wrapped_secret_key = None  # a key made offline: only its public half is stored
    db.commit()
    key_file = {"name": "inspector.key", "mimeType": "application/json",
                "buffer": crypto.dump_key_file(pair, "Offline", "four words kept apart",
                                               opslimit=2, memlimit=8388608).encode()}
    sign_in_in_browser(page, base_url, account)
    page.wait_for_url("**/cases/")
    page.locator("table a").first.click()
    page.set_input_files("#key-file", files=[key_file])
    page.get_by_label("Passphrase of the key file").fill("not the one")
    page.get_by_role("button", name="Open the case").click()
    page.locator("#key-file-error").wait_for()
    page.get_by_label("Passphrase of the key file").fill("four words kept apart")
    page.get_by_role("button", name="Open the case").click()
    page.wait_for_selector('#case-content[data-opened="1"]')
    assert TEXT in page.inner_text("#case-answers")
    assert stored_in_page(page) == NOTHING_STORED
