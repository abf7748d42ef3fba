"""Persons concerned on the case page, in Chromium: a person is added and goes through a
deferral, information, a hearing with a statement file, and clearing; their data is then
deleted. Nothing of what was typed reaches the server in clear."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.audit import AuditEntry
from integrity.cases.person_models import Person
from tests.conftest import ChannelSetup
from tests.helpers.browser import inspector_with_a_case, sign_in_in_browser

TEXT = "The shift chief lets one lorry a week pass unchecked."
NAME = "Marko Jovanović, shift chief MARKER-PERSON-71c3"
REASON = "He would warn the haulier MARKER-REASON-5e0a"
STATEMENT = "He denies it MARKER-STATEMENT-94d2"


def test_a_person_concerned_is_recorded_sealed_and_deleted(
        open_page, base_url: str, server, app, db: Session, channel: ChannelSetup,
        make_account, tmp_path) -> None:
    from playwright.sync_api import expect

    _, recorder = server
    account, _pair = inspector_with_a_case(app, db, make_account, channel, TEXT)
    page = open_page()
    sign_in_in_browser(page, base_url, account)
    page.wait_for_url("**/cases/")
    page.locator("table a").first.click()
    page.wait_for_selector('#case-content[data-opened="1"]')
    expect(page.locator("#persons")).to_be_visible()
    expect(page.locator("#persons-list")).to_contain_text("No person concerned recorded yet.")
    page.get_by_label("Name or description").fill(NAME)
    page.get_by_label("Role").select_option("subject")
    page.get_by_role("button", name="Add the person").click()
    person = page.locator("#persons-list li.person").first
    expect(person).to_contain_text(NAME)
    # Called by its number in the case, never by its (random) id.
    expect(person.locator("h3")).to_contain_text("Person 1 · ")
    expect(page.locator("#case-announce")).to_have_text("The person was added.")

    def step(kind: str, text: str = "", review: date | None = None, file=None) -> None:
        person.get_by_label("Next step").select_option(kind)
        if review is not None:
            person.get_by_label("Review the deferral on").fill(review.isoformat())
        if text:
            person.get_by_label("Reason, statement or remark (sealed)").fill(text)
        if file is not None:
            person.get_by_label("Statement files (optional)").set_input_files(file)
        person.get_by_role("button", name="Record the step").click()
        expect(page.locator("#case-announce")).to_have_text("The step was recorded.")

    # A deferral needs its review day: the page says so before anything is sent.
    person.get_by_label("Next step").select_option("deferred")
    person.get_by_label("Reason, statement or remark (sealed)").fill(REASON)
    person.get_by_role("button", name="Record the step").click()
    expect(person.locator(".field-error")).to_contain_text(
        "Choose the day the deferral is to be reviewed.")
    step("deferred", REASON, date.today() + timedelta(days=20))
    expect(person).to_contain_text(REASON)
    expect(person).to_contain_text("to be reviewed on")
    step("informed")
    statement = tmp_path / "statement.txt"
    statement.write_text("Signed statement MARKER-FILE-2f8e")
    step("heard", STATEMENT, file=str(statement))
    expect(person).to_contain_text(STATEMENT)
    expect(person.get_by_role("button", name="Save statement.txt")).to_be_visible()
    step("cleared")
    expect(person).to_contain_text("Their data will be deleted on")
    delete = person.get_by_role("button", name="Delete this person's data")
    delete.click()
    person.get_by_role("button", name="Delete for good").click()
    expect(page.locator("#case-announce")).to_have_text("The person's data was deleted.")
    expect(person).to_contain_text("This person's data was deleted on")
    expect(person).not_to_contain_text(NAME)

    # What the page sent: ciphertext and days only.
    for request in recorder.received:
        for marker in (b"MARKER-PERSON", b"MARKER-REASON", b"MARKER-STATEMENT",
                       b"MARKER-FILE", "Jovanović".encode()):
            assert marker not in request.body, request.path
    db.expire_all()
    [row] = db.scalars(select(Person)).all()
    assert row.state == "deleted" and row.payload is None
    actions = [a for a in db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq))
               if a.startswith("person_")]
    assert actions == ["person_added", "person_information_deferred", "person_informed",
                       "person_heard", "person_cleared", "person_data_deleted"]
