"""Reporters read channels, questions and units in their language; the sealed report says which
language it was written in, and readers see each answer in theirs."""

from __future__ import annotations

import re

from sqlalchemy import select

import crypto
from integrity.models import Channel, OrgUnit, Role
from integrity.reporting.models import Report
from tests.conftest import csrf_token
from tests.helpers.languages import ARABIC_HOW, FRENCH_HOW, translate_demo_channel
from tests.protocol_client import ReporterClient

RECEIPT = re.compile(r'id="receipt"[^>]*>(\d{4} \d{4} \d{4} \d{4} \d{4})<')


def _channel(config: dict, slug: str) -> dict:
    return next(c for c in config["channels"] if c["slug"] == slug)


def test_config_gives_texts_in_the_request_language_and_the_default_without_one(
        client, channel, db) -> None:
    before = client.get("/api/v1/config")
    translate_demo_channel(db, channel.slug)
    # A client that names no language reads exactly what it read before any translation.
    after = client.get("/api/v1/config")
    assert after.get_data() == before.get_data()
    assert after.headers["Content-Language"] == "en"

    french = client.get("/api/v1/config?lang=fr")
    assert french.headers["Content-Language"] == "fr"
    config = french.get_json()
    found = _channel(config, channel.slug)
    assert found["name"] == "Intégrité et lutte contre la corruption"
    assert found["description"] == "Signalez la corruption."
    assert {"slug": "bribery", "name": "Pots-de-vin"} in found["categories"]
    how = next(q for q in found["questions"] if q["key"] == "how_known")
    assert (how["label"], how["help"], how["options"]) == (
        "Comment le savez-vous ?", "Choisissez une réponse.", FRENCH_HOW)
    assert "Unité traduite" in [org_unit["name"] for org_unit in config["org_units"]]
    # Everything else is the same answer, keys and values.
    default = after.get_json()
    assert config["salt"] == default["salt"] and len(config["channels"]) == len(default["channels"])

    arabic = client.get("/api/v1/config", headers={"Accept-Language": "ar"}).get_json()
    found = _channel(arabic, channel.slug)
    assert found["name"] == "النزاهة ومكافحة الفساد"
    assert {"slug": "bribery", "name": "الرشوة"} in found["categories"]
    how = next(q for q in found["questions"] if q["key"] == "how_known")
    assert how["options"] == ARABIC_HOW
    # No Arabic description yet: the default language's stands in.
    assert found["description"] == _channel(default, channel.slug)["description"]


def _file_in_french(client, channel, **answers):
    url = f"/report/{channel.slug}?lang=fr"
    data = {"csrf_token": csrf_token(client, url), "q-what": "Un agent demande 20 EUR.",
            "q-how_known": FRENCH_HOW[2], **answers}
    return client.post(url, data=data, content_type="multipart/form-data")


def test_a_report_filed_in_french_without_javascript_is_sealed_in_french(
        client, channel, db) -> None:
    translate_demo_channel(db, channel.slug)
    form = client.get(f"/report/{channel.slug}?lang=fr").get_data(as_text=True)
    assert "Comment le savez-vous ?" in form and FRENCH_HOW[2].replace("'", "&#39;") in form
    response = _file_in_french(client, channel)
    assert response.status_code == 200, response.get_data(as_text=True)
    receipt = RECEIPT.search(response.get_data(as_text=True)).group(1)
    report = db.scalar(select(Report))
    reader_id, pair = next(iter(channel.inspectors.items()))
    slot = next(s.slot for s in report.key_slots if s.reader == reader_id)
    document = crypto.open_document(report.payload, slot, pair.secret_key, 1024)
    assert document["language"] == "fr"
    assert document["answers"]["how_known"] == "Quelqu'un me l'a dit"

    # The reporter's mailbox, in Russian, shows the Russian label and the Russian option.
    url = "/mailbox?lang=ru"
    page = client.post(url, data={"csrf_token": csrf_token(client, url), "receipt": receipt})
    html = page.get_data(as_text=True)
    assert "Откуда вы это знаете?" in html and "Мне рассказали" in html
    # The API gives the questionnaire in the request's language too.
    box = ReporterClient(client).mailbox(receipt)
    assert box["report"]["document"]["language"] == "fr"
    lookup = crypto.b64encode(ReporterClient(client).derive(receipt).lookup)
    french = client.post("/api/v1/mailbox?lang=fr", json={"lookup": lookup}).get_json()
    how = next(q for q in french["questions"] if q["key"] == "how_known")
    assert how["label"] == "Comment le savez-vous ?" and how["options"] == FRENCH_HOW


def test_a_french_form_refuses_another_language_option_naming_the_french_label(
        client, channel, db) -> None:
    translate_demo_channel(db, channel.slug)
    response = _file_in_french(client, channel, **{"q-how_known": "Someone told me"})
    assert response.status_code == 400
    assert "Comment le savez-vous ?" in response.get_data(as_text=True).replace("&#39;", "'")
    response = _file_in_french(client, channel, **{"q-what": ""})
    assert response.status_code == 400
    assert "Que s'est-il passé ?" in response.get_data(as_text=True).replace("&#39;", "'")
    assert db.scalar(select(Report)) is None


def test_inspectors_and_managers_read_names_in_their_language_and_exports_stay_default(
        app, client, login, make_account, channel, reporter, db) -> None:
    from integrity.models import User
    from tests.helpers.pages import sign_in

    translate_demo_channel(db, channel.slug)
    org_unit = db.scalars(select(OrgUnit).order_by(OrgUnit.id)).first()
    reporter.file(channel.slug, {"what": "Cash at gate 2"}, category="bribery",
                  org_unit=str(org_unit.id), language="ar")
    inspector = make_account(Role.INSPECTOR)
    user = db.get(User, inspector.id)
    user.language = "fr"
    # Held in a name: the session keeps loaded objects only weakly until the commit.
    found = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    found.recipients.append(user)
    report = db.scalar(select(Report))
    report.readers.append(user)
    db.commit()

    login(inspector)
    inbox = client.get("/cases/").get_data(as_text=True).replace("&#39;", "'")
    assert inbox.count("Intégrité et lutte contre la corruption") >= 2  # filter and row
    assert "Pots-de-vin" in inbox and "Unité traduite" in inbox
    case = client.get(f"/cases/{report.id}").get_data(as_text=True)
    assert "Pots-de-vin" in case and "Unité traduite" in case
    data = client.get(f"/cases/{report.id}/sealed").get_json()
    how = next(q for q in data["questions"] if q["key"] == "how_known")
    assert how["label"] == "Comment le savez-vous ?" and how["options"] == FRENCH_HOW
    assert how["options_by_language"]["ar"] == ARABIC_HOW
    assert how["options_by_language"]["tr"] == how["options_by_language"]["en"]

    manager = make_account(Role.MANAGER)
    db.get(User, manager.id).language = "fr"
    db.commit()
    other = app.test_client()
    sign_in(other, manager)
    page = other.get("/dashboard/?dimension=category").get_data(as_text=True)
    assert "Pots-de-vin" in page
    export = other.get("/dashboard/export/breakdown.csv?dimension=category")
    text = export.get_data(as_text=True)
    assert "Bribery or facilitation payment" in text and "Pots-de-vin" not in text
