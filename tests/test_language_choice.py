"""Choosing a language leaves no trace on the device: anonymous pages take it from the address
(``?lang=``) and carry it on every link and form; staff keep theirs with the account, which
also sets the language of the e-mails sent to them."""

from __future__ import annotations

import email
import io
import re
from email.policy import default as default_policy
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.models import Role, User, today
from tests.conftest import ChannelSetup, csrf_token
from tests.helpers.languages import translated
from tests.helpers.mail import Mailbox
from tests.helpers.pages import post, signed_in
from tests.helpers.reports import MAILBOX_TOKEN, RECEIPT
from tests.helpers.surveys import FORM_ANSWERS, every_type, open_survey

LANGUAGES = ("en", "fr", "ar", "ru")


@pytest.fixture
def settings_overrides(smtp_port: int) -> dict[str, object]:
    return {"languages": LANGUAGES, "mail_host": "127.0.0.1", "mail_port": smtp_port,
            "mail_sender": "integrity@example.org", "public_url": "http://integrity.example"}


class Targets(HTMLParser):
    """Every address a page links or sends a form to, and the controls of its GET forms."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []  # <a href>
        self.assets: list[str] = []  # <link href>: style sheets and icons
        self.actions: list[tuple[str, str]] = []  # (method, action) of each <form>
        self.get_forms: list[dict[str, str]] = []  # name -> value of each GET form's fields
        self._form: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "a" and "href" in found:
            self.links.append(found["href"])
        elif tag == "link" and "href" in found:
            self.assets.append(found["href"])
        elif tag == "form":
            method = found.get("method", "get").lower()
            self.actions.append((method, found.get("action", "")))
            self._form = {} if method == "get" else None
            if self._form is not None:
                self.get_forms.append(self._form)
        elif tag in ("input", "select") and self._form is not None and "name" in found:
            self._form[found["name"]] = found.get("value", "")
        elif tag == "option" and self._form is not None and "selected" in found:
            self._form["lang:selected"] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def check_keeps_language(html: str, language: str, where: str) -> Targets:
    """Every link and form of ``html`` leads back with ``?lang=<language>``."""
    page = Targets()
    page.feed(html)
    assert page.links and page.actions, where
    for href in page.links:
        if href.startswith("#"):
            continue  # within the page
        parts = urlsplit(href)
        assert not parts.netloc, (where, href)
        assert parse_qs(parts.query).get("lang") == [language], (where, href)
    for method, action in page.actions:
        if method == "post":
            assert parse_qs(urlsplit(action).query).get("lang") == [language], (where, action)
    for fields in page.get_forms:
        # A GET form replaces the action's query with its fields: the language is one of them.
        assert "lang" in fields and fields["lang:selected"] == language, (where, fields)
    assert all(urlsplit(href).path.startswith("/static/") for href in page.assets), where
    return page


def no_cookie(response, where: str) -> None:
    assert "Set-Cookie" not in response.headers, (where, response.headers.get("Set-Cookie"))


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_anonymous_pages_keep_the_language_on_every_link_and_form_and_set_no_cookie(
    app: Flask, client: FlaskClient, db: Session, channel: ChannelSetup, lang: str
) -> None:
    data = every_type()
    data["open_link"] = True  # answered with a code or through its open link
    survey = open_survey(db, today=today(), definition=data)
    pages: dict[str, str] = {}

    def visit(where: str, response, status: int = 200) -> None:
        no_cookie(response, where)
        pages[where] = response.get_data(as_text=True)
        assert response.status_code == status, (where, pages[where])

    def token(path: str) -> str:
        return csrf_token(client, f"{path}?lang={lang}")

    visit("start", client.get(f"/?lang={lang}"))
    chosen = client.get(f"/report?lang={lang}")  # one channel: straight to its form
    no_cookie(chosen, "choose")
    assert chosen.status_code == 302
    assert parse_qs(urlsplit(chosen.headers["Location"]).query)["lang"] == [lang]
    form_url = f"/report/{channel.slug}"
    visit("report form", client.get(f"{form_url}?lang={lang}"))
    receipt_page = client.post(f"{form_url}?lang={lang}", data={
        "csrf_token": token(form_url), "q-what": "Officer at lane 4 asks 20 EUR per car.",
        "q-when": "2026-11-20", "q-ongoing": "yes", "category": "bribery",
        "files": (io.BytesIO(b"plan"), "plan.txt", "text/plain"),
    }, content_type="multipart/form-data")
    visit("receipt", receipt_page)
    receipt = RECEIPT.search(pages["receipt"]).group(1)
    visit("refused report", client.post(f"{form_url}?lang={lang}", data={"q-what": "x"}),
          400)
    visit("mailbox", client.get(f"/mailbox?lang={lang}"))
    visit("opened mailbox", client.post(f"/mailbox?lang={lang}", data={
        "csrf_token": token("/mailbox"), "receipt": receipt}))
    mailbox_token = MAILBOX_TOKEN.search(pages["opened mailbox"]).group(1)
    visit("mailbox reply", client.post(f"/mailbox/reply?lang={lang}", data={
        "csrf_token": token("/mailbox"), "mailbox_token": mailbox_token, "text": "More.",
        "files": (io.BytesIO(b"more"), "more.txt", "text/plain"),
    }, content_type="multipart/form-data"))
    visit("unknown receipt", client.post(f"/mailbox?lang={lang}", data={
        "csrf_token": token("/mailbox"), "receipt": "1234 5678 9012 3456 7890"}), 404)
    visit("survey code", client.get(f"/survey?lang={lang}"))
    visit("wrong code", client.post(f"/survey?lang={lang}", data={
        "csrf_token": token("/survey"), "code": "AAAA-BBBB-CCCC"}), 404)
    code = survey.code_for(0)
    visit("questionnaire", client.get(f"/survey?code={code}&lang={lang}"))
    visit("thanks", client.post(f"/survey/answers?lang={lang}", data={
        "csrf_token": token("/survey"), "code": code, **FORM_ANSWERS}))
    visit("open survey", client.get(f"/survey/open/{survey.survey_id}?lang={lang}"))
    visit("missing channel", client.get(f"/report/nowhere?lang={lang}"), 404)
    visit("missing page", client.get(f"/nowhere?lang={lang}"), 404)

    assert translated(app, "Your message was sent.", lang) in pages["mailbox reply"]
    french_or_arabic = translated(app, "Report wrongdoing safely", lang)
    assert french_or_arabic != "Report wrongdoing safely"
    assert french_or_arabic in pages["start"]
    for where, html in pages.items():
        assert f'<html lang="{lang}"' in html, where
        assert ('dir="rtl"' in html) == (lang == "ar"), where
        check_keeps_language(html, lang, where)
    # The picker reloads the same page, keeping what else its address held.
    picker = _targets(pages["questionnaire"])
    assert ("get", "/survey") in picker.actions
    assert picker.get_forms[-1]["code"] == code
    assert client.get_cookie("lang") is None and client.get_cookie("integrity_session") is None


def test_the_sign_in_page_keeps_a_language_chosen_before_signing_in(
    app: Flask, client: FlaskClient
) -> None:
    """A staff page (its form token lives in a session cookie), but no language cookie."""
    response = client.get("/?lang=ru")
    staff_link = next(href for href in _targets(response.get_data(as_text=True)).links
                      if href.startswith("/staff/login"))
    html = client.get(staff_link).get_data(as_text=True)
    assert '<html lang="ru"' in html
    check_keeps_language(html, "ru", "sign-in")
    assert client.get_cookie("lang") is None


def _targets(html: str) -> Targets:
    page = Targets()
    page.feed(html)
    return page


def test_the_address_language_wins_over_the_browser_and_unknown_ones_fall_back(
    app: Flask, client: FlaskClient
) -> None:
    def page(path: str, accept: str | None = None) -> str:
        headers = {"Accept-Language": accept} if accept else {}
        response = client.get(path, headers=headers)
        no_cookie(response, path)
        return response.get_data(as_text=True)

    assert '<html lang="fr" dir="ltr">' in page("/mailbox?lang=fr", "ru,en;q=0.5")
    assert '<html lang="ar" dir="rtl">' in page("/survey?lang=ar", "fr")
    assert f"<h1>{translated(app, 'Your mailbox', 'fr')}</h1>" in page("/mailbox?lang=fr")
    # Unknown, or a language this installation does not offer: the browser's preference ...
    for unknown in ("xx", "es", "", "FR-fr&lang=fr"):
        assert '<html lang="ru"' in page(f"/mailbox?lang={unknown.split('&')[0]}", "ru")
    # ... and without one, the installation's first language; links then carry no language.
    html = page("/?lang=xx")
    assert '<html lang="en" dir="ltr">' in html
    links = _targets(html).links
    assert links and not any("lang=" in href for href in links)


def test_a_staff_members_language_is_kept_with_the_account_for_their_pages(
    app: Flask, db: Session, make_account
) -> None:
    manager = make_account(Role.MANAGER)
    client = signed_in(app, manager)
    english = {"Accept-Language": "en"}
    assert '<html lang="en"' in client.get("/staff/account", headers=english).get_data(
        as_text=True)
    # The footer's picker, on any staff page, sends the choice to the account.
    chosen = post(client, "/staff/language", {"language": "fr", "next": "/dashboard/"},
                  page="/staff/account", headers=english)
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith("/dashboard/")
    assert "lang" not in chosen.headers.get("Set-Cookie", "").split("=")[0]
    assert db.scalar(select(User.language).where(User.id == manager.id)) == "fr"
    account = client.get("/staff/account", headers=english).get_data(as_text=True)
    assert '<html lang="fr"' in account
    assert translated(app, "Your language is saved: your pages and the e-mails sent to you "
                      "use it.", "fr") in account
    assert '<option value="fr" lang="fr" selected>' in account
    # A signed-in staff member's pages follow the account, not the address or the browser.
    assert '<html lang="fr"' in client.get("/dashboard/?lang=ar",
                                          headers={"Accept-Language": "ru"}).get_data(
        as_text=True)
    # A language the installation does not offer is refused and nothing changes.
    refused = post(client, "/staff/language", {"language": "es"}, page="/staff/account",
                   follow_redirects=True)
    assert translated(app, "That language is not offered here.", "fr") in refused.get_data(
        as_text=True)
    assert db.scalar(select(User.language).where(User.id == manager.id)) == "fr"
    assert client.get_cookie("lang") is None


def test_without_a_stored_language_staff_pages_follow_the_browser(
    app: Flask, db: Session, make_account
) -> None:
    client = signed_in(app, make_account(Role.MANAGER))
    html = client.get("/staff/account", headers={"Accept-Language": "ar"}).get_data(
        as_text=True)
    assert '<html lang="ar" dir="rtl">' in html


def test_the_set_up_link_goes_in_the_invitees_language_not_the_senders(
    app: Flask, db: Session, make_account, smtp: Mailbox
) -> None:
    admin = make_account(Role.ADMIN)
    client = signed_in(app, admin)
    page = client.get("/admin/users/invite", headers={"Accept-Language": "en"})
    assert 'name="language"' in page.get_data(as_text=True)
    done = post(client, "/admin/users/invite", {
        "name": "Olga", "email": "olga@example.org", "role": "manager", "language": "ru",
        "send": "y"}, headers={"Accept-Language": "en"})
    sent = 'It was also sent to <bdi dir="ltr">olga@example.org</bdi>.'
    assert sent in done.get_data(as_text=True)
    assert db.scalar(select(User.language).where(User.email == "olga@example.org")) == "ru"
    (to, raw), = smtp.messages
    message = email.message_from_bytes(raw, policy=default_policy)
    subject = translated(app, "Integrity: set up your account", "ru")
    assert to == ["olga@example.org"] and subject != "Integrity: set up your account"
    assert message["Subject"] == subject
    assert "An administrator created an account for you" not in message.get_content()
    # Sent again (a new link) once the administrator has switched to French: still Russian.
    post(client, "/staff/language", {"language": "fr"}, page="/staff/account")
    olga = db.scalar(select(User).where(User.email == "olga@example.org"))
    post(client, f"/admin/users/{olga.id}/link", {"send": "y"})
    (_, raw) = smtp.messages[1]
    assert email.message_from_bytes(raw, policy=default_policy)["Subject"] == subject


def test_an_open_link_survey_gives_an_address_per_language_to_hand_out(
    app: Flask, client: FlaskClient, db: Session, make_account
) -> None:
    data = every_type()
    data["open_link"] = True
    survey = open_survey(db, today=today(), definition=data)
    admin = signed_in(app, make_account(Role.ADMIN))
    page = admin.get(f"/admin/surveys/{survey.survey_id}/waves").get_data(as_text=True)
    addresses = re.findall(r'<dd class="address" dir="ltr">([^<]+)</dd>', page)
    assert addresses == [f"http://integrity.example/survey/open/{survey.survey_id}?lang={code}"
                         for code in LANGUAGES]
    # Each opens the survey, signed out, in its language whatever the browser prefers.
    arabic = client.get(addresses[2].removeprefix("http://integrity.example"),
                        headers={"Accept-Language": "en"})
    assert arabic.status_code == 200
    assert '<html lang="ar" dir="rtl">' in arabic.get_data(as_text=True)
