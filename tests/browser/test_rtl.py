"""Arabic, right to left, in real Chromium at a phone's width: every page walked is laid out from
the right, fits the screen, and keeps what must read left to right (the receipt, access codes,
fingerprints, e-mail addresses, numbers typed in) left to right. A static check keeps physical
left/right properties out of the stylesheets, so a new rule cannot undo this quietly.

The browser asks for Arabic the way a person's browser does (its locale and Accept-Language);
the application offers English and Arabic. SQLite alone: the database does not change a layout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrity.app import create_app
from tests.conftest import totp_now
from tests.helpers.browser import browser_settings
from tests.helpers.walks import PHONE, Person, Site, demo_database, serve_demo

ROOT = Path(__file__).resolve().parents[2]
CSS = ROOT / "static" / "css"

PHYSICAL = re.compile(
    r"margin-left|margin-right|padding-left|padding-right|(?<![\w-])left\s*:|(?<![\w-])right\s*:"
    r"|text-align\s*:\s*(left|right)|float\s*:\s*(left|right)"
    r"|border-left|border-right|inset-left|inset-right")
# Physical rules that must stay physical, each with its reason ("file: rule" -> why). Empty
# today: every rule in static/css reads in the page's direction.
PHYSICAL_ALLOWED: dict[str, str] = {}

# Where a page lays out its text: its direction, whether it fits, where its heading starts, and
# every element whose content must read left to right whatever the language.
LAYOUT = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const heading = document.querySelector("main h1");
  // The right edge of the heading's first line: where a right-to-left line starts.
  let start = null;
  if (heading) {
    const range = document.createRange();
    range.selectNodeContents(heading);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0);
    if (rects.length) {
      const top = Math.min(...rects.map((r) => r.top));
      start = Math.max(...rects.filter((r) => r.top < top + 4).map((r) => r.right));
    }
  }
  const ltrOnly = [...document.querySelectorAll(
    "#receipt, .receipt, code, .link-box, .code-input, input[type=email], input[type=url], " +
    "input[type=number], input[inputmode=numeric], input[name=code]:not([type=hidden]), .ltr")];
  return {
    dir: root.getAttribute("dir"), lang: root.getAttribute("lang"),
    bodyDir: getComputedStyle(document.body).direction,
    width, scrollWidth: document.scrollingElement.scrollWidth,
    headingStart: start,
    notLtr: ltrOnly.filter((el) => getComputedStyle(el).direction !== "ltr")
      .map((el) => el.outerHTML.slice(0, 100)),
  };
}"""

# The receipt's digits, left to right on the screen: each digit stands to the right of the one
# before it (in a right-to-left paragraph, digit groups would otherwise run from the right).
RECEIPT_ORDER = """(el) => {
  const node = el.firstChild;
  const spots = [];
  for (let i = 0; i < node.data.length; i++) {
    if (!/\\d/.test(node.data[i])) continue;
    const range = document.createRange();
    range.setStart(node, i);
    range.setEnd(node, i + 1);
    for (const rect of range.getClientRects()) spots.push([rect.top, rect.left]);
  }
  return spots;
}"""

# A left-to-right phrase inside an element (a question an administrator wrote in English): where
# its first and its last letter stand. In its own order the first is left of the last.
PHRASE_ENDS = """(el) => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let node = walker.nextNode();
  while (node && !/[A-Za-z]/.test(node.data)) node = walker.nextNode();
  const text = node.data.trimEnd();
  const spot = (i) => {
    const range = document.createRange();
    range.setStart(node, i);
    range.setEnd(node, i + 1);
    return range.getBoundingClientRect().left;
  };
  return [text.trimStart()[0], spot(node.data.search(/\\S/)), text.at(-1), spot(text.length - 1)];
}"""


