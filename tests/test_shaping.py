"""Arabic joined and in reading order, Cyrillic and Latin in the shipped fonts: on the posters,
in the PDF report, on the survey slips and on the dashboard's charts."""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _

from integrity.fonts import FOLDER
from integrity.models import Role
from surveys.codes import IssuedCode
from surveys.slips import slips_pdf
from tests.conftest import csrf_token
from tests.helpers.dashboard import build_report, needs_poppler
from tests.helpers.pages import signed_in

POSTER = "/dashboard/posters/poster.pdf?channel=integrity&size=A4&language="


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"public_url": "http://report.border.example", "languages": ("en", "ar", "ru")}


def _text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text as pdftotext reads it, NFKC, without the direction marks it adds."""
    path = tmp_path / "file.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return "".join(c for c in unicodedata.normalize("NFKC", text)
                   if unicodedata.category(c) != "Cf")


def _letters(text: str) -> str:
    """The letters alone: pdftotext splits a word where a vowel mark sits (a known limit)."""
    return "".join(c for c in text if not c.isspace() and not unicodedata.combining(c))


def _fonts(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(path)], check=True, capture_output=True,
                          text=True).stdout


def _in(app: Flask, language: str, *messages: str) -> list[str]:
    with app.test_request_context(), force_locale(language):
        return [_(message) for message in messages]


@needs_poppler
def test_the_arabic_poster_reads_in_order_in_the_shipped_font(app, make_account, demo,
                                                              tmp_path: Path) -> None:
    client = signed_in(app, make_account(Role.MANAGER))
    pdf = client.get(POSTER + "ar")
    assert pdf.status_code == 200
    text = _text(pdf.data, tmp_path)
    headline, subline, anonymous = _in(app, "ar", "Seen corruption at the border?",
                                       "Report it safely and anonymously.",
                                       "What stays anonymous")
    assert re.search(r"[\u0600-\u06ff]", headline)  # the catalog has it in Arabic
    # In reading order, its ligatures (lam-alef) the right way round, each letter once.
    assert _letters(headline) in _letters(text)
    for line in (subline, anonymous):
        assert line in text, (line, text)
    fonts = _fonts(pdf.data, tmp_path)
    assert "NotoSansArabic-Bold" in fonts and "NotoSans-Regular" in fonts


@needs_poppler
def test_the_arabic_report_reads_in_order(app, make_account, demo, tmp_path: Path) -> None:
    client = signed_in(app, make_account(Role.MANAGER))
    client.post("/staff/language", data={"csrf_token": csrf_token(client, "/staff/account"),
                                         "language": "ar"})  # kept with the account
    _page, pdf = build_report(client, survey="1")
    text = _text(pdf, tmp_path)
    for heading in _in(app, "ar", "Integrity report", "Report figures", "Survey trends",
                       "Campaign effects", "Methods and withheld figures"):
        assert heading in text, (heading, text[:2000])
    assert "NotoSansArabic" in _fonts(pdf, tmp_path)


@needs_poppler
def test_russian_and_english_posters_keep_their_text(app, make_account, demo,
                                                     tmp_path: Path) -> None:
    client = signed_in(app, make_account(Role.MANAGER))
    for language in ("ru", "en"):
        pdf = client.get(POSTER + language).data
        text = _text(pdf, tmp_path)
        (headline,) = _in(app, language, "Seen corruption at the border?")
        assert headline in text, (language, text)
        fonts = _fonts(pdf, tmp_path)
        assert "NotoSans-Bold" in fonts and "DejaVu" not in fonts.replace("DejaVuSansMono", "")


def test_a_russian_chart_draws_its_cyrillic_labels_in_the_shipped_font(app, make_account,
                                                                        demo) -> None:
    client = signed_in(app, make_account(Role.MANAGER))
    client.post("/staff/language", data={"csrf_token": csrf_token(client, "/staff/account"),
                                         "language": "ru"})  # kept with the account
    svg = client.get("/dashboard/charts/reports.svg").get_data(as_text=True)
    labels = re.findall(r"<!-- (.*?) -->", svg)  # matplotlib notes each text it draws
    assert any(re.search(r"[\u0400-\u04ff]{3}", label) for label in labels), labels
    glyphs = set(re.findall(r'<path id="([A-Za-z]+(?:-[A-Za-z]+)*)-[0-9a-f]+"', svg))
    assert glyphs == {"NotoSans-Regular"}, glyphs


def test_the_fonts_ship_with_their_licence() -> None:
    names = {path.name for path in FOLDER.iterdir()}
    assert {"NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSansArabic-Regular.ttf",
            "NotoSansArabic-Bold.ttf", "OFL.txt"} <= names
    assert "SIL OPEN FONT LICENSE" in (FOLDER / "OFL.txt").read_text()


LINE = re.compile(r'<line xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>(.*?)</line>', re.S)
WORD = re.compile(r"<word [^>]*>([^<]*)</word>")


def _line_edges(pdf: bytes, tmp_path: Path) -> list[tuple[float, float, str]]:
    """Each line pdftotext finds: its left and right edges in points, and its words."""
    path = tmp_path / "edges.pdf"
    path.write_bytes(pdf)
    layout = subprocess.run(["pdftotext", "-bbox-layout", str(path), "-"], check=True,
                            capture_output=True, text=True).stdout
    return [(float(left), float(right), " ".join(WORD.findall(words)))
            for left, right, words in LINE.findall(layout)]


@needs_poppler
@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_slip_is_laid_out_in_its_language_s_direction(app, language: str,
                                                         tmp_path: Path) -> None:
    slip = IssuedCode("7KQ2M9XD4RTB", 1, "Kalna road crossing")
    with app.app_context():
        pdf = slips_pdf([slip], "Border integrity survey", "http://report.border.example",
                        language)
    (heading,) = _in(app, language, "Your one-time access code")
    text = _text(pdf, tmp_path)
    # The heading in reading order, the code and the address left to right as they are.
    assert _letters(heading) in _letters(text), (heading, text)
    assert "7KQ2-M9XD-4RTB" in text and f"http://report.border.example/survey?lang={language}" \
        in text
    # The first slip fills the left half of an A4 page (595 points) less a 0.2-inch margin:
    # Arabic lines end at its right margin, English lines start at its left one.
    lines = _line_edges(pdf, tmp_path)
    assert len(lines) >= 6, lines
    for left, right, words in lines:
        if language == "ar":
            assert abs(right - (595.44 / 2 - 14.4)) < 3, (words, left, right)
        else:
            assert abs(left - 14.4) < 3, (words, left, right)
    if language == "ar":
        assert "Noto Sans Arabic".replace(" ", "") in _fonts(pdf, tmp_path)
