"""In Chromium: a report written in Arabic with JavaScript on reads in Russian on the case page
of an inspector whose account is in Russian."""

from __future__ import annotations

from babel import Locale
from sqlalchemy import select

import crypto
from integrity.models import Channel, Role, User
from integrity.reporting.models import Report
from tests.helpers.browser import sign_in_in_browser
from tests.helpers.languages import ARABIC_HOW, translate_demo_channel


def _russian_inspector(db, make_account, slug: str):
    """An inspector whose key was made in the browser at sign-in, reading in Russian."""
    account = make_account(Role.INSPECTOR, key=False)
    user = db.get(User, account.id)
    pair = crypto.KeyPair.generate()
    wrapping = crypto.derive_staff_keys(account.password, user.login_salt,
                                        user.login_opslimit, user.login_memlimit).wrapping_key
    user.public_key = pair.public_key
    user.wrapped_secret_key = crypto.wrap_private_key(pair.secret_key, wrapping)
    user.key_scheme = 1  # as stored before scheme 2: moved to scheme 2 at sign-in
    user.language = "ru"
    # Held in a name: the session keeps loaded objects only weakly until the commit.
    channel = db.scalar(select(Channel).where(Channel.slug == slug))
    channel.recipients.append(user)
    db.commit()
    return account


def test_a_report_written_in_arabic_reads_in_russian_on_the_case_page(
        page, base_url, make_account, db, channel) -> None:
    from playwright.sync_api import expect

    translate_demo_channel(db, channel.slug)
    inspector = _russian_inspector(db, make_account, channel.slug)

    page.goto(f"{base_url}/report/{channel.slug}?lang=ar")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    expect(page.locator("h1")).to_have_text("النزاهة ومكافحة الفساد")
    page.fill("#q-what", "موظف يطلب المال")
    page.check(f"input[name=q-how_known][value='{ARABIC_HOW[1]}']")
    page.click("#submit-report")
    expect(page.locator("#receipt-panel")).to_be_visible()

    # Sealed in the page: the document says Arabic, and the choice is the Arabic option.
    report = db.scalar(select(Report))
    reader, pair = next(iter(channel.inspectors.items()))
    slot = next(s.slot for s in report.key_slots if s.reader == reader)
    document = crypto.open_document(report.payload, slot, pair.secret_key, 1024)
    assert document["language"] == "ar"
    assert document["answers"]["how_known"] == ARABIC_HOW[1]

    sign_in_in_browser(page, base_url, inspector)
    page.wait_for_url("**/cases/")
    page.locator("table a").first.click()
    page.wait_for_selector('#case-content[data-opened="1"]')
    answers = page.inner_text("#case-answers")
    arabic_in_russian = Locale.parse("ar").get_display_name("ru")
    assert arabic_in_russian[:1].upper() + arabic_in_russian[1:] in answers
    assert "Что произошло?" in answers and "Откуда вы это знаете?" in answers
    assert "Меня просили участвовать" in answers and ARABIC_HOW[1] not in answers
    assert page.console_errors == []
