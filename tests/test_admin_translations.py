"""Texts in several languages: administrators write every text they own in each configured
language, on translation pages that mark what is missing, store all or nothing and audit."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as catalog_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import AuditEntry
from integrity.channels import DEFAULT_QUESTIONNAIRE
from integrity.models import Campaign, Category, Channel, OrgUnit, Question, Role
from tests.conftest import ChannelSetup, csrf_token
from tests.helpers.channels import channel_row
from tests.helpers.pages import post, signed_in

MISSING = "Missing translation"


def _choice_question(row: Channel) -> Question:
    return next(q for q in row.questions if q.key == "how_known")


def _filled(html: str) -> dict[str, str]:
    """Every input and textarea of the translation form, as the browser would send it."""
    fields = {name: value for name, value in re.findall(
        r'<input type="text" id="[^"]+" name="([^"]+)" value="([^"]*)"', html)}
    fields.update(re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>', html))
    return fields


def _audited(db: Session) -> list[tuple[str, str, str]]:
    return [(e.action, e.subject, e.details) for e in db.scalars(
        select(AuditEntry).where(AuditEntry.action == "translations_changed")
        .order_by(AuditEntry.seq))]


def test_the_channel_page_saves_and_shows_french_and_arabic_texts(
        app: Flask, db: Session, admin, channel: ChannelSetup) -> None:
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    page = f"/admin/channels/{row.id}/translations/ar"
    html = client.get(page).get_data(as_text=True)
    # Everything of the channel on one page, the default language's text read-only beside it.
    assert f'id="channel-{row.id}-name" name="channel-{row.id}-name" value="" lang="ar" dir="rtl"' \
        in html
    assert f'<p class="source" id="channel-{row.id}-name-source" lang="en" dir="ltr">' \
        f'{row.name}</p>' in html
    question = _choice_question(row)
    for index, option in enumerate(question.options):
        assert f'for="question-{question.id}-options-{index}" lang="en" dir="ltr">{option}<' \
            in html
    assert f'<textarea id="question-{question.channel.questions[0].id}-help_text"' in html
    assert f'name="category-{row.categories[0].id}-name"' in html
    assert MISSING in html

    form = _filled(html)
    form[f"channel-{row.id}-name"] = "النزاهة ومكافحة الفساد"
    form[f"question-{question.id}-label"] = "كيف علمتم بذلك؟"
    for index, _ in enumerate(question.options):
        form[f"question-{question.id}-options-{index}"] = f"إجابة {index + 1}"
    response = post(client, page, form)
    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    french = f"/admin/channels/{row.id}/translations/fr"
    saved = post(client, french, {f"channel-{row.id}-name": "  Intégrité et lutte contre la "
                                                             "corruption "},
                 follow_redirects=True).get_data(as_text=True)
    assert "1 text was saved (language: French)." in saved

    row = channel_row(db, channel.slug)
    assert row.text("name", "ar") == "النزاهة ومكافحة الفساد"
    assert row.text("name", "fr") == "Intégrité et lutte contre la corruption"
    assert row.text("name", "ru") == row.name
    question = _choice_question(row)
    # The options translated one for one, in the same order as the default language's.
    assert question.text("options", "ar") == [f"إجابة {n + 1}" for n in
                                              range(len(question.options))]
    assert question.text("label", "fr") == question.label  # French was not touched there
    html = client.get(page).get_data(as_text=True)
    assert 'value="النزاهة ومكافحة الفساد" lang="ar" dir="rtl"' in html
    follow = client.get(french).get_data(as_text=True)
    assert 'value="Intégrité et lutte contre la corruption" lang="fr" dir="ltr"' in follow


def test_the_marker_shows_while_a_text_is_missing_and_goes_when_it_is_filled(
        app: Flask, db: Session, admin, channel: ChannelSetup) -> None:
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    category = row.categories[0]
    lists = (f"/admin/channels/{row.id}", f"/admin/channels/{row.id}/questions",
             f"/admin/channels/{row.id}/categories")
    for path in lists:
        assert MISSING in client.get(path).get_data(as_text=True), path
    # The category's marker links to its input on the Spanish page.
    categories = client.get(lists[2]).get_data(as_text=True)
    assert (f'href="/admin/channels/{row.id}/translations/es#category-{category.id}-name"'
            in categories)

    for language in ("fr", "ar", "ru", "tr", "uk", "es"):
        page = f"/admin/channels/{row.id}/translations/{language}"
        form = {name: value or f"{language} {name}"
                for name, value in _filled(client.get(page).get_data(as_text=True)).items()}
        assert post(client, page, form).status_code == 302
    for path in lists:
        assert MISSING not in client.get(path).get_data(as_text=True), path
    assert "Nothing is missing." in client.get(lists[0]).get_data(as_text=True)
    row = channel_row(db, channel.slug)
    assert all(not q.missing_languages() for q in row.questions)

    # A new answer in the default language has no translation yet: the marker is back.
    question = _choice_question(row)
    question.options = [*question.options, "A colleague saw it"]
    db.commit()
    questions = client.get(lists[1]).get_data(as_text=True)
    assert MISSING in questions
    assert f"/admin/channels/{row.id}/translations/fr#question-{question.id}" in questions


def test_too_long_a_text_is_refused_in_one_sentence_and_nothing_is_stored(
        app: Flask, db: Session, admin, channel: ChannelSetup) -> None:
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    question = _choice_question(row)
    page = f"/admin/channels/{row.id}/translations/fr"
    before = len(_audited(db))
    typed = "Poste de Kalna, " * 20  # 320 characters: names take 200
    response = post(client, page, {
        f"question-{question.id}-label": "Comment le savez-vous ?",
        f"channel-{row.id}-name": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("“Name shown to reporters” is too long: keep it under 200 characters.") \
        == 2  # above the form and beside the field
    assert 'role="alert"' in html and 'aria-invalid="true"' in html
    # What was typed is still there, the valid text too, to be corrected rather than retyped.
    assert f'value="{typed.strip()}"' in html
    assert 'value="Comment le savez-vous ?"' in html
    assert channel_row(db, channel.slug).translations == {}
    assert _choice_question(channel_row(db, channel.slug)).translations == {}
    assert len(_audited(db)) == before


def test_answers_are_translated_all_or_none(app: Flask, db: Session, admin,
                                            channel: ChannelSetup) -> None:
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    question = _choice_question(row)
    page = f"/admin/channels/{row.id}/translations/ru"
    # Only the first answer, and an extra input the form never has: refused, nothing stored.
    response = post(client, page, {f"question-{question.id}-options-0": "Видел(а) сам(а)",
                                   f"question-{question.id}-options-99": "Лишний"})
    html = response.get_data(as_text=True)
    assert "Translate every answer to choose from, or none of them." in html
    assert _choice_question(channel_row(db, channel.slug)).translations == {}


@pytest.mark.parametrize("language", ["en", "xx", "de"])
def test_a_language_not_offered_for_translation_is_not_found(
        app: Flask, db: Session, admin, channel: ChannelSetup, language: str) -> None:
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    path = f"/admin/channels/{row.id}/translations/{language}"
    assert client.get(path).status_code == 404
    token = csrf_token(client, f"/admin/channels/{row.id}/translations/fr")
    response = client.post(path, data={"csrf_token": token, f"channel-{row.id}-name": "x"})
    assert response.status_code == 404
    assert channel_row(db, channel.slug).translations == {}


def test_saving_writes_one_audit_entry_naming_the_language(
        app: Flask, db: Session, admin, channel: ChannelSetup) -> None:
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    question = _choice_question(row)
    page = f"/admin/channels/{row.id}/translations/tr"
    post(client, page, {f"channel-{row.id}-name": "Dürüstlük",
                        f"question-{question.id}-label": "Bunu nereden biliyorsunuz?"})
    assert _audited(db) == [("translations_changed", f"channel:{row.slug}",
                             '{"changed":2,"language":"tr"}')]
    # Sending the same texts again changes nothing and records nothing.
    response = post(client, page, _filled(client.get(page).get_data(as_text=True)))
    assert "Nothing was changed." in client.get(response.headers["Location"]).get_data(
        as_text=True)
    assert len(_audited(db)) == 1


def test_unit_names_are_optional_and_paginated(app: Flask, db: Session, admin,
                                               channel: ChannelSetup) -> None:
    client = signed_in(app, admin)
    for n in range(30):
        db.add(OrgUnit(name=f"Post {n:02d}", kind="crossing_point", headcount=1))
    db.commit()
    html = client.get("/admin/units/translations/uk").get_data(as_text=True)
    # Not counted as missing: a softer marker says what readers see instead.
    assert MISSING not in html
    assert "Not translated yet: readers see the text in the default language." in html
    assert 'rel="next"' in html
    org_unit = db.scalar(select(OrgUnit).order_by(OrgUnit.name, OrgUnit.id))
    post(client, "/admin/units/translations/uk", {f"orgunit-{org_unit.id}-name": "Митниця"})
    db.expire_all()
    assert db.get(OrgUnit, org_unit.id).text("name", "uk") == "Митниця"
    assert _audited(db)[-1][:2] == ("translations_changed", "units")
    second = client.get("/admin/units/translations/uk?page=2").get_data(as_text=True)
    assert "Post 2" in second and 'rel="prev"' in second


def test_a_campaign_name_is_translated_beside_the_campaigns(
        app: Flask, db: Session, make_account, channel: ChannelSetup) -> None:
    from datetime import date

    org_unit = db.scalar(select(OrgUnit).order_by(OrgUnit.id))
    campaign = Campaign(name="Posters", kind="posters", starts_on=date(2026, 1, 1),
                        ends_on=date(2026, 2, 1), org_units=[org_unit])
    db.add(campaign)
    db.commit()
    client = signed_in(app, make_account(Role.MANAGER))
    listing = client.get("/dashboard/campaigns/").get_data(as_text=True)
    assert MISSING in listing
    assert f"/dashboard/campaigns/{campaign.id}/translations/fr" in listing
    page = f"/dashboard/campaigns/{campaign.id}/translations/es"
    assert post(client, page, {f"campaign-{campaign.id}-name": "Carteles"}).status_code == 302
    db.expire_all()
    assert db.get(Campaign, campaign.id).text("name", "es") == "Carteles"
    assert _audited(db)[-1][:2] == ("translations_changed", f"campaign:{campaign.id}")
    for language in ("fr", "ar", "ru", "tr", "uk"):
        post(client, f"/dashboard/campaigns/{campaign.id}/translations/{language}",
             {f"campaign-{campaign.id}-name": f"Posters {language}"})
    assert MISSING not in client.get("/dashboard/campaigns/").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.MANAGER])
def test_only_administrators_translate_channels_and_units(
        app: Flask, db: Session, make_account, channel: ChannelSetup, role: Role) -> None:
    client = signed_in(app, make_account(role))
    row = channel_row(db, channel.slug)
    token = csrf_token(client, "/staff/account")
    for path in (f"/admin/channels/{row.id}/translations/fr", "/admin/units/translations/fr"):
        assert client.get(path).status_code == 403
        assert client.post(path, data={"csrf_token": token,
                                       f"channel-{row.id}-name": "x"}).status_code == 403
    assert channel_row(db, channel.slug).translations == {}


def test_inspectors_may_not_translate_campaigns(app: Flask, db: Session, make_account,
                                                channel: ChannelSetup) -> None:
    from datetime import date

    campaign = Campaign(name="Posters", kind="posters", starts_on=date(2026, 1, 1),
                        ends_on=date(2026, 2, 1),
                        org_units=[db.scalar(select(OrgUnit).order_by(OrgUnit.id))])
    db.add(campaign)
    db.commit()
    client = signed_in(app, make_account(Role.INSPECTOR))
    assert client.get(f"/dashboard/campaigns/{campaign.id}/translations/fr").status_code == 403
    assert app.test_client().get(f"/dashboard/campaigns/{campaign.id}/translations/fr"
                                 ).status_code == 302


def test_a_new_channel_gets_the_default_questionnaire_in_every_language(
        app: Flask, db: Session, admin) -> None:
    client = signed_in(app, admin)
    response = post(client, "/admin/channels/new",
                    {"slug": "customs", "name": "Customs", "retention_days": "365"})
    assert response.status_code == 302
    row = channel_row(db, "customs")
    languages = ("fr", "ar", "ru", "tr", "uk", "es")
    with app.app_context():
        for spec, question in zip(DEFAULT_QUESTIONNAIRE, row.questions, strict=True):
            assert question.label == str(spec.label)
            for language in languages:
                with force_locale(language):
                    label = catalog_gettext(str(spec.label))
                    options = [str(option) for option in spec.options]
                assert question.text("label", language) == label != question.label
                assert question.text("options", language) == options
            assert question.missing_languages(languages) == []
        what = row.questions[0]
        assert what.text("label", "ru") == "Что произошло?"
        assert what.text("help_text", "ar").startswith("صِفوا ما رأيتموه")
    # The channel's own name, typed by the administrator, waits for its translations.
    channel_page = client.get(f"/admin/channels/{row.id}").get_data(as_text=True)
    assert MISSING in channel_page
    questions = client.get(f"/admin/channels/{row.id}/questions").get_data(as_text=True)
    assert MISSING not in questions


def test_the_default_questionnaire_is_written_in_the_default_language(
        app: Flask, db: Session) -> None:
    import dataclasses


    settings = app.extensions["integrity.settings"]
    app.extensions["integrity.settings"] = dataclasses.replace(
        settings, languages=("fr", "en", "ar"))
    from integrity.channels import add_channel

    with app.app_context():
        row = add_channel(db, "douane", "Douane")
        db.commit()
        what = row.questions[0]
        assert what.label == "Que s'est-il passé ?"
        assert what.text("label", "en") == "What happened?"
        assert what.text("label", "ar") == "ماذا حدث؟"
        assert set(what.translations) == {"en", "ar"}
        category = Category(channel_id=row.id, slug="x", name="X")
        assert category.missing_languages() == ["en", "ar"]


def test_the_demo_channel_and_campaigns_come_in_every_language(app: Flask, db: Session) -> None:
    from integrity.demo import load_channel, load_demo_campaigns, load_organisation

    with app.app_context():
        load_organisation(db)
        row = load_channel(db)
        load_demo_campaigns(db)
        db.commit()
        assert row.text("name", "fr") == "Intégrité et lutte contre la corruption"
        assert row.missing_languages() == []
        assert all(category.missing_languages() == [] for category in row.categories)
        bribery = next(c for c in row.categories if c.slug == "bribery")
        assert bribery.text("name", "uk") == "Неправомірна вигода або «плата за прискорення»"
        campaigns = list(db.scalars(select(Campaign)))
        assert len(campaigns) == 2
        assert all(campaign.missing_languages() == [] for campaign in campaigns)
