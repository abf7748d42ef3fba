"""The page "Other ways to report, and your rights": reached from every anonymous page in every
language, written by administrators for the installation and per channel, in each language,
with the channel's retention period filled in, and shipped in every language before that."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as catalog_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import AuditEntry
from integrity.i18n import SUPPORTED_LANGUAGES
from integrity.models import Channel, RightsPage
from integrity.rights import SECTIONS, as_html
from tests.conftest import ChannelSetup, csrf_token
from tests.helpers.pages import post, signed_in
from tests.helpers.reports import RECEIPT
from tests.test_anonymous_forms import no_cookie

TITLE = "Other ways to report, and your rights"
RIGHTS_LINK = re.compile(r'<a href="([^"]*/rights(?:\?[^"]*)?)"')
OLAF = "https://anti-fraud.ec.europa.eu"


def _in(app: Flask, language: str, english: str) -> str:
    """``english`` as the catalog of ``language`` has it, escaped as a page writes it."""
    with app.test_request_context(), force_locale(language):
        return str(html_lib.escape(catalog_gettext(english), quote=True))


def _channel(db: Session, slug: str) -> Channel:
    db.expire_all()
    return db.scalar(select(Channel).where(Channel.slug == slug))


def _rights_links(page: str) -> set[str]:
    return {html_lib.unescape(href) for href in RIGHTS_LINK.findall(page)}


def test_the_shipped_page_says_where_else_to_report_and_the_channel_keeps_reports(
        client, channel: ChannelSetup, db: Session) -> None:
    row = _channel(db, channel.slug)
    row.retention_days = 730
    db.commit()
    page = no_cookie(client.get(f"/report/{channel.slug}/rights"))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for section in SECTIONS:
        assert f'id="{section.field}"' in text
    assert f'<a href="{OLAF}" dir="ltr">{OLAF}</a>' in text
    assert "EPPO" in text and "public prosecutor" in text and "ombudsperson" in text
    assert "then for 730 days, after which they are deleted" in text
    # The installation's page lists each listed channel's period.
    general = no_cookie(client.get("/rights")).get_data(as_text=True)
    assert "730 days" in general and row.name in general
    # Strict: no inline script or style, nothing from elsewhere.
    policy = page.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "default-src 'none'" in policy or \
        "default-src 'self'" in policy
    assert "<script" not in text and " style=" not in text
    assert client.get("/report/no-such-channel/rights").status_code == 404


def _anonymous_pages(client, channel: ChannelSetup, language: str) -> dict[str, str]:
    """Every anonymous page, in ``language``: the start, choosing, the form, the receipt, the
    mailbox closed and opened, the survey's start and an error page."""
    query = f"?lang={language}"
    form = f"/report/{channel.slug}{query}"
    pages = {path: client.get(path + query, follow_redirects=True)
             for path in ("/", "/report", "/mailbox", "/survey", "/no-such-page")}
    pages[form] = client.get(form)
    filed = client.post(form, data={"csrf_token": csrf_token(client, form),
                                    "q-what": "Officer at lane 4 asks 20 EUR per car."},
                        content_type="multipart/form-data")
    pages["receipt"] = filed
    receipt = RECEIPT.search(filed.get_data(as_text=True)).group(1)
    box = f"/mailbox{query}"
    pages["opened mailbox"] = client.post(box, data={"csrf_token": csrf_token(client, box),
                                                     "receipt": receipt})
    return {name: no_cookie(response).get_data(as_text=True)
            for name, response in pages.items()}


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_anonymous_page_leads_to_the_page_in_its_language(
        app: Flask, client, channel: ChannelSetup, language: str) -> None:
    title = _in(app, language, TITLE)
    for name, page in _anonymous_pages(client, channel, language).items():
        links = _rights_links(page)
        assert links, f"{name} has no link to the rights page"
        for link in links:
            assert link.endswith(f"?lang={language}"), (name, link)
            shown = no_cookie(client.get(link))
            assert shown.status_code == 200, link
            text = shown.get_data(as_text=True)
            direction = "rtl" if language == "ar" else "ltr"
            assert f'<html lang="{language}" dir="{direction}">' in text
            assert f"<h1>{title}</h1>" in text
            assert _in(app, language, SECTIONS[0].title) in text
        # Pages about the channel lead to the channel's own page.
        if name in (f"/report/{channel.slug}?lang={language}", "receipt", "opened mailbox"):
            assert f"/report/{channel.slug}/rights?lang={language}" in links, name


