"""Language choice, text direction and the marked strings."""

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"languages": ("en", "ar")}


def test_english_pages_are_left_to_right(client) -> None:
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in html


def test_browser_preference_for_arabic_turns_the_page_right_to_left(client) -> None:
    html = client.get("/", headers={"Accept-Language": "ar,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html


def test_language_picker_reloads_the_page_with_the_choice_in_the_address(client) -> None:
    response = client.get("/mailbox?lang=ar")
    assert 'dir="rtl"' in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers and client.get_cookie("lang") is None
    assert 'dir="ltr"' in client.get("/mailbox?lang=en").get_data(as_text=True)


def test_an_unknown_language_in_the_address_is_ignored(client) -> None:
    html = client.get("/?lang=xx", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html


def test_picker_lists_each_language_in_its_own_name(client) -> None:
    html = client.get("/").get_data(as_text=True)
    assert '<label for="site-language">' in html
    assert ">English<" in html and ">العربية<" in html


def test_every_template_string_is_marked_for_translation(tmp_path: Path) -> None:
    """Extraction finds the strings users see; none is left bare between tags."""
    root = Path(__file__).resolve().parent.parent
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).with_name("pybabel")), "extract", "-F", "babel.cfg",
         "-k", "_l", "-o", str(pot), "."],
        cwd=root, check=True, capture_output=True,
    )
    catalog = pot.read_text()
    for expected in ("Staff sign-in", "Report wrongdoing safely", "Too many attempts",
                     "That code is not valid"):
        assert f'msgid "{expected}' in catalog
    import re

    bare = re.compile(r">\s*([A-Za-z][A-Za-z ,.'!?-]{3,})\s*<")
    for template in (root / "templates").rglob("*.html"):
        found = [m.group(1) for m in bare.finditer(template.read_text())]
        assert not found, f"unmarked text in {template.name}: {found}"