def _progress_fill_side(page: Any) -> str:
    """Which side of the report form's progress bar fills first: the columns of the bar that
    change between empty and a quarter done, seen in Chromium's own drawing of it."""
    import io

    from PIL import Image

    bar = page.locator("#progress")
    show = "(on) => { const area = document.getElementById('progress-area'); " \
           "area.hidden = !on; area.style.display = on ? '' : 'none'; }"
    page.evaluate(show, True)
    shots = []
    for value in (0, 0.25):
        bar.evaluate("(el, value) => { el.value = value; }", value)
        shots.append(Image.open(io.BytesIO(bar.screenshot())).convert("RGB"))
    page.evaluate(show, False)
    width, height = shots[0].size
    changed = [x for x in range(width)
               if shots[0].getpixel((x, height // 2)) != shots[1].getpixel((x, height // 2))]
    assert changed, "the progress bar did not change"
    return "right" if min(changed) > width / 2 else "left"


def _css_rules(path: Path) -> Iterator[tuple[int, str]]:
    """Each line of a stylesheet with its comments blanked out."""
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group()), path.read_text(),
                  flags=re.S)
    yield from enumerate(text.splitlines(), start=1)


def test_stylesheets_use_no_physical_left_or_right() -> None:
    found = []
    for sheet in sorted(CSS.glob("*.css")):
        for number, line in _css_rules(sheet):
            for rule in filter(None, (r.strip() for r in re.split(r"[{;}]", line))):
                if PHYSICAL.search(rule) and f"{sheet.name}: {rule}" not in PHYSICAL_ALLOWED:
                    found.append(f"{sheet.name}:{number}: {rule}")
    assert not found, "physical left/right in the stylesheets:\n" + "\n".join(found)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory,
         schema_templates: dict[str, str]) -> Iterator[Site]:
    """The demo data served in English and Arabic."""
    folder = tmp_path_factory.mktemp("rtl")
    app = create_app(browser_settings(folder, demo_database(folder, schema_templates),
                                   languages=("en", "ar")))
    with serve_demo(app) as served:
        _leave_untranslated(app, "what", "ar")
        yield served


def _leave_untranslated(app: Any, key: str, language: str) -> None:
    """The demo's questions come in every language; this one keeps only the words its
    administrator wrote in English, as a question not yet translated reads on an Arabic page."""
    from sqlalchemy import select

    from integrity.db import new_session
    from integrity.models import Question

    with app.app_context():
        session = new_session(app)
        for question in session.scalars(select(Question).where(Question.key == key)):
            question.translate(language, {"label": ""})
        session.commit()
        session.close()


class ArabicWalk:
    """One person reading the site in Arabic on a phone; each page reached is measured."""

    def __init__(self, site: Site, browser: Any, *, scripts: bool = True) -> None:
        self.site = site
        self.context = browser.new_context(locale="ar", viewport=PHONE,
                                           extra_http_headers={"Accept-Language": "ar"})
        if not scripts:  # the pages as a browser without JavaScript gets them
            self.context.route("**/static/dist/*", lambda route: route.abort())
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.seen: list[str] = []

    def goto(self, path: str) -> None:
        self.page.goto(self.site.url + path)
        self.check()

    def check(self) -> None:
        """Direction, fit, where the heading starts and what must stay left to right."""
        page = self.page
        page.wait_for_load_state()
        path = page.url.removeprefix(self.site.url)
        self.seen.append(path)
        found = page.evaluate(LAYOUT)
        if (found["dir"], found["lang"], found["bodyDir"]) != ("rtl", "ar", "rtl"):
            self.problems.append(f"{path}: not Arabic right to left: {found}")
        if found["scrollWidth"] > found["width"]:
            self.problems.append(f"{path}: {found['scrollWidth']} px wide on a "
                                 f"{found['width']} px screen")
        # The page's padding is 1rem: the heading's first letter sits that far from the right.
        start = found["headingStart"]
        if start is None or not found["width"] - 24 <= start <= found["width"]:
            self.problems.append(f"{path}: the heading starts at {start} px, not at the right "
                                 f"of a {found['width']} px screen")
        for element in found["notLtr"]:
            self.problems.append(f"{path}: not left to right: {element}")

    def sign_in(self, person: Person) -> None:
        """Both sign-in steps, typed as a person would; the pages on the way are measured."""
        page = self.page
        page.goto(f"{self.site.url}/staff/login")
        page.wait_for_selector('#login-form[data-ready="1"]')
        self.check()
        page.fill("#email", person.email)
        page.fill("#passphrase", person.password)
        page.click("#login-form button[type=submit]")
        if person.totp_secret:
            page.wait_for_url("**/staff/login/code")
            self.check()
            page.fill("#code", totp_now(person.totp_secret))
            page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r".*/(cases|dashboard|admin)/?$"))

    def finish(self) -> None:
        self.context.close()
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def arabic(site: Site, browser: Any) -> Iterator[ArabicWalk]:
    walk = ArabicWalk(site, browser)
    yield walk
    walk.context.close()