def test_the_footer_gives_the_onion_address_when_there_is_one(app: Flask, client,
                                                              channel: ChannelSetup) -> None:
    assert "footer-onion" not in client.get("/rights").get_data(as_text=True)
    settings = app.extensions["integrity.settings"]
    onion = "http://integrityexample2345abcdefghijklmnopqrstuvwxyz234567abcdefghij.onion"
    app.extensions["integrity.settings"] = type(settings)(
        **{**settings.__dict__, "onion_url": onion})
    for path in ("/", "/rights", f"/report/{channel.slug}", "/mailbox"):
        page = client.get(path).get_data(as_text=True)
        link = f'<a href="{onion}" dir="ltr" class="address onion-address">{onion}</a>'
        assert link in page, path


def _saved(client, path: str, **sections: str):
    page = client.get(path).get_data(as_text=True)
    fields = dict(re.findall(r'<textarea id="(\w+)" name="\w+"[^>]*>([^<]*)</textarea>', page))
    fields = {name: html_lib.unescape(value) for name, value in fields.items()}
    assert set(fields) == {section.field for section in SECTIONS}
    fields.update(sections)
    return post(client, path, fields)


def _audit(db: Session) -> list[tuple[str, str]]:
    db.expire_all()
    return [(entry.subject, json.loads(entry.details)) for entry in db.scalars(
        select(AuditEntry).where(AuditEntry.action == "rights_page_changed")
        .order_by(AuditEntry.seq))]


def test_an_administrator_writes_the_installation_page_in_each_language(
        app: Flask, db: Session, admin, client, channel: ChannelSetup) -> None:
    staff = signed_in(app, admin)
    form = staff.get("/admin/rights").get_data(as_text=True)
    assert "This is the built-in text" in form and OLAF in form
    # Saving the built-in texts as they are stores nothing: they stay the catalogs'.
    assert _saved(staff, "/admin/rights").status_code == 302
    assert db.scalar(select(RightsPage)) is None and _audit(db) == []

    written = ("National Anti-Corruption Agency, 12 Main Street, https://nac.example.org/report"
               " or report@nac.example.org.\n\n<script>alert(1)</script>")
    assert _saved(staff, "/admin/rights", other_ways=written).status_code == 302
    assert _audit(db) == [("rights", {"sections": ["other_ways"]})]
    english = client.get("/rights").get_data(as_text=True)
    assert '<a href="https://nac.example.org/report" dir="ltr">https://nac.example.org/report' \
           '</a> or <a href="mailto:report@nac.example.org" dir="ltr">report@nac.example.org' \
           '</a>.' in english
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in english and "<script>" not in english
    assert OLAF not in english  # the section written replaces the shipped one
    # Untranslated, French readers see the default language's text; the other sections are
    # still the catalogs', in French.
    french = client.get("/rights?lang=fr").get_data(as_text=True)
    assert "National Anti-Corruption Agency" in french
    assert _in(app, "fr", SECTIONS[1].title) in french
    assert "Missing translation" in staff.get("/admin/rights").get_data(as_text=True)

    page = staff.get("/admin/rights/translations/fr").get_data(as_text=True)
    name = re.search(r'name="(rightspage-\d+-other_ways)"', page).group(1)
    saved = post(staff, "/admin/rights/translations/fr",
                 {name: "Agence nationale anticorruption, https://nac.example.org/fr"})
    assert saved.status_code == 302
    french = client.get("/rights?lang=fr").get_data(as_text=True)
    assert "Agence nationale anticorruption" in french
    assert "National Anti-Corruption Agency" in client.get("/rights?lang=es").get_data(
        as_text=True)
    translated = db.scalars(select(AuditEntry.subject).where(
        AuditEntry.action == "translations_changed")).all()
    assert translated == ["rights"]

    # Emptied again, the section is the shipped one in every language, its translations gone.
    assert _saved(staff, "/admin/rights", other_ways="").status_code == 302
    assert OLAF in client.get("/rights?lang=fr").get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(RightsPage)).translations == {}


