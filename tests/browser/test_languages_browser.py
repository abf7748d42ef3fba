"""Real Chromium, in Arabic and in Russian, with the page scripts and without them: a reporter
files a report from the start page, reads the receipt and opens the mailbox with it; a
respondent answers a survey with an access code. On every page: the document's language and
direction, headings and buttons as the catalog words them, nothing axe-core finds, no cookie."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask_babel import force_locale, gettext, pgettext
from sqlalchemy.orm import Session

from integrity.models import today
from tests.conftest import ChannelSetup
from tests.helpers.browser import RECEIPT_TEXT, fill_report_form
from tests.helpers.surveys import open_survey
from tests.helpers.walks import AXE_SOURCE, PHONE, RUN_AXE, SHOW_NOSCRIPT

LANGUAGES = ("ar", "ru")


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # An onion address: every anonymous page's footer shows it, and must still fit a phone.
    return {"languages": ("en", *LANGUAGES),
            "onion_url": "http://integrityexample2345abcdefghijklmnopqrstuvwxyz234567abcd.onion"}


@dataclass
class Walk:
    """One person's way through the pages in ``language``; each page is checked as it comes.

    ``scripts`` says whether the page scripts run. Without them, the pages are walked twice:
    in Chromium with JavaScript off (what such a visitor gets), and with only the
    application's scripts refused, so that axe can run on the same server-made pages and
    their <noscript> notices.
    """

    app: Flask
    base_url: str
    language: str
    page: Any
    scripts: bool
    axe: bool
    problems: list[str] = field(default_factory=list)

    def says(self, msgid: str, context: str | None = None) -> str:
        """``msgid`` as the catalog of the walk's language words it."""
        with self.app.test_request_context(), force_locale(self.language):
            return pgettext(context, msgid) if context else gettext(msgid)

    def check(self, heading: str | None, buttons: list[str | tuple[str, str]]) -> None:
        """The page as it is now: language, direction, visible heading and buttons, axe."""
        page = self.page
        page.wait_for_load_state()
        where = urlsplit(page.url)
        where_text = f"{self.language} {where.path}"
        assert parse_qs(where.query).get("lang") == [self.language], page.url
        html = page.locator("html")
        assert html.get_attribute("lang") == self.language, where_text
        direction = "rtl" if self.language == "ar" else "ltr"
        assert html.get_attribute("dir") == direction, where_text
        site = self.says("Integrity")
        if heading is not None:
            expected = self.says(heading)
            assert expected != heading, f"{heading!r} has no {self.language} translation"
            assert page.locator("h1").inner_text().strip() == expected, where_text
            assert page.title() == f"{expected} · {site}", where_text
        else:
            assert page.title().endswith(f" · {site}"), where_text
        expected_buttons = sorted(
            self.says(*b) if isinstance(b, tuple) else self.says(b) for b in buttons)
        shown = sorted(b.inner_text().strip() for b in page.locator("button:visible").all())
        assert shown == expected_buttons, where_text
        assert page.context.cookies() == [], where_text
        if self.axe:
            if not self.scripts:
                page.evaluate(SHOW_NOSCRIPT)
            if not page.evaluate("typeof axe !== 'undefined'"):
                page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
        size = page.viewport_size
        for viewport in (size, PHONE):  # at the desktop's width and at a phone's
            page.set_viewport_size(viewport)
            width = page.evaluate("document.scrollingElement.scrollWidth")
            if width > viewport["width"]:
                self.problems.append(f"{where_text}: {width} px wide in a {viewport['width']} px"
                                     " window")
            if self.axe:
                self.run_axe(f"{where_text} at {viewport['width']} px")
        page.set_viewport_size(size)

    def run_axe(self, where: str) -> None:
        for violation in self.page.evaluate(RUN_AXE):
            nodes = "; ".join(violation["nodes"][:5])
            self.problems.append(f"{where}: {violation['rule']} ({violation['help']}): {nodes}")

    def finish(self) -> None:
        assert not self.problems, "found:\n" + "\n".join(self.problems)


