"""No text on any page escapes the catalogs: every page of every role, in a pseudo-language.

The pseudo-language is made when the tests run, from the strings the sources mark today: each
translation is its English text with every letter accented, kept placeholders and tags, about a
third longer, between ⟦ and ⟧. A page shown in it has no run of plain letters left, unless a
text on it was never marked for translation, or is data (names people gave things, codes,
addresses). Chromium walks the pages as test_accessibility.py does, so the texts the page
scripts write are seen too, and pages must not grow wider than a phone's screen with the longer
texts.

The language is offered by this test's application alone: Esperanto's code, which Babel and
flask-babel know, with the catalog in a temporary folder; the installation's settings never
accept it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from sqlalchemy import select

from integrity import demo, demo_cases
from integrity.app import create_app
from integrity.cases import references
from integrity.db import new_session
from integrity.i18n import SUPPORTED_LANGUAGES
from tests.helpers import walks
from tests.helpers.browser import browser_settings
from tests.helpers.catalogs import ROOT, extract_command

PSEUDO = "eo"
PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ACCENTED = "áƀçðéƒĝĥíĵķĺɱñóþǫŕśţúṽŵẋýžÁƁÇÐÉƑĜĤÍĴĶĹṀÑÓÞǪŔŚŢÚṼŴẊÝŽ"
ACCENTS = str.maketrans(PLAIN, ACCENTED)
# What a translation keeps as it is: %-placeholders (and %%), {name}, tags and entities.
KEPT = re.compile(r"(%(?:\([^)]*\))?[-#0+]*\d*(?:\.\d+)?[a-zA-Z%]|\{\w*\}|<[^<>]*>|&#?\w+;)")
OPEN, CLOSE, FILLER = "⟦", "⟧", "ẋ"
# A word of three letters or more, or an abbreviation stuck to a number (2026 Q1, 5 h, 3d).
WORD = re.compile(r"[A-Za-z]{3,}|\b[A-Za-z]{1,2}(?=\d)|(?<=\d)[A-Za-z]{1,2}\b")
PLACEHOLDER = re.compile(r"%\(\w+\)[a-z]|\{\w+\}")
# Data however it is written: addresses (web and e-mail), paths, case references (drawn at
# random, so some have no digit: WHRM-CJFC), and codes: six characters or more with a digit
# in them (secrets, receipts, record references such as report:242).
REFERENCE = re.compile(rf"\b[{references.ALPHABET}]{{4}}-[{references.ALPHABET}]{{4}}\b")
DATA_TOKEN = re.compile(
    r"\w+://\S+|\S+@\S+|(?<!\w)/[\w/.-]+|(?=[^\s,;]*\d)[^\s,;]{6,}")

# Words that are no text to translate; each with its reason.
ALLOWED_WORDS = {
    # Names of formats and technologies, the same in every language.
    "JavaScript", "PDF", "CSV", "QR", "TOTP", "HTTPS", "Tor", "onion", "PNG", "SVG",
    # Month and day names come from locale data (Babel's for the pseudo-language's code, or
    # the browser's Intl, which knows no such language and falls back to English), not from
    # the catalogs.
    *(name for code in ("en", PSEUDO) for kind in ("months", "days")
      for width in ("abbreviated", "wide")
      for name in getattr(Locale(code), kind)["format"][width].values()),
    # So do the names of the languages a report can be written in (the case page's "Written
    # in"), as Babel writes them in the page's language.
    *(word.capitalize() for code in SUPPORTED_LANGUAGES
      for word in (Locale.parse(code).get_display_name(PSEUDO) or "").split()),
}


def accent(english: str) -> str:
    """``english`` with every letter accented, its placeholders, tags and entities kept."""
    return "".join(part if index % 2 else part.translate(ACCENTS)
                   for index, part in enumerate(KEPT.split(english)))


def pseudo(english: str) -> str:
    """The pseudo-translation: accented, about 30 % longer, between ⟦ and ⟧."""
    letters = sum(character.isalpha() for character in KEPT.sub("", english))
    padding = FILLER * math.ceil(letters * 0.3)
    # In words of five letters or fewer: longer sentences, not one unbreakable word.
    words = " ".join(padding[start:start + 5] for start in range(0, len(padding), 5))
    return f"{OPEN}{accent(english)}{' ' + words if words else ''}{CLOSE}"


def pseudo_catalog(pot: Path) -> Catalog:
    with pot.open("rb") as handle:
        template = read_po(handle)
    catalog = Catalog(locale=PSEUDO)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            string: str | tuple[str, ...] = tuple(pseudo(str(form)) for form in message.id)
        else:
            string = pseudo(str(message.id))
        catalog.add(message.id, string, context=message.context, flags=message.flags)
    return catalog


@pytest.fixture(scope="session")
def pseudo_translations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A translations folder holding the pseudo-language's compiled catalog, made from the
    strings the sources mark now (as `make babel-extract` finds them)."""
    folder = tmp_path_factory.mktemp("pseudo")
    pot = folder / "messages.pot"
    subprocess.run(extract_command(pot), cwd=ROOT, check=True, capture_output=True)
    target = folder / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as handle:
        write_mo(handle, pseudo_catalog(pot))
    return folder