def test_a_channel_page_differs_where_it_is_written_and_is_translated_with_the_channel(
        app: Flask, db: Session, admin, client, channel: ChannelSetup) -> None:
    staff = signed_in(app, admin)
    row = _channel(db, channel.slug)
    path = f"/admin/channels/{row.id}/rights"
    assert path in staff.get(f"/admin/channels/{row.id}").get_data(as_text=True)
    form = staff.get(path).get_data(as_text=True)
    assert "1825 days after the case is closed" in form
    assert _saved(staff, path, other_ways="Customs: OLAF at https://anti-fraud.ec.europa.eu"
                  "/olaf-and-you/report-fraud_en").status_code == 302
    assert _audit(db) == [(f"channel:{channel.slug}", {"sections": ["other_ways"]})]
    own = client.get(f"/report/{channel.slug}/rights").get_data(as_text=True)
    assert "Customs: OLAF at" in own
    assert "Customs: OLAF at" not in client.get("/rights").get_data(as_text=True)
    # The sections not written show the installation's: its own text once it has one.
    assert _saved(staff, "/admin/rights", controller="Border Police, 1 Quay Road.").status_code \
        == 302
    assert "Border Police, 1 Quay Road." in client.get(
        f"/report/{channel.slug}/rights").get_data(as_text=True)

    # On the channel's translation page, with everything else the channel's reporters read.
    page = staff.get(f"/admin/channels/{row.id}/translations/uk").get_data(as_text=True)
    name = re.search(r'name="(rightspage-\d+-other_ways)"', page).group(1)
    fields = {name: "Митниця: OLAF, https://anti-fraud.ec.europa.eu"}
    assert post(staff, f"/admin/channels/{row.id}/translations/uk", fields).status_code == 302
    assert "Митниця: OLAF" in client.get(
        f"/report/{channel.slug}/rights?lang=uk").get_data(as_text=True)


def test_a_section_too_long_is_refused_and_nothing_is_stored(
        app: Flask, db: Session, admin) -> None:
    staff = signed_in(app, admin)
    refused = _saved(staff, "/admin/rights", protection="x" * 8001, other_ways="Written.")
    assert refused.status_code == 400
    assert "too long" in refused.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(RightsPage)) is None and _audit(db) == []


def test_only_administrators_edit_the_page(app: Flask, make_account, client) -> None:
    from integrity.models import Role

    manager = signed_in(app, make_account(Role.MANAGER))
    assert manager.get("/admin/rights").status_code == 403
    assert client.get("/admin/rights").status_code == 302  # to the sign-in page


def test_plain_text_becomes_paragraphs_lists_and_links_and_never_html() -> None:
    shown = str(as_html("First line\nsecond line.\n\n- one https://a.example/x).\n- two\n\n"
                        "<b>bold</b> javascript:alert(1) mail me@example.org."))
    assert shown == (
        "<p>First line<br>second line.</p>\n"
        '<ul><li>one <a href="https://a.example/x" dir="ltr">https://a.example/x</a>).</li>'
        "<li>two</li></ul>\n"
        "<p>&lt;b&gt;bold&lt;/b&gt; javascript:alert(1) mail "
        '<a href="mailto:me@example.org" dir="ltr">me@example.org</a>.</p>')
    assert str(as_html('https://x.example/"onmouseover="a')) == \
        '<p><a href="https://x.example/" dir="ltr">https://x.example/</a>&#34;onmouseover=&#34;a</p>'
