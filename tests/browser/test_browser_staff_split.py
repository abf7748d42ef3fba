"""The staff pages in real Chromium when the split of a passphrase on the device fails (the
worker cannot load, the sign-in parameters answer 429 or 500): the page says what failed,
clears the passphrase and sends nothing; and with JavaScript off, administrators, managers and
auditors sign in on a form of their own while inspectors are told why they cannot."""

from __future__ import annotations

import json
from urllib.parse import quote_plus

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from integrity.auth import invitations
from integrity.models import Role
from tests.helpers.browser import RecordingApp, sign_in_in_browser

NEW_PASSPHRASE = "marble otter seven lanterns"
NEEDS_SCRIPT = ("Inspectors need JavaScript to sign in, because their passphrase also unlocks "
                "their key and must stay on their device.")
PLAIN_REFUSAL = ("That e-mail address and passphrase do not match, or the account is an "
                 "inspector's: inspectors need JavaScript to sign in, because their passphrase "
                 "also unlocks their key and must stay on their device.")
SAID = {
    "worker": "This browser could not start the part of the page that splits your passphrase "
              "on this device, so nothing was sent.",
    "limited": "Too many sign-in requests came from this network just now, so nothing was "
               "sent: wait a minute and try again.",
    "server": "The server could not prepare the split of your passphrase, so nothing was "
              "sent: try again in a moment.",
    "memory": "This device could not split your passphrase (it may be short of memory), so "
              "nothing was sent: close other tabs and try again.",
}


def _break(page, failure: str) -> None:
    """Make the split fail: the keyring cannot start (its script does not load, and pages from
    now on have no workers, so that one already running is out of reach), or the parameters
    are refused."""
    if failure == "worker":
        page.route("**/dist/keyring.js*", lambda route: route.abort())
        page.add_init_script("delete window.SharedWorker; delete window.Worker;")
        return
    if failure == "memory":
        # A cost no device can pay: Argon2 cannot have four tebibytes.
        answer = {"status": 200, "body": json.dumps({
            "salt": "AAAAAAAAAAAAAAAAAAAAAA", "opslimit": 1, "memlimit": 2**42})}
    else:
        answer = {"status": 429 if failure == "limited" else 500,
                  "body": '{"error": "Refused."}'}
    page.route("**/staff/login/params", lambda route: route.fulfill(
        content_type="application/json", **answer))


def _wait_for_answer(page) -> None:
    """Until the page shows an error: its own, or the server's after a submission."""
    page.wait_for_selector("#form-error:visible, p.error:visible")


def _sent_nowhere(page, recorder: RecordingApp, *secrets: str) -> None:
    """No request body, as Chromium sent it or as the server received it, holds a secret."""
    bodies = [sent.body or b"" for sent in page.sent] + [r.body for r in recorder.received]
    for secret in secrets:
        for form in (secret.encode(), quote_plus(secret).encode()):
            assert not any(form in body for body in bodies), secret


@pytest.mark.parametrize("failure", ["worker", "limited", "server", "memory"])
def test_a_failed_split_at_sign_in_sends_no_passphrase(
        page, base_url: str, recorder: RecordingApp, make_account, failure: str) -> None:
    from playwright.sync_api import expect

    inspector = make_account(Role.INSPECTOR)
    _break(page, failure)
    page.goto(f"{base_url}/staff/login")
    page.wait_for_selector("#login-form[data-ready]")
    page.get_by_label("E-mail address").fill(inspector.email)
    page.get_by_label("Passphrase").fill(inspector.password)
    page.get_by_role("button", name="Continue").click()
    _wait_for_answer(page)
    _sent_nowhere(page, recorder, inspector.password)
    expect(page.locator("#form-error")).to_have_text(SAID[failure])
    expect(page.get_by_label("Passphrase")).to_have_value("")
    if failure == "worker":
        expect(page.locator("#login-mode")).to_contain_text(NEEDS_SCRIPT)
    assert page.url == f"{base_url}/staff/login"
    assert recorder.posts("/staff/login") == []
    _sent_nowhere(page, recorder, inspector.password)
    if failure != "worker":
        # Once the parameters answer again, the same page signs in.
        page.unroute("**/staff/login/params")
        page.get_by_label("Passphrase").fill(inspector.password)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/staff/login/code")
        _sent_nowhere(page, recorder, inspector.password)


