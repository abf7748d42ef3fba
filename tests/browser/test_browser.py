"""Real Chromium against the served application: sign-in with TOTP, phone width, keyboard."""

import pytest
from playwright.sync_api import expect

from integrity.models import Role
from tests.conftest import totp_now
from tests.helpers.browser import keyring_call, sign_in_in_browser


def test_inspector_signs_in_with_totp_in_chromium(page, base_url, make_account) -> None:
    inspector = make_account(Role.INSPECTOR)
    sent: list[str] = []
    bodies: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    page.on("request", lambda request: bodies.append(request.post_data or ""))
    sign_in_in_browser(page, base_url, inspector)
    page.wait_for_url("**/cases/")
    assert page.get_by_role("heading", level=1).inner_text() == "Cases"
    assert page.get_by_role("button", name="Sign out").is_visible()
    # Nothing but our own origin was asked for (the worker runs from a Blob of our own
    # script), and nothing broke the policy.
    assert sent and all(url.startswith((base_url, f"blob:{base_url}")) for url in sent), sent
    assert page.console_errors == []
    # The passphrase was split on the device: it is in no request, the derived value is.
    from urllib.parse import quote_plus

    assert not any(inspector.password in body or quote_plus(inspector.password) in body
                   for body in bodies)
    assert any("derived=1" in body for body in bodies)


def test_wrong_code_keeps_the_inspector_out(page, base_url, make_account) -> None:
    inspector = make_account(Role.INSPECTOR)
    page.goto(f"{base_url}/staff/login")
    page.wait_for_selector('#login-form[data-ready="1"]')
    page.get_by_label("E-mail address").fill(inspector.email)
    page.get_by_label("Passphrase").fill(inspector.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/staff/login/code")
    code = totp_now(inspector.totp_secret)
    page.get_by_label("Six-digit code from your authenticator app").fill(
        f"{(int(code) + 500_000) % 1_000_000:06d}"
    )
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That code is not valid")).to_be_visible()
    page.goto(f"{base_url}/cases/")
    assert "/staff/login" in page.url


def test_pages_fit_a_360_pixel_phone_and_work_by_keyboard(browser, base_url) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True)
    page = context.new_page()
    for path in ("/", "/staff/login"):
        page.goto(f"{base_url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width}px wide"
    page.goto(f"{base_url}/staff/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") in ("INPUT", "A")
    # Every form control has a label a screen reader can announce.
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
             .map(e => e.name)"""
    )
    assert unlabelled == []
    context.close()


def test_inspector_changes_a_one_time_passphrase_in_the_browser(page, base_url, make_account,
                                                                db, app) -> None:
    """The first passphrase (printed by the server) is replaced on the device; neither the
    old nor the new passphrase is sent, and the new one signs in."""
    from integrity.models import User

    inspector = make_account(Role.INSPECTOR, must_change=True, key=False)
    bodies: list[str] = []
    page.on("request", lambda request: bodies.append(request.post_data or ""))
    sign_in_in_browser(page, base_url, inspector)
    page.wait_for_url("**/staff/password")
    page.wait_for_selector('#password-form[data-ready="1"]')
    # A passphrase too easy to guess is refused on the device, before anything is split.
    page.get_by_label("Current passphrase").fill(inspector.password)
    page.get_by_label("New passphrase", exact=True).fill("password1234")
    page.get_by_label("New passphrase again").fill("password1234")
    page.get_by_role("button", name="Change passphrase").click()
    page.wait_for_selector("#form-error:visible")
    assert "harder to guess" in page.inner_text("#form-error")
    assert not any("password1234" in body for body in bodies)
    assert page.url.endswith("/staff/password")
    new = "a brand new passphrase for the key"
    page.get_by_label("Current passphrase").fill(inspector.password)
    page.get_by_label("New passphrase", exact=True).fill(new)
    page.get_by_label("New passphrase again").fill(new)
    page.get_by_role("button", name="Change passphrase").click()
    # Next, the inspector's key is made on the device.
    page.wait_for_url("**/staff/key")
    page.wait_for_selector('#key-setup[data-ready="1"]')
    page.get_by_role("button", name="Make my key").click()
    page.wait_for_url("**/cases/")
    db.expire_all()
    user = db.get(User, inspector.id)
    assert not user.must_change_password
    import crypto
    from tests.helpers.browser import staff_wrapping_key

    wrapping = staff_wrapping_key(app, user, new)
    assert user.key_scheme == 2
    secret_key = crypto.unwrap_private_key(user.wrapped_secret_key, wrapping,
                                           expected_public_key=user.public_key)
    for secret in (inspector.password, new, crypto.b64encode(wrapping),
                   crypto.b64encode(secret_key)):
        assert not any(secret in body or secret.replace(" ", "+") in body for body in bodies)
    # The new passphrase works (split the same way), the old one does not.
    from tests.conftest import sign_in_form

    client = app.test_client()
    assert client.post("/staff/login", data=sign_in_form(
        client, inspector.email, inspector.password)).status_code == 200
    assert client.post("/staff/login", data=sign_in_form(
        client, inspector.email, new)).status_code == 302


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"idle_timeout_minutes": 1}


def test_an_idle_tab_wipes_the_keyring(page, base_url, make_account) -> None:
    inspector = make_account(Role.INSPECTOR)
    page.clock.install()
    sign_in_in_browser(page, base_url, inspector)
    page.wait_for_url("**/cases/")
    assert keyring_call(page, "ping")["wrapping"] is True
    page.clock.fast_forward(30_000)
    assert keyring_call(page, "ping")["wrapping"] is True
    with page.expect_navigation():
        page.clock.fast_forward(31_000)
    assert keyring_call(page, "ping") == {
        "ready": True, "pending": False, "wrapping": False, "unlocked": []}


def test_inspector_opens_a_case_and_its_thread_in_the_browser(page, base_url, make_account,
                                                              db, app, channel) -> None:
    from sqlalchemy import select

    import crypto
    from integrity.models import Channel, User
    from tests.protocol_client import ReporterClient

    inspector = make_account(Role.INSPECTOR, key=False)
    user = db.get(User, inspector.id)
    pair = crypto.KeyPair.generate()
    wrapping = crypto.derive_staff_keys(inspector.password, user.login_salt,
                                        user.login_opslimit, user.login_memlimit).wrapping_key
    user.public_key = pair.public_key
    # Wrapped as before scheme 2: signing in moves it to scheme 2 (tests/browser/
    # test_browser_key_scheme2.py checks what is stored then).
    user.wrapped_secret_key = crypto.wrap_private_key(pair.secret_key, wrapping)
    user.key_scheme = 1
    row = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    assert row is not None
    row.recipients.append(user)
    db.commit()
    text = "The duty officer keeps seized cigarettes in his car."
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, {"what": text})
    assert reporter.reply(filed.receipt, "It happened twice in October.").status_code == 201
    bodies: list[str] = []
    page.on("request", lambda request: bodies.append(request.post_data or ""))
    sign_in_in_browser(page, base_url, inspector)
    page.wait_for_url("**/cases/")
    page.locator("table a").first.click()
    page.wait_for_selector('#case-content[data-opened="1"]')
    assert text in page.inner_text("#case-answers")
    assert "It happened twice in October." in page.inner_text("#case-thread")
    for secret in (text, crypto.b64encode(pair.secret_key), crypto.b64encode(wrapping)):
        assert not any(secret in body for body in bodies)
    assert page.console_errors == []