def speak_pseudo(app: Flask, translations: Path) -> None:
    """Make ``app`` offer the pseudo-language alone, from ``translations``.

    The settings refuse a language without a catalog in integrity/translations/, as they
    should for an installation; this test's application is changed after it was built."""
    settings = app.extensions["integrity.settings"]
    app.extensions["integrity.settings"] = dataclasses.replace(settings, languages=(PSEUDO,))
    app.extensions["babel"].translation_directories.insert(0, str(translations))


def demo_texts(app: Flask) -> set[str]:
    """What people wrote into the demo installation: names of units, channels, categories,
    questions and campaigns, staff names and addresses, survey titles and questions."""
    from admin.units import CSV_COLUMNS
    from integrity.models import Campaign, Category, Channel, OrgUnit, Question, User
    from surveys.bank import template_names
    from surveys.models import Survey

    texts: set[str] = set()
    with app.app_context():
        db = new_session(app)
        columns = (OrgUnit.name, Channel.name, Channel.description, Category.name,
                   Question.label, Question.help_text, Campaign.name, Campaign.note,
                   User.name, User.email, Survey.title, Survey.introduction)
        for column in columns:
            texts.update(value for value in db.scalars(select(column)) if value)
        for options in db.scalars(select(Question.options)):
            texts.update(options or [])
        for definition in db.scalars(select(Survey.definition)):
            texts.update(_strings(json.loads(definition)))
        # Identifiers shown as such: channels' short names (in their addresses), questions'
        # short keys, the question bank's file names and the unit file's column names.
        texts.update(db.scalars(select(Channel.slug)))
        texts.update(db.scalars(select(Question.key)))
        db.close()
    texts.update(template_names())
    texts.update(CSV_COLUMNS)
    return texts


def language_names(app: Flask) -> set[str]:
    """The language picker's names, each written in its own language (Babel's, not ours)."""
    from integrity.i18n import language_choices

    with app.test_request_context():
        return {name for _code, name in language_choices()}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, schema_templates: dict[str, str],
         pseudo_translations: Path) -> Iterator[walks.Site]:
    folder = tmp_path_factory.mktemp("pseudo-site")
    app = create_app(browser_settings(folder, walks.demo_database(folder, schema_templates)))
    speak_pseudo(app, pseudo_translations)
    with walks.serve_demo(app) as served:
        yield served


# The texts a page shows or says: text outside scripts and styles, the title, what assistive
# technology reads (aria-label, alt, title), placeholders, button values, and the sentences
# handed to the page scripts (data-strings). Not read: machine text the pages show as such
# (<code>: keys, secrets, addresses), and the audit log's subjects and recorded facts, which
# are the log's own record.
NOT_TEXT = "script, style, noscript, template, code, kbd, samp, " \
    "table:has(#entries-caption) td:nth-child(n+5)"
