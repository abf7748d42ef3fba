"""Channels in the administration: the questionnaire editor changes what reporters see (the
form and /api/v1/config) and what the server accepts; categories; recipients; states."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import AuditEntry, verify
from integrity.models import Category, Question, RecipientChange, Role, User
from integrity.reporting.models import Report
from tests.conftest import ChannelSetup
from tests.helpers.channels import channel_row
from tests.helpers.pages import post, signed_in
from tests.helpers.reports import filed_report_id, plain_answers_report


def _question(db: Session, slug: str, label: str) -> Question:
    return next(q for q in channel_row(db, slug).questions if q.label == label)


def _config_questions(app, slug: str) -> list[dict]:
    config = app.test_client().get("/api/v1/config").get_json()
    return next(c for c in config["channels"] if c["slug"] == slug)["questions"]


def test_questionnaire_editor_changes_the_form_the_config_and_the_server_check(
        app, db, admin, channel: ChannelSetup) -> None:
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    count = len(row.questions)
    editor = f"/admin/channels/{row.id}/questions"

    # Add a required single-choice question.
    response = post(client, f"{editor}/new", {
        "label": "Which shift were you on?", "kind": "single_choice", "required": "y",
        "help_text": "Pick the closest one.", "options": "Morning\nEvening\n\nNight\n"})
    assert response.status_code == 302
    added = _question(db, channel.slug, "Which shift were you on?")
    assert added.options == ["Morning", "Evening", "Night"] and added.required
    assert added.position == count

    form = app.test_client().get(f"/report/{channel.slug}").get_data(as_text=True)
    assert "Which shift were you on?" in form and f'name="q-{added.key}" value="Night"' in form
    config = _config_questions(app, channel.slug)
    assert config[-1] == {"key": added.key, "kind": "single_choice",
                          "label": "Which shift were you on?", "help": "Pick the closest one.",
                          "required": True, "options": ["Morning", "Evening", "Night"]}

    # The server now refuses a report without it, and an answer it does not offer.
    missing = plain_answers_report(app, channel.slug, {"what": "Something happened"})
    assert missing.status_code == 400
    assert "Please answer “Which shift were you on?”" in missing.get_data(as_text=True)
    wrong = plain_answers_report(app, channel.slug, {"what": "x", added.key: "Lunch"})
    assert wrong.status_code == 400
    ok = plain_answers_report(app, channel.slug, {"what": "x", added.key: "Night"})
    assert ok.status_code == 200, ok.get_data(as_text=True)

    # Move it to the top; the form and the config follow the new order.
    for _ in range(count):
        post(client, f"/admin/questions/{added.id}/move", {"step": "-1"}, page=editor)
    assert channel_row(db, channel.slug).questions[0].key == added.key
    assert _config_questions(app, channel.slug)[0]["key"] == added.key
    form = app.test_client().get(f"/report/{channel.slug}").get_data(as_text=True)
    assert form.index("Which shift were you on?") < form.index("What happened?")

    # Make it optional and a date question: the server follows.
    post(client, f"/admin/questions/{added.id}", {
        "label": "When was your shift?", "kind": "date", "help_text": "", "options": ""})
    assert plain_answers_report(app, channel.slug, {"what": "x"}).status_code == 200
    not_a_date = plain_answers_report(app, channel.slug, {"what": "x", added.key: "Night"})
    assert not_a_date.status_code == 400
    assert "is not a date" in not_a_date.get_data(as_text=True)

    # Remove the question "What happened?" (required until now): reports pass without it.
    what = _question(db, channel.slug, "What happened?")
    confirm = client.get(f"/admin/questions/{what.id}/remove").get_data(as_text=True)
    assert "Reports already filed keep their answer" in confirm
    post(client, f"/admin/questions/{what.id}/remove")
    assert "What happened?" not in app.test_client().get(
        f"/report/{channel.slug}").get_data(as_text=True)
    assert "what" not in [q["key"] for q in _config_questions(app, channel.slug)]
    assert plain_answers_report(app, channel.slug, {added.key: "2026-03-01"}).status_code == 200
    assert db.scalar(select(Report.id).order_by(Report.id.desc())) is not None

    positions = [q.position for q in channel_row(db, channel.slug).questions]
    assert positions == list(range(len(positions)))
    actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    for action in ("question_added", "question_moved", "question_changed", "question_removed"):
        assert action in actions
    assert verify(db).ok


def test_the_preview_shows_the_form_as_reporters_see_it(app, db, admin, channel) -> None:
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    preview = client.get(f"/admin/channels/{row.id}/preview").get_data(as_text=True)
    for question in row.questions:
        assert question.label in preview
    assert "Nothing can be sent from here" in preview
    assert "<form" not in preview.split('id="preview"')[1].split("</main>")[0]


@pytest.mark.parametrize("fields, message", [
    ({"label": "", "kind": "short_text"}, "Please fill in this field."),
    ({"label": "Pick", "kind": "single_choice", "options": "Only one"},
     "at least two answers"),
    ({"label": "Pick", "kind": "multiple_choice", "options": "A\nA"}, "only once"),
    ({"label": "Pick", "kind": "painting"}, "Not a valid choice"),
])
def test_a_question_the_form_cannot_ask_is_refused_with_one_sentence(
        app, db, admin, channel, fields, message) -> None:
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    before = len(row.questions)
    response = post(client, f"/admin/channels/{row.id}/questions/new", fields)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert len(channel_row(db, channel.slug).questions) == before


def test_a_new_channel_gets_recipients_with_keys_only(app, db, admin, make_account) -> None:
    client = signed_in(app, admin)
    with_key = make_account(Role.INSPECTOR)
    without_key = make_account(Role.INSPECTOR, key=False)
    page = client.get("/admin/channels/new").get_data(as_text=True)
    assert f'value="{with_key.id}"' in page and f'value="{without_key.id}"' not in page
    assert 'value="1825"' in page  # the default retention period
    refused = post(client, "/admin/channels/new", {
        "slug": "customs", "name": "Customs", "retention_days": "365",
        "recipients": [str(without_key.id)]})
    assert "only to active inspectors who have a key" in refused.get_data(as_text=True)
    response = post(client, "/admin/channels/new", {
        "slug": "customs", "name": "Customs", "description": "For customs staff.",
        "retention_days": "365", "asks_unit": "y", "recipients": [str(with_key.id)]},
        page="/admin/channels/new")
    assert response.status_code == 302
    row = channel_row(db, "customs")
    assert [u.id for u in row.recipients] == [with_key.id]
    assert (row.retention_days, row.asks_category, row.asks_unit) == (365, False, True)
    assert row.questions, "starts with the default questionnaire"
    form = app.test_client().get("/report/customs").get_data(as_text=True)
    assert "For customs staff." in form
    duplicate = post(client, "/admin/channels/new", {
        "slug": "customs", "name": "Again", "retention_days": "365"})
    assert "already exists" in duplicate.get_data(as_text=True)


def test_a_closed_channel_keeps_its_cases_and_takes_no_reports(
        app, db, admin, channel, reporter) -> None:
    reporter.file(channel.slug, {"what": "before"})
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    confirm = client.get(f"/admin/channels/{row.id}/state/closed").get_data(as_text=True)
    assert "Its cases stay exactly as they are" in confirm
    post(client, f"/admin/channels/{row.id}/state/closed")
    assert channel_row(db, channel.slug).state == "closed"
    assert app.test_client().get(f"/report/{channel.slug}").status_code == 404
    assert db.scalar(select(Report).where(Report.channel_id == row.id)) is not None
    post(client, f"/admin/channels/{row.id}/state/open")
    assert app.test_client().get(f"/report/{channel.slug}").status_code == 200


def test_channel_settings_are_saved_and_audited(app, db, admin, channel) -> None:
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    keep = [str(u.id) for u in row.recipients][:1]
    post(client, f"/admin/channels/{row.id}", {
        "name": "Integrity", "description": "New words.", "retention_days": "730",
        "allow_exclusion": "", "asks_category": "y", "recipients": keep})
    row = channel_row(db, channel.slug)
    assert (row.name, row.retention_days, row.allow_exclusion) == ("Integrity", 730, False)
    assert [str(u.id) for u in row.recipients] == keep
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "channel_changed"))
    assert entry.facts["retention_days"] == 730 and len(entry.facts["recipients_removed"]) == 1
    # The only administrator: the change applied at once, and the log says nobody confirmed.
    assert entry.facts["confirmed_by_second_administrator"] is False


def test_categories_are_added_renamed_reordered_and_retired(app, db, admin, channel,
                                                            reporter) -> None:
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    page = f"/admin/channels/{row.id}/categories"
    post(client, page, {"name": "Fuel smuggling"})
    added = db.scalar(select(Category).where(Category.name == "Fuel smuggling"))
    assert added.slug == "fuel-smuggling" and added.position == max(
        c.position for c in channel_row(db, channel.slug).categories)
    duplicate = post(client, page, {"name": "fuel smuggling"})
    assert "already has a category of that name" in duplicate.get_data(as_text=True)

    first = channel_row(db, channel.slug).categories[0]
    filed = reporter.file(channel.slug, {"what": "x"}, category=first.slug)
    post(client, f"/admin/categories/{first.id}", {"name": "Bribery (renamed)"})
    post(client, f"/admin/categories/{first.id}/move", {"step": "1"}, page=page)
    ordered = [c.name for c in channel_row(db, channel.slug).categories]
    assert ordered[1] == "Bribery (renamed)"

    confirm = client.get(f"/admin/categories/{first.id}/retire").get_data(as_text=True)
    assert "Cases filed under it keep it" in confirm
    post(client, f"/admin/categories/{first.id}/retire")
    form = app.test_client().get(f"/report/{channel.slug}").get_data(as_text=True)
    assert "Bribery (renamed)" not in form and "Fuel smuggling" in form
    config = app.test_client().get("/api/v1/config").get_json()
    assert first.slug not in [c["slug"] for c in config["channels"][0]["categories"]]
    # The case filed under it keeps it.
    report = db.get(Report, filed_report_id(app, filed))
    assert report.category_id == first.id
    listing = client.get(f"{page}?q=renamed").get_data(as_text=True)
    assert "1 category" in listing and "Retired" in listing
    post(client, f"/admin/categories/{first.id}/restore", page=page)
    assert not db.get(Category, first.id).retired
    actions = list(db.scalars(select(AuditEntry.action)))
    for action in ("category_added", "category_renamed", "category_moved", "category_retired",
                   "category_restored"):
        assert action in actions
    assert re.search(r"Page 1 of 1|categories", listing)
    assert verify(db).ok


def test_recipients_must_be_inspectors_with_a_key(db, make_account, channel) -> None:
    from admin.channels import ChannelFields, update_channel
    from integrity.channels import ChannelError

    admin_user = db.get(User, make_account(Role.ADMIN).id)
    manager = make_account(Role.MANAGER)
    row = channel_row(db, channel.slug)
    fields = ChannelFields(row.name, row.description, True, 100, True, True, [manager.id])
    with pytest.raises(ChannelError):
        update_channel(db, admin_user, row, fields)


def _channel_form(row, recipients: list[int], **changes: str) -> dict:
    return {"name": row.name, "description": row.description,
            "retention_days": str(row.retention_days), "asks_category": "y", "asks_unit": "y",
            "recipients": [str(i) for i in recipients], **changes}


def test_a_change_of_recipients_waits_for_a_second_administrator(app, db, admin, channel,
                                                                  make_account) -> None:
    second_admin = make_account(Role.ADMIN)
    newcomer = make_account(Role.INSPECTOR)
    row = channel_row(db, channel.slug)
    before = [u.id for u in row.recipients]
    kept, dropped = before
    proposer = signed_in(app, admin)
    page = post(proposer, f"/admin/channels/{row.id}",
                _channel_form(row, [kept, newcomer.id]), follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "2 changes of recipients wait for another administrator" in text
    db.expire_all()
    assert [u.id for u in channel_row(db, channel.slug).recipients] == before
    proposed = db.scalars(select(AuditEntry).where(
        AuditEntry.action == "recipient_change_proposed")).all()
    assert sorted((e.facts["user"], e.facts["adding"]) for e in proposed) == sorted(
        [(newcomer.id, True), (dropped, False)])
    # The proposer is offered no confirmation, and one forced through is refused.
    assert "Confirm the change" not in text and "Withdraw the change" in text
    changes = {c.user_id: c.id for c in db.scalars(select(RecipientChange))}
    refused = post(proposer, f"/admin/recipient-changes/{changes[newcomer.id]}/confirm",
                   page=f"/admin/channels/{row.id}", follow_redirects=True)
    assert "Another administrator must confirm the change you proposed." in refused.get_data(
        as_text=True)
    db.expire_all()
    assert [u.id for u in channel_row(db, channel.slug).recipients] == before

    other = signed_in(app, second_admin)
    overview = other.get("/admin/").get_data(as_text=True)
    assert "Waiting for a second administrator" in overview
    assert f"/admin/channels/{row.id}#pending-heading" in overview
    assert "Confirm the change" in other.get(f"/admin/channels/{row.id}").get_data(as_text=True)
    post(other, f"/admin/recipient-changes/{changes[newcomer.id]}/confirm",
         page=f"/admin/channels/{row.id}")
    post(other, f"/admin/recipient-changes/{changes[dropped]}/decline",
         page=f"/admin/channels/{row.id}")
    db.expire_all()
    assert sorted(u.id for u in channel_row(db, channel.slug).recipients) == sorted(
        [kept, dropped, newcomer.id])
    assert not db.scalars(select(RecipientChange)).all()
    answers = {e.action: e for e in db.scalars(select(AuditEntry).where(
        AuditEntry.action.in_(["recipient_change_confirmed", "recipient_change_declined"])))}
    assert answers["recipient_change_confirmed"].actor_id == second_admin.id
    assert answers["recipient_change_confirmed"].facts == {
        "user": newcomer.id, "adding": True, "proposed_by": admin.id}
    assert answers["recipient_change_declined"].facts["user"] == dropped
    assert "Waiting for a second administrator" not in other.get("/admin/").get_data(
        as_text=True)
    assert verify(db).ok


def test_the_closing_confirmation_is_a_channel_setting(app, db, admin, channel) -> None:
    client = signed_in(app, admin)
    row = channel_row(db, channel.slug)
    recipients = [u.id for u in row.recipients]
    post(client, f"/admin/channels/{row.id}",
         _channel_form(row, recipients, closing_needs_confirmation="y"))
    db.expire_all()
    assert channel_row(db, channel.slug).closing_needs_confirmation
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "channel_changed"))
    assert entry.facts["closing_needs_confirmation"] is True