@pytest.mark.parametrize("failure", ["worker", "limited"])
def test_a_failed_split_on_the_passphrase_page_sends_neither_passphrase(
        page, base_url: str, recorder: RecordingApp, make_account, failure: str) -> None:
    from playwright.sync_api import expect

    inspector = make_account(Role.INSPECTOR)
    sign_in_in_browser(page, base_url, inspector)
    page.wait_for_url("**/cases/")
    _break(page, failure)
    page.goto(f"{base_url}/staff/password")
    page.wait_for_selector("#password-form[data-ready]")
    page.get_by_label("Current passphrase").fill(inspector.password)
    page.get_by_label("New passphrase", exact=True).fill(NEW_PASSPHRASE)
    page.get_by_label("New passphrase again").fill(NEW_PASSPHRASE)
    page.get_by_role("button", name="Change passphrase").click()
    _wait_for_answer(page)
    _sent_nowhere(page, recorder, inspector.password, NEW_PASSPHRASE)
    expect(page.locator("#form-error")).to_have_text(SAID[failure])
    for label in ("Current passphrase", "New passphrase", "New passphrase again"):
        expect(page.get_by_label(label, exact=True)).to_have_value("")
    assert recorder.posts("/staff/password") == []
    _sent_nowhere(page, recorder, inspector.password, NEW_PASSPHRASE)


def test_a_failed_split_on_the_set_up_page_sends_no_passphrase(
        page, base_url: str, recorder: RecordingApp, db: Session, app: Flask) -> None:
    from playwright.sync_api import expect

    _, token = invitations.invite(db, email="nadia@example.org", name="Nadia Novak",
                                  role=Role.INSPECTOR, hours=1)
    db.commit()
    _break(page, "worker")
    page.goto(f"{base_url}/staff/setup/{token}")
    page.wait_for_selector("#setup-form[data-ready]")
    expect(page.locator("#setup-needs-script")).to_be_visible()
    page.get_by_label("Passphrase", exact=True).fill(NEW_PASSPHRASE)
    page.get_by_label("Passphrase again").fill(NEW_PASSPHRASE)
    page.get_by_role("button", name="Set my passphrase").click()
    _wait_for_answer(page)
    _sent_nowhere(page, recorder, NEW_PASSPHRASE)
    expect(page.locator("#form-error")).to_have_text(SAID["worker"])
    expect(page.get_by_label("Passphrase", exact=True)).to_have_value("")
    assert recorder.posts("/staff/setup") == []
    _sent_nowhere(page, recorder, NEW_PASSPHRASE)


def test_without_javascript_managers_sign_in_and_inspectors_are_told_why_not(
        browser, base_url: str, make_account) -> None:
    from playwright.sync_api import expect

    manager, inspector = make_account(Role.MANAGER), make_account(Role.INSPECTOR)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{base_url}/staff/login")
        notice = page.locator("#needs-script")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text(NEEDS_SCRIPT)
        page.get_by_role("link", name="Administrators, managers and auditors can sign in without "
                                       "JavaScript.").click()
        page.wait_for_url("**/staff/login?form=plain")
        page.get_by_label("E-mail address").fill(inspector.email)
        page.get_by_label("Passphrase").fill(inspector.password)
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("#plain-login-form .error")).to_have_text(PLAIN_REFUSAL)
        page.get_by_label("E-mail address").fill(manager.email)
        page.get_by_label("Passphrase").fill(manager.password)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/dashboard/")
    finally:
        context.close()