VISIBLE_TEXTS = """(notText) => {
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    if (!walker.currentNode.parentElement.closest(notText)) {
      texts.push(walker.currentNode.nodeValue);
    }
  }
  for (const element of document.querySelectorAll("[placeholder], [aria-label], [alt], [title]")) {
    for (const name of ["placeholder", "aria-label", "alt", "title"]) {
      if (element.hasAttribute(name)) texts.push(element.getAttribute(name));
    }
  }
  for (const button of document.querySelectorAll(
      "input[type=submit], input[type=button], input[type=reset]")) {
    texts.push(button.value);
  }
  const strings = (value) => typeof value === "string" ? [value]
    : Object.values(value || {}).flatMap(strings);
  for (const element of document.querySelectorAll("[data-strings]")) {
    texts.push(...strings(JSON.parse(element.dataset.strings)));
  }
  return texts.map((text) => text.trim()).filter(Boolean);
}"""
# How far the page reaches past the window's right edge (left edge, right to left), and the
# innermost elements that stick out.
# The texts of the pictures the server draws (charts): their labels, titles and descriptions.
PICTURE_TEXTS = """async () => {
  const texts = [];
  for (const image of document.querySelectorAll("img[src$='.svg'], object[data$='.svg']")) {
    const source = image.src || image.data;
    if (!source.startsWith(location.origin) || source.includes("/static/")) continue;
    const drawing = new DOMParser().parseFromString(await (await fetch(source)).text(),
                                                    "image/svg+xml");
    for (const element of drawing.querySelectorAll("text, tspan, title, desc")) {
      if (!element.querySelector("tspan")) texts.push(element.textContent.trim());
    }
  }
  return texts.filter(Boolean);
}"""
# The page scripts and the keys of the sentences the page hands them.
SCRIPT_STRINGS = """() => ({
  scripts: [...document.querySelectorAll("script[src]")].map((script) => script.src),
  keys: [...document.querySelectorAll("[data-strings]")].flatMap(
    (element) => Object.keys(JSON.parse(element.dataset.strings))),
})"""
SCRIPTS = ROOT / "static" / "js"
DEFAULTS = re.compile(r"^(?:export )?const (\w+) = \{(.*?)\};", re.S | re.M)
KEY = re.compile(r"(?:^|[{,\s])(\w+):\s*[\"'`]")


def english_defaults() -> dict[str, set[str]]:
    """Each page script's sentences that it has in English (its ``STRINGS``), by key: the
    page must give every one of them translated, or the script shows the English."""
    tables = {name: body for path in SCRIPTS.glob("*.mjs")
              for name, body in DEFAULTS.findall(path.read_text(encoding="utf-8"))}

    def keys(name: str) -> set[str]:
        body = tables.get(name, "")
        found = set(KEY.findall(body))
        for spread in re.findall(r"\.\.\.(\w+)", body):
            found |= keys(spread)
        return found

    defaults = {}
    for path in SCRIPTS.glob("*.mjs"):
        table = DEFAULTS.search(path.read_text(encoding="utf-8"))
        if table and table.group(1) == "STRINGS":
            body = table.group(2)
            defaults[path.stem] = set(KEY.findall(body)).union(
                *(keys(spread) for spread in re.findall(r"\.\.\.(\w+)", body)))
    return defaults


OVERFLOW = """() => {
  const width = window.innerWidth;
  const over = document.scrollingElement.scrollWidth - width;
  if (over <= 0) return null;
  const clipped = (element) => {
    for (let up = element.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") return true;
    }
    return false;
  };
  const out = [...document.body.querySelectorAll("*")].filter((element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && (box.right > width + 1 || box.left < -1) && !clipped(element);
  });
  const innermost = out.filter((element) => !out.some(
    (other) => other !== element && element.contains(other)));
  return `${over} px: ` + innermost.slice(0, 3).map((element) =>
    element.outerHTML.slice(0, 100)).join(" | ");
}"""


