"""A channel's questionnaire as a JSON file: exported with its texts in every language, imported
into another channel as it was, and a wrong file refused in one sentence with nothing changed."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import AuditEntry, verify
from integrity.channels import add_channel
from integrity.models import Channel, Role
from tests.conftest import ChannelSetup, csrf_token
from tests.helpers.channels import channel_row
from tests.helpers.pages import post, signed_in
from tests.helpers.reports import plain_answers_report


def _questionnaire(row: Channel) -> list[tuple[Any, ...]]:
    """Every question as readers meet it, in order, with its texts in every language."""
    return [(q.key, q.kind, q.label, q.help_text, q.required, list(q.options), q.translations)
            for q in row.questions]


def _upload(client, channel_id: int, content: bytes | str):
    page = f"/admin/channels/{channel_id}/questionnaire/import"
    raw = content.encode() if isinstance(content, str) else content
    return post(client, page, {"file": (io.BytesIO(raw), "questionnaire.json")},
                content_type="multipart/form-data")


@pytest.fixture
def second(db: Session) -> Channel:
    """A channel with one question of its own, which an import replaces."""
    from integrity.channels import QuestionSpec
    from integrity.models import QuestionKind

    row = add_channel(db, "second", "Second channel", questionnaire=(
        QuestionSpec("old_one", QuestionKind.SHORT_TEXT, "An old question"),))
    db.commit()
    return row


def test_export_then_import_gives_the_same_questionnaire_in_every_language(
        app, db: Session, admin, channel: ChannelSetup, second: Channel) -> None:
    client = signed_in(app, admin)
    source = channel_row(db, channel.slug)
    shift = source.questions[-1]
    shift.translate("fr", {"label": "Avez-vous déjà signalé ceci ailleurs ?",
                           "help_text": "Une aide en français."})
    choice = next(q for q in source.questions if q.options)
    choice.translate("ar", {"label": "كيف؟",
                            "options": [f"خيار {n}" for n in range(len(choice.options))]})
    choice.translate("fr", {"options": [f"Choix {n}" for n in range(len(choice.options))]})
    db.commit()
    expected = _questionnaire(channel_row(db, channel.slug))
    assert any(len(translations) >= 2 for *_, translations in expected)

    exported = client.get(f"/admin/channels/{source.id}/questionnaire.json")
    assert exported.status_code == 200 and exported.mimetype == "application/json"
    assert exported.headers["Content-Disposition"].startswith("attachment;")
    text = exported.get_data(as_text=True)
    assert "Avez-vous déjà signalé ceci ailleurs ?" in text  # UTF-8, not \u escapes
    data = json.loads(text)
    first = data["questions"][0]
    assert set(first) == {"key", "kind", "label", "help", "required", "options",
                          "translations"}

    response = _upload(client, second.id, exported.get_data())
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/admin/channels/{second.id}/questions")
    assert _questionnaire(channel_row(db, "second")) == expected

    config = app.test_client().get("/api/v1/config?lang=fr&channel=second").get_json()
    french = next(c for c in config["channels"] if c["slug"] == "second")["questions"]
    assert [q["key"] for q in french] == [q[0] for q in expected]
    assert french[-1]["label"] == "Avez-vous déjà signalé ceci ailleurs ?"
    assert french[-1]["help"] == "Une aide en français."
    assert [q["label"] for q in french] == [
        q.text("label", "fr") for q in channel_row(db, "second").questions]
    assert all(q["key"] != "old_one" for q in french)


def test_the_import_is_written_to_the_audit_log(app, db: Session, admin,
                                                channel: ChannelSetup, second: Channel) -> None:
    client = signed_in(app, admin)
    source = channel_row(db, channel.slug)
    exported = client.get(f"/admin/channels/{source.id}/questionnaire.json").get_data()
    assert _upload(client, second.id, exported).status_code == 302
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "questionnaire_imported"))
    assert entry is not None and entry.subject == "channel:second"
    assert entry.facts == {"count": len(source.questions)}
    assert verify(db).ok
    listed = client.get("/admin/audit?action=questionnaire_imported").get_data(as_text=True)
    assert "Questionnaire imported" in listed


def _good() -> dict[str, Any]:
    return {"questions": [
        {"key": "what", "kind": "long_text", "label": "What happened?", "help": "",
         "required": True, "options": [], "translations": {"fr": {"label": "Quoi ?"}}},
        {"key": "how", "kind": "single_choice", "label": "How do you know?", "help": "",
         "required": False, "options": ["Saw it", "Was told"],
         "translations": {"fr": {"label": "Comment ?", "options": ["Vu", "Entendu"]}}},
    ]}


def _with(change) -> str:
    data = _good()
    change(data)
    return json.dumps(data)


BAD_FILES = {
    "not JSON": ("{questions: [", "The file is not valid JSON: the mistake is at line 1"),
    "not UTF-8": (b"\xff\xfe{}", "The file is not UTF-8 text."),
    "no list": ('{"title": "A survey"}', "The file must hold one field, “questions”"),
    "unknown kind": (_with(lambda d: d["questions"][0].update(kind="essay")),
                     "Question 1 has an unknown kind “essay”; the kinds are short_text"),
    "duplicate key": (_with(lambda d: d["questions"][1].update(key="what")),
                      "The key “what” is used by more than one question."),
    "bad key": (_with(lambda d: d["questions"][0].update(key="What happened")),
                "Question 1 needs a key of lower-case letters, digits and underscores"),
    "no label": (_with(lambda d: d["questions"][1].update(label="  ")),
                 "Question 2 needs a label."),
    "long label": (_with(lambda d: d["questions"][1].update(label="x" * 501)),
                   "In question 2, “label” is longer than 500 characters."),
    "options on text": (_with(lambda d: d["questions"][0].update(options=["a", "b"])),
                        "Question 1 has options, but only the two choice kinds take options."),
    "one option": (_with(lambda d: d["questions"][1].update(options=["Saw it"])),
                   "Question 2 needs at least two different answers to choose from."),
    "same option twice": (_with(lambda d: d["questions"][1].update(options=["A", "A"])),
                          "Question 2 needs at least two different answers to choose from."),
    "wrong option count": (
        _with(lambda d: d["questions"][1]["translations"]["fr"].update(options=["Vu"])),
        "In question 2, the “fr” translation needs one answer for each of the question's "
        "answers, in the same order."),
    "unknown language": (
        _with(lambda d: d["questions"][0]["translations"].update(de={"label": "Was?"})),
        "Question 1 has a translation into “de”, which is not a supported language code"),
    "unknown field": (_with(lambda d: d["questions"][0].update(help_text="Help")),
                      "Question 1 has a field this format does not know: “help_text”."),
    "required not a flag": (_with(lambda d: d["questions"][0].update(required="yes")),
                            "In question 1, “required” must be true or false."),
    "no question": ('{"questions": []}', "The file has no question."),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_wrong_file_is_refused_in_one_sentence_and_nothing_changes(
        app, db: Session, admin, second: Channel, case: str) -> None:
    client = signed_in(app, admin)
    before = _questionnaire(channel_row(db, "second"))
    content, sentence = BAD_FILES[case]
    response = _upload(client, second.id, content)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert sentence.replace("'", "&#39;") in html, html
    assert 'enctype="multipart/form-data"' in html
    assert _questionnaire(channel_row(db, "second")) == before
    assert db.scalar(select(AuditEntry).where(
        AuditEntry.action == "questionnaire_imported")) is None


def test_a_good_file_written_by_hand_is_imported(app, db: Session, admin,
                                                 second: Channel) -> None:
    client = signed_in(app, admin)
    response = _upload(client, second.id, json.dumps(_good()))
    assert response.status_code == 302
    assert "The questionnaire was imported: 2 questions." in client.get(
        response.headers["Location"]).get_data(as_text=True)
    row = channel_row(db, "second")
    assert [q.key for q in row.questions] == ["what", "how"]
    assert row.questions[1].text("options", "fr") == ["Vu", "Entendu"]
    assert row.questions[0].translations == {"fr": {"label": "Quoi ?"}}


def test_the_questionnaire_page_links_to_export_and_import(app, db: Session, admin,
                                                           second: Channel) -> None:
    client = signed_in(app, admin)
    html = client.get(f"/admin/channels/{second.id}/questions").get_data(as_text=True)
    assert f'href="/admin/channels/{second.id}/questionnaire.json"' in html
    assert "Export as JSON" in html and "Import from JSON" in html
    form = client.get(f"/admin/channels/{second.id}/questionnaire/import").get_data(
        as_text=True)
    assert "The 1 current question of this channel is replaced by the file's questions." \
        in form.replace("&#39;", "'")


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.MANAGER])
def test_other_roles_can_neither_export_nor_import(app, db: Session, make_account,
                                                   second: Channel, role: Role) -> None:
    client = signed_in(app, make_account(role))
    token = csrf_token(client, "/staff/account")
    assert client.get(f"/admin/channels/{second.id}/questionnaire.json").status_code == 403
    page = f"/admin/channels/{second.id}/questionnaire/import"
    assert client.get(page).status_code == 403
    response = client.post(page, data={"csrf_token": token, "file": (
        io.BytesIO(json.dumps(_good()).encode()), "q.json")}, content_type="multipart/form-data")
    assert response.status_code == 403
    assert [q.key for q in channel_row(db, "second").questions] == ["old_one"]


def test_visitors_are_sent_to_sign_in(app, client, second: Channel) -> None:
    response = client.get(f"/admin/channels/{second.id}/questionnaire.json")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_reports_already_filed_stay_as_they_were(app, db: Session, admin,
                                                 channel: ChannelSetup) -> None:
    from integrity.reporting.models import Report

    sent = plain_answers_report(app, channel.slug, {"what": "Cash at lane 4"})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    before = [(r.id, r.payload) for r in db.scalars(select(Report).order_by(Report.id))]
    assert before
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    assert _upload(client, row.id, json.dumps(_good())).status_code == 302
    db.expire_all()
    assert [(r.id, r.payload) for r in db.scalars(select(Report).order_by(Report.id))] == before
    assert [q.key for q in channel_row(db, channel.slug).questions] == ["what", "how"]