def test_reporter_pages_read_right_to_left_on_a_phone(arabic: ArabicWalk) -> None:
    from playwright.sync_api import expect

    from surveys.demo import DEMO_CODES

    page = arabic.page
    arabic.goto("/")
    # The skip link, first reached with Tab, shows at the top right.
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box and box["x"] + box["width"] >= PHONE["width"] - 16 and box["y"] >= 0
    arabic.goto("/report/integrity")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    assert _progress_fill_side(page) == "right"
    # The question as the administrator wrote it (in English only), "What happened?", not
    # "?What happened".
    first, first_at, last, last_at = page.locator("label[for=q-what]").evaluate(PHRASE_ENDS)
    assert (first, last) == ("W", "?")
    assert first_at < last_at, "the English question is reordered by the Arabic page around it"
    page.fill("#q-what", "الضابط في المسار 4 أخذ نقودًا.")
    page.check("input[name=q-ongoing][value=yes]")
    page.click("#submit-report")
    receipt = page.locator("#receipt")
    expect(receipt).to_be_visible()
    arabic.check()
    _assert_digits_run_left_to_right(receipt)
    digits = receipt.inner_text()

    arabic.goto("/mailbox")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    page.fill("#receipt-input", digits)
    page.click("main form button[type=submit]")
    expect(page.locator("#report-answers")).to_be_visible()
    arabic.check()

    arabic.goto("/survey")
    page.fill("#code", DEMO_CODES[0])
    page.click("main form button[type=submit]")
    expect(page.locator("#survey-pager")).to_be_visible()
    arabic.check()
    arabic.finish()

    # Without the page scripts the server files the report and shows the receipt on a page.
    plain = ArabicWalk(arabic.site, arabic.page.context.browser, scripts=False)
    plain.goto("/report/integrity")
    plain.page.fill("#q-what", "الضابط في المسار 4 أخذ نقودًا.")
    plain.page.click("#submit-report")
    expect(plain.page.locator("#receipt")).to_be_visible()
    plain.check()
    _assert_digits_run_left_to_right(plain.page.locator("#receipt"))
    plain.finish()


def _assert_digits_run_left_to_right(receipt: Any) -> None:
    assert receipt.evaluate("el => getComputedStyle(el).direction") == "ltr"
    spots = receipt.evaluate(RECEIPT_ORDER)
    assert len(spots) == 20
    assert spots == sorted(spots), "the receipt's digits do not run left to right"


def test_staff_pages_read_right_to_left_on_a_phone(site: Site, browser: Any) -> None:
    inspector = ArabicWalk(site, browser)
    inspector.sign_in(site.people["inspector"])
    inspector.check()  # the inbox
    inspector.page.locator("table a").first.click()
    inspector.page.wait_for_selector('#case-content[data-opened="1"]')
    inspector.check()
    inspector.goto("/staff/key")
    inspector.finish()

    manager = ArabicWalk(site, browser)
    manager.sign_in(site.people["manager"])
    manager.check()  # the dashboard
    manager.goto("/dashboard/trends")
    manager.finish()

    admin = ArabicWalk(site, browser)
    admin.sign_in(site.people["admin"])
    admin.goto("/admin/users")
    admin.goto(f"/admin/users/{site.ids['keyless']}")
    admin.goto("/admin/settings")
    admin.finish()



# What sticks out past the right or left edge of the screen (positioned elements escape the
# scrolling region of their table unless it is positioned itself).
OUTSIDE = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll("main *")].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && (box.right > width + 1 || box.left < -1)
      && (!el.parentElement.closest(".table-wrap") || getComputedStyle(el).position === "absolute");
  }).map((el) => el.outerHTML.slice(0, 80)).slice(0, 5);
}"""


def test_a_survey_wave_s_results_fit_a_phone(site: Site, browser: Any) -> None:
    """The widest page of the dashboard: its tables scroll in their own labelled region and the
    page itself does not scroll sideways at 360 px, read in Arabic or in English."""
    arabic = ArabicWalk(site, browser)
    arabic.sign_in(site.people["manager"])
    for wave in site.ids["waves"]:
        arabic.goto(f"/dashboard/surveys/waves/{wave}")
    arabic.finish()
    context = browser.new_context(locale="en", viewport=PHONE,
                                  extra_http_headers={"Accept-Language": "en"})
    english = ArabicWalk(site, browser)
    english.context.close()
    english.context, english.page = context, context.new_page()
    english.sign_in(site.people["manager"])
    for wave in site.ids["waves"]:
        english.page.goto(f"{site.url}/dashboard/surveys/waves/{wave}")
        english.page.wait_for_load_state()
        found = english.page.evaluate(LAYOUT)
        assert (found["lang"], found["dir"]) == ("en", "ltr")
        assert found["scrollWidth"] <= found["width"], (
            wave, found["scrollWidth"], english.page.evaluate(OUTSIDE))
    context.close()
