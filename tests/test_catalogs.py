"""The translation catalogs: one per supported language, complete, well formed, keeping every
placeholder and tag of the English text, and holding every string the sources mark."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message

from integrity.catalogs import SOURCE_LANGUAGE
from integrity.i18n import SUPPORTED_LANGUAGES
from tests.helpers.catalogs import ROOT, extract_command, read_catalog

TRANSLATIONS = ROOT / "integrity" / "translations"

# Python's %-placeholders (named or not, and %%), str.format's {name}, and HTML tags.
PRINTF = re.compile(r"%(?:\(\w+\))?[-#0+]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]|%%")
BRACES = re.compile(r"\{\w*\}")
ELEMENTS = (
    "a|abbr|b|bdi|bdo|blockquote|br|button|cite|code|dd|del|dfn|div|dl|dt|em|h[1-6]|i|img|"
    "input|ins|kbd|label|li|mark|ol|p|pre|q|s|samp|small|span|strong|sub|sup|table|td|th|"
    "time|tr|u|ul|var|wbr"
)
TAG = re.compile(rf"</?(?:{ELEMENTS})(?:\s[^<>]*)?/?>", re.IGNORECASE)


def po_path(code: str) -> Path:
    return TRANSLATIONS / code / "LC_MESSAGES" / "messages.po"


def catalog(code: str) -> Catalog:
    path = po_path(code)
    if not path.is_file():
        pytest.fail(f"{code}: no catalog at {path.relative_to(ROOT)}")
    return read_catalog(path)


def entries(code: str) -> list[Message]:
    return [message for message in catalog(code) if message.id]  # without the header


def singular(message: Message) -> str:
    return str(message.id[0] if isinstance(message.id, tuple) else message.id)


def forms(message: Message) -> list[str]:
    string = message.string
    return list(string) if isinstance(string, tuple | list) else [string or ""]


def tokens(text: str) -> Counter[str]:
    """The parts a translation must keep exactly: placeholders and HTML tags."""
    return Counter(PRINTF.findall(text) + BRACES.findall(text) + TAG.findall(text))


def describe(message: Message) -> str:
    context = f" (context {message.context!r})" if message.context else ""
    return f"msgid {singular(message)!r}{context}"


@pytest.mark.parametrize("code", SUPPORTED_LANGUAGES)
def test_every_supported_language_has_a_catalog(code: str) -> None:
    assert po_path(code).is_file(), f"{code}: no catalog at {po_path(code).relative_to(ROOT)}"
    assert str(catalog(code).locale) == code


@pytest.mark.parametrize("code", SUPPORTED_LANGUAGES)
def test_no_entry_is_untranslated_or_fuzzy(code: str) -> None:
    """English is the source: its msgstr may stay empty, but nothing may be fuzzy."""
    problems = []
    for message in entries(code):
        if message.fuzzy:
            problems.append(f"fuzzy: {describe(message)}")
        elif code != SOURCE_LANGUAGE and not all(forms(message)):
            problems.append(f"untranslated: {describe(message)}")
    assert not problems, f"{code}: {len(problems)} entries to translate\n" + "\n".join(problems)


@pytest.mark.parametrize("code", SUPPORTED_LANGUAGES)
def test_msgfmt_accepts_the_catalog(code: str) -> None:
    """GNU gettext's own check: header, plural forms and python-format placeholders."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt is missing: install Debian's 'gettext' (make test-tools)")
    path = po_path(code)
    if not path.is_file():
        pytest.fail(f"{code}: no catalog at {path.relative_to(ROOT)}")
    checked = subprocess.run(
        [msgfmt, "--check", "--output-file=/dev/null", str(path)],
        capture_output=True, text=True, check=False,
    )
    errors = [line for line in checked.stderr.splitlines() if "warning:" not in line]
    assert checked.returncode == 0, f"{code}: msgfmt --check refuses the catalog\n" + "\n".join(
        errors
    )


@pytest.mark.parametrize("code", [c for c in SUPPORTED_LANGUAGES if c != SOURCE_LANGUAGE])
def test_translations_keep_every_placeholder_and_tag(code: str) -> None:
    """Each form of a plural entry is compared with msgid_plural, since in many languages the
    first form also serves numbers other than one (21 in Russian and Ukrainian)."""
    problems = []
    for message in entries(code):
        source = message.id[1] if isinstance(message.id, tuple) else message.id
        expected = tokens(str(source))
        for index, text in enumerate(forms(message)):
            if not text:
                continue  # reported as untranslated
            found = tokens(text)
            if found != expected:
                dropped = ", ".join((expected - found).elements()) or "nothing"
                added = ", ".join((found - expected).elements()) or "nothing"
                form = f" form {index}" if isinstance(message.id, tuple) else ""
                problems.append(f"{describe(message)}{form}: dropped {dropped}; added {added}"
                                f"\n    msgstr {text!r}")
    assert not problems, (
        f"{code}: {len(problems)} translations differ from their msgid in placeholders or "
        "tags\n" + "\n".join(problems)
    )


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> list[Message]:
    """The strings the templates and code mark today."""
    pot = tmp_path_factory.mktemp("extract") / "messages.pot"
    subprocess.run(extract_command(pot), cwd=ROOT, check=True, capture_output=True)
    return [message for message in read_catalog(pot) if message.id]


def key(message: Message) -> tuple[str | None, str, str | None]:
    plural = str(message.id[1]) if isinstance(message.id, tuple) else None
    return message.context, singular(message), plural


@pytest.mark.parametrize("code", SUPPORTED_LANGUAGES)
def test_catalog_holds_every_string_the_sources_mark(code: str, extracted: list[Message]) -> None:
    """A string added or changed in the sources must reach every catalog (make babel-update,
    then translate) before it lands, or it would show in English."""
    known = {key(message) for message in entries(code)}
    missing = [describe(m) + (f" / {key(m)[2]!r}" if key(m)[2] else "")
               for m in extracted if key(m) not in known]
    assert not missing, (
        f"{code}: {len(missing)} strings of the sources are not in the catalog "
        "(run make babel-update and translate them)\n" + "\n".join(missing)
    )


def test_the_comparison_sees_placeholders_and_tags_but_not_plain_text() -> None:
    assert tokens('%(count)d of %s, {name} and <a href="%(url)s">here</a>, 100%%') == Counter(
        ["%(count)d", "%s", "{name}", '<a href="%(url)s">', "%(url)s", "</a>", "%%"]
    )
    # A literal "<short name>" and French spacing before a percent sign are plain text.
    assert tokens("/report/<short name> : 50 % des cas") == Counter()