class PseudoWalk(walks.Walk):
    """A walk that reads each page for text the catalogs left out, instead of running axe."""

    def __init__(self, site: walks.Site, browser: Any) -> None:
        super().__init__(site, browser)
        self.data = sorted(demo_texts(site.app) | set(DATA) | language_names(site.app),
                           key=len, reverse=True)
        self.found: set[str] = set()
        self.defaults = english_defaults()
        self.phone_checked = False  # whether pages must fit a phone's width with longer texts

    def said(self, english: str) -> str:
        return accent(english)

    def check(self, page: Any) -> None:
        page.wait_for_load_state()
        self.checked |= self.site.take_rendered()
        path = page.url.removeprefix(self.site.url)
        if not page.scripts:
            page.evaluate(walks.SHOW_NOSCRIPT)
        given = page.evaluate(SCRIPT_STRINGS) if page.scripts else {"scripts": []}
        for script in given["scripts"]:
            name = script.rsplit("/", 1)[1].removesuffix(".js")
            for key in sorted(self.defaults.get(name, set()) - set(given["keys"])):
                self.found.add(f"{path.split('?')[0]}: {name}.mjs shows its English {key!r}")
        for text in page.evaluate(VISIBLE_TEXTS, NOT_TEXT) + page.evaluate(PICTURE_TEXTS):
            for word in self.untranslated(text):
                self.found.add(f"{path.split('?')[0]}: {word!r} in {text[:160]!r}")
        if not self.phone_checked:
            return
        size = page.viewport_size
        page.set_viewport_size(walks.PHONE)
        overflow = page.evaluate(OVERFLOW)
        page.set_viewport_size(size)
        if overflow:
            self.found.add(f"{path}: wider than a {walks.PHONE['width']} px screen by {overflow}")

    def untranslated(self, text: str) -> list[str]:
        """The plain words of ``text`` that are neither pseudo-translated nor data."""
        # References first: data such as "A4" may be part of one (FDA4-DDCE).
        text = REFERENCE.sub(" ", text)
        for data in self.data:
            if data in text:
                text = text.replace(data, "◊")  # not a space: it may be part of an address
        text = PLACEHOLDER.sub(" ", text)  # in the sentences handed to the page scripts
        text = DATA_TOKEN.sub(" ", text)
        return [word for word in WORD.findall(text) if word not in ALLOWED_WORDS]

    def finish(self, role: str) -> None:
        for context in self.contexts:
            context.close()
        missing = walks.PAGES[role] - self.checked
        assert not missing, f"not checked: {sorted(missing)}"
        if self.found:
            pytest.fail("text outside the catalogs:\n" + "\n".join(sorted(self.found)),
                        pytrace=False)


# Data the walks type in or the application makes, shown back as it is.
DATA = {
    "The officer on lane 4 took cash.", "Phone lost, reported in person.", "Nadia Novak",
    "nadia@example.org", "first@example.org", "keyless@example.org", "First Inspector",
    "Keyless Inspector", "Customs declarations", "Integrity survey, next year",
    # The demo case the inbox lists first among new ones, and its reader's key fingerprint
    # (the demo's keys are published and fixed).
    "A shift supervisor lets one broker's trucks through without checks.",
    "d861 bd5d 1a91 bcca 356c",
    # What the demo case waiting for a closing confirmation says (a demo report's text).
    *demo.WHAT,
    # What the demo cases' messages say: a reporter's, feedback and final notices.
    demo.REPORTER_TEXT, demo.FEEDBACK_TEXT, demo.FINAL_NOTICE_TEXT,
    # What the demo cases that show the case features say: their reports and messages, the
    # persons concerned and their steps, risk assessments and measures, minutes, the reason
    # of a deletion and of a legal hold.
    *demo_cases.TEXTS,
    # Paper sizes (ISO 216), named so in every language.
    "A3", "A4",
}


@pytest.fixture
def walk(site: walks.Site, browser: Any) -> PseudoWalk:
    return PseudoWalk(site, browser)


def test_the_pseudo_translation_keeps_placeholders_and_tags() -> None:
    text = pseudo('Sent %(count)d of {total}, 100%% <a href="%(url)s">here</a> &amp; more')
    assert text.startswith(OPEN) and text.endswith(CLOSE)
    assert "%(count)d" in text and "{total}" in text and "100%%" in text
    assert '<a href="%(url)s">' in text and "</a>" in text and "&amp;" in text
    assert not WORD.search(KEPT.sub("", text)), text
    assert len(text) > 1.25 * len("Sent of, 100 here more")


# The pages of the anonymous walks must fit a phone's width with longer texts.
WALKS = {
    "reporter": (walks.walk_reporter_pages, True),
    "respondent": (walks.walk_survey_pages, True),
    "inspector": (walks.walk_inspector_pages, False),
    "manager": (walks.walk_manager_pages, False),
    "administrator": (walks.walk_administration_pages, False),
}


@pytest.mark.parametrize("role", WALKS)
def test_every_page_speaks_only_the_catalogs(walk: PseudoWalk, role: str) -> None:
    walk_pages, walk.phone_checked = WALKS[role]
    walk_pages(walk)