@contextlib.contextmanager
def walking(browser, app: Flask, base_url: str, language: str,
            scripts: bool, javascript: bool) -> Iterator[Walk]:
    """A browser that asks for English; the page scripts refused if ``scripts`` is false
    (JavaScript itself stays on only if ``javascript``, for axe)."""
    context = browser.new_context(locale="en-GB", java_script_enabled=javascript)
    if javascript and not scripts:
        context.route("**/static/dist/*", lambda route: route.abort())
        context.route("**/static/js/*", lambda route: route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        walk = Walk(app, base_url, language, page, scripts, axe=javascript)
        yield walk
        walk.finish()
        assert errors == []
    finally:
        context.close()


# Buttons on every anonymous page: the language picker's.
PICKER = ["Change language"]


def report_and_mailbox(walk: Walk, channel: ChannelSetup) -> None:
    from playwright.sync_api import expect

    page = walk.page
    page.goto(f"{walk.base_url}/?lang={walk.language}")
    walk.check("Report wrongdoing safely", PICKER)
    page.locator("a[href^='/report?']").click()
    walk.check("Choose where to report", PICKER)
    page.locator(f"a[href^='/report/{channel.slug}?']").click()
    if walk.scripts:
        expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    elif walk.axe:  # JavaScript on, the page's scripts refused: the line waits for them
        expect(page.locator("#mode")).to_have_attribute("data-mode", "loading")
    else:  # JavaScript off: the <noscript> line, and css/noscript.css hides the other
        expect(page.locator("#mode-off")).to_be_visible()
        expect(page.locator("#mode")).to_be_hidden()
    assert urlsplit(page.url).path == f"/report/{channel.slug}"
    # With its scripts, the form and the mailbox offer to record a voice message.
    voice = [("Record", "voice recorder")] if walk.scripts else []
    walk.check(None, ["Send the report", *voice, *PICKER])
    page.locator("#submit-report").click()  # nothing answered yet: refused, in plain words
    refusal = walk.says("Please answer “%(label)s”.") % {"label": "What happened?"}
    expect(page.locator("main")).to_contain_text(refusal)
    walk.check(None, ["Send the report", *voice, *PICKER])
    fill_report_form(page, channel.slug)
    page.locator("#submit-report").click()
    if walk.scripts:
        expect(page.locator("#receipt-panel")).to_be_visible()
        expect(page.locator("#receipt-heading")).to_have_text(
            walk.says("Your report was received"))
        walk.check(None, ["Copy", "Print", *PICKER])
    else:
        walk.check("Your report was received", PICKER)
    receipt = page.locator("#receipt").inner_text().strip()
    assert RECEIPT_TEXT.match(receipt), receipt

    page.locator(".receipt-box ~ p a.button, #receipt-panel a.button").first.click()
    assert urlsplit(page.url).path == "/mailbox"
    if walk.scripts:
        expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    walk.check("Your mailbox", [("Open", "button"), *PICKER])
    page.fill("#receipt-input", receipt)
    page.locator("#mailbox-form button[type=submit]").click()
    expect(page.locator("#report-answers")).to_be_visible()
    downloads = [walk.says("Download %(name)s") % {"name": "evidence.bin"}]
    opened = ["Send", "Close the mailbox", "Send the report of retaliation", "No more check-ins",
              *voice, *PICKER]
    walk.check("Your mailbox", opened + downloads)
    page.fill("#reply-text", "It happened again on Friday.")
    page.locator("#reply-form button[type=submit]").click()
    expect(page.get_by_text(walk.says("Your message was sent."))).to_be_visible()
    thread = page.locator("#thread")
    expect(thread).to_contain_text("It happened again on Friday.")
    expect(thread).to_contain_text(f"{walk.says('You')} ·")
    walk.check("Your mailbox", opened + downloads)
    # Other ways to report, and the reporter's rights, from the footer of every page.
    page.locator(".site-footer a[href*='/rights?']").click()
    assert urlsplit(page.url).path.endswith("/rights"), page.url
    walk.check("Other ways to report, and your rights", PICKER)


DIGIT_SENTENCES = (
    "Your digit is %(digit)s: answer “Yes”, whatever the truth.",
    "Your digit is %(digit)s: answer “No”, whatever the truth.",
    "Your digit is %(digit)s: answer truthfully.",
)


def survey(walk: Walk, code: str) -> None:
    from playwright.sync_api import expect

    page = walk.page
    page.goto(f"{walk.base_url}/?lang={walk.language}")
    page.locator("a[href^='/survey']").click()
    walk.check("Integrity survey", ["Start the survey", *PICKER])
    page.locator("#code").fill("7KQ2-M9XD-4RTB")  # well formed, never issued
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#code-error")).to_have_text(
        walk.says("That access code is not valid. Check it and try again."))
    walk.check("Integrity survey", ["Start the survey", *PICKER])
    page.locator("#code").fill(code)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#survey-form")).to_be_visible()
    if walk.scripts:
        page.wait_for_function("!location.search.includes('code=')")
        step = page.locator("#survey-step")
        expect(step).to_have_text(walk.says("Part %(number)d of %(count)d")
                                  % {"number": 1, "count": 4})
        walk.check(None, ["Next", *PICKER])
        page.locator("input[name=q-lead][value='4']").check()
        page.locator("#survey-next").click()
        walk.check(None, ["Back", "Next", *PICKER])
        page.locator("#survey-next").click()  # a required question left unanswered
        expect(page.locator("main")).to_contain_text(walk.says("Please answer this question."))
        page.locator("input[name=q-aware][value=no]").check()
        page.locator("#survey-next").click()
        walk.check(None, ["Back", "Next", "Draw a digit", *PICKER])
        page.locator("#q-accepted-field [data-die] button").click()
        drawn = page.locator("#q-accepted-field [data-die-result]").inner_text().strip()
        assert drawn in {walk.says(sentence) % {"digit": digit} for digit in "0123456789"
                         for sentence in DIGIT_SENTENCES}, drawn
        page.locator("#survey-next").click()
        expect(step).to_have_text(walk.says("Part %(number)d of %(count)d")
                                  % {"number": 4, "count": 4})
        walk.check(None, ["Back", "Send my answers", *PICKER])
    else:
        walk.check(None, ["Send my answers", *PICKER])
        page.locator("input[name=q-lead][value='4']").check()
        page.locator("input[name=q-aware][value=no]").check()
    page.locator("#survey-submit").click()
    expect(page.locator("h1")).to_have_text(walk.says("Thank you"))
    walk.check("Thank you", PICKER)


# The pages do not depend on the database: SQLite alone is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("scripts", [True, False], ids=["javascript", "no-javascript"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_reporter_and_respondent_walk_in_the_language_of_the_address(
    browser, app: Flask, base_url: str, db: Session, channel: ChannelSetup,
    language: str, scripts: bool,
) -> None:
    from integrity.channels import add_channel

    add_channel(db, "customs", "Customs declarations")  # two channels: the reporter chooses
    setup = open_survey(db, today=today())
    # With the scripts: one walk, axe included. Without: in Chromium with JavaScript off, then
    # with JavaScript on for axe but the application's scripts refused.
    for number, javascript in enumerate([True] if scripts else [False, True]):
        with walking(browser, app, base_url, language, scripts, javascript) as walk:
            report_and_mailbox(walk, channel)
            survey(walk, setup.code_for(0, number))
