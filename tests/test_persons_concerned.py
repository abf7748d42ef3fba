"""Persons concerned by a case: sealed entries and steps, the review of a deferred
information, and the deletion of a cleared person's data, driven by a Python client that
seals as the case page does."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, text

import crypto
from admin.users import reset_second_factor
from integrity.audit import AuditEntry, verify
from integrity.cases.inbox import InboxFilters, Position, inbox
from integrity.cases.person_models import Person, PersonKeySlot, PersonStep
from integrity.models import Channel, Role, User, today
from integrity.notifications.models import Notification
from integrity.reporting.models import Attachment, Report
from tests.conftest import csrf_token
from tests.helpers.pages import sign_in
from tests.helpers.persons import Page
from tests.helpers.reports import first_case
from tests.protocol_client import ReporterClient, Upload

ANSWERS = {"what": "The shift chief at lane 2 takes cash from one haulier."}
NAME = "Dragan Petrović-Zlatanović, shift chief, lane 2"
REASON = "Informing him now would warn the haulier before the search."
STATEMENT = "He says the envelopes held delivery papers only."


@pytest.fixture
def keyed_inspectors(db, make_account, channel):
    """Two inspectors who sign in, each with a key pair, recipients of the channel."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    result = []
    for _ in range(2):
        account = make_account(Role.INSPECTOR)
        pair = crypto.KeyPair.generate()
        user = db.get(User, account.id)
        user.public_key = pair.public_key
        ch.recipients.append(user)
        result.append((account, pair))
    db.commit()
    return result


@pytest.fixture
def case(app, client, login, channel, keyed_inspectors):
    (first, pair), _ = keyed_inspectors
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    login(first)
    page = Page(client, first_case(client), pair)
    page.reporter, page.receipt = reporter, filed.receipt
    return page


def test_a_person_is_added_and_goes_through_every_step(case, app, db, keyed_inspectors) -> None:
    person = case.add()
    [entry] = case.persons()
    assert entry["state"] == "added" and case.open(entry) == {"name": NAME, "role": "subject"}
    review = today() + timedelta(days=30)
    assert case.step(person, "deferred", REASON, review_on=review).status_code == 201
    assert case.step(person, "informed").status_code == 201
    upload_id, file_entry = case.reporter.upload(
        Upload("statement.pdf", "application/pdf", b"%PDF-1.4 statement"))
    assert case.step(person, "heard", STATEMENT,
                     attachments=[(upload_id, file_entry)]).status_code == 201
    assert case.step(person, "outcome_notified").status_code == 201
    assert case.step(person, "cleared").status_code == 201
    [entry] = case.persons()
    assert entry["state"] == "cleared" and entry["cleared_on"] == today().isoformat()
    assert [s["kind"] for s in entry["steps"]] == [
        "deferred", "informed", "heard", "outcome_notified", "cleared"]
    deferral, _, heard, _, _ = entry["steps"]
    assert deferral["review_on"] == review.isoformat() and case.open(deferral)["text"] == REASON
    assert case.open(heard)["text"] == STATEMENT and heard["attachments"] == [upload_id]
    # The statement's file is the case's (readers download it), never the reporter's.
    with case.client.get(f"/cases/{case.report_id}/attachments/{upload_id}") as response:
        assert response.status_code == 200
    keys = case.reporter.derive(case.receipt)
    with case.reporter.http.post("/api/v1/mailbox/attachment", json={
            "lookup": crypto.b64encode(keys.lookup), "id": upload_id}) as response:
        assert response.status_code == 404
    # The other reader opens everything with their own slots; the history names no one.
    _, (second, second_pair) = keyed_inspectors
    other = app.test_client()
    sign_in(other, second)
    colleague = Page(other, case.report_id, second_pair)
    [seen] = colleague.persons()
    assert colleague.open(seen)["name"] == NAME
    actions = list(db.scalars(select(AuditEntry.action).where(
        AuditEntry.subject == f"report:{case.report_id}", AuditEntry.action.like("person_%"))
        .order_by(AuditEntry.seq)))
    assert actions == ["person_added", "person_information_deferred", "person_informed",
                       "person_heard", "person_outcome_notified", "person_cleared"]
    history = case.client.get(f"/cases/{case.report_id}/history").get_data(as_text=True)
    assert "Petrović" not in history and "Heard person" in history
    assert verify(db).ok


def test_steps_are_refused_out_of_order_or_with_wrong_days(case) -> None:
    person = case.add()
    # Heard before being informed, a review day in the past, a day to come, a bad day.
    assert case.step(person, "heard", STATEMENT).status_code == 409
    assert case.step(person, "deferred", REASON, review_on=today()).status_code == 400
    response = case.step(person, "informed", on=today() + timedelta(days=1))
    assert response.status_code == 400
    assert response.get_json()["error"] == (
        "The day must be between the day the report arrived and today.")
    body = {"kind": "informed", "on": "yesterday", **case.seal({"text": ""})}
    response = case.client.post(f"/cases/{case.report_id}/persons/{person}/steps",
                                headers=case.headers, json=body)
    assert response.status_code == 400
    # Only a cleared person's data can be deleted.
    assert case.delete(person).status_code == 409
    # A document sealed to the reporter too is refused, as for a note.
    sealed = case.sealed
    readers = {r["id"]: crypto.b64decode(r["public_key"]) for r in sealed["recipients"]}
    readers["reporter"] = crypto.b64decode(sealed["reporter_public_key"])
    bad = crypto.seal_document({"name": "x"}, readers, sealed["pad_block"])
    response = case.client.post(f"/cases/{case.report_id}/persons", headers=case.headers, json={
        "payload": crypto.b64encode(bad.payload),
        "key_slots": {k: crypto.b64encode(v) for k, v in bad.key_slots.items()}})
    assert response.status_code == 400 and "must not have one" in response.get_json()["error"]
    assert [p["state"] for p in case.persons()] == ["added"]


def _scheduler_run_on(app, day: date, job_name: str) -> None:
    """Run one of the scheduler's jobs once, its clock moved to ``day``."""
    import integrity.scheduler as scheduling

    class Moved(scheduling.Clock):
        def now(self) -> datetime:
            return datetime.combine(day, time(5), UTC)

    scheduler = scheduling.Scheduler(app, clock=Moved(), lease_seconds=5)
    scheduler.start()
    try:
        assert scheduler.wait_until_running()
        getattr(scheduling, job_name)()
    finally:
        scheduler.shutdown()


def test_a_deferral_review_reminds_the_readers_when_its_day_comes(app, db, case) -> None:
    from integrity.cases.persons import remind_reviews

    person = case.add()
    review = today() + timedelta(days=10)
    assert case.step(person, "deferred", REASON, review_on=review).status_code == 201
    db.rollback()

    def reminders() -> int:
        db.expire_all()
        return db.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind == "person_review_due")) or 0

    def at(day: date) -> datetime:
        return datetime.combine(day, time(5))

    assert remind_reviews(db, review - timedelta(days=1), at(review)) == 0
    readers = len(db.get(Report, case.report_id).readers)
    assert readers >= 2
    # The scheduler's daily job, its clock moved to the review day, tells every reader.
    _scheduler_run_on(app, review, "daily_notices")
    assert reminders() == readers
    assert remind_reviews(db, review, at(review)) == 0  # once a day at most
    assert remind_reviews(db, review + timedelta(days=6), at(review)) == 0
    assert remind_reviews(db, review + timedelta(days=7), at(review)) == readers  # weekly
    db.commit()
    # The inbox marks the case on the review day, not before.
    user = db.get(User, int(case.sealed["recipients"][0]["id"]))
    rows = inbox(db, user, InboxFilters(), Position(), review).rows
    assert [row.review_due for row in rows] == [True]
    rows = inbox(db, user, InboxFilters(), Position(), review - timedelta(days=1)).rows
    assert [row.review_due for row in rows] == [False]
    assert "Review due" not in case.client.get("/cases/").get_data(as_text=True)
    # The review day comes (the clock of the database's rows is moved back to today).
    db.execute(text("UPDATE case_persons SET review_on = :day"), {"day": today()})
    db.commit()
    assert "Review due" in case.client.get("/cases/").get_data(as_text=True)
    # Informing the person ends the deferral: no marker, no more reminders.
    assert case.step(person, "informed").status_code == 201
    assert "Review due" not in case.client.get("/cases/").get_data(as_text=True)


def _ciphertext_left(db, report_id: int) -> list[bytes]:
    """Every stored ciphertext of the case's persons."""
    persons = list(db.scalars(select(Person.payload).where(Person.report_id == report_id)))
    steps = list(db.scalars(select(PersonStep.payload).join(Person)
                            .where(Person.report_id == report_id)))
    slots = list(db.scalars(select(PersonKeySlot.slot).join(Person)
                            .where(Person.report_id == report_id)))
    return [value for value in persons + steps + slots if value is not None]


def _tombstone(case, db, person: str, files: list[str], store, day: date | None = None) -> None:
    db.expire_all()
    [entry] = case.persons()
    assert entry["state"] == "deleted" and entry["deleted_on"] == (day or today()).isoformat()
    assert entry["payload"] is None and entry["steps"] == []
    assert _ciphertext_left(db, case.report_id) == []
    for upload_id in files:
        assert db.get(Attachment, upload_id) is None and not store.exists(upload_id)
    # The case itself is kept, with its report and thread.
    assert db.get(Report, case.report_id) is not None
    assert db.scalar(select(AuditEntry).where(AuditEntry.action == "person_data_deleted"))


def test_a_cleared_persons_data_is_deleted_on_request(app, db, case) -> None:
    from integrity import current

    person = case.add()
    assert case.step(person, "informed").status_code == 201
    upload_id, entry = case.reporter.upload(Upload("statement.txt", "text/plain", b"words"))
    assert case.step(person, "heard", STATEMENT, attachments=[(upload_id, entry)]).status_code \
        == 201
    assert case.step(person, "cleared").status_code == 201
    assert case.delete(person).status_code == 200
    with app.app_context():
        store = current.attachment_store(app)
    _tombstone(case, db, person, [upload_id], store)
    assert case.delete(person).status_code == 409
    assert case.step(person, "informed").status_code == 409


def test_a_legal_hold_keeps_a_cleared_persons_data(db, case) -> None:
    person = case.add()
    assert case.step(person, "cleared").status_code == 201
    db.execute(text("UPDATE reports SET held = :held"), {"held": True})
    db.commit()
    response = case.delete(person)
    assert response.status_code == 409 and "legal hold" in response.get_json()["error"]


def test_a_cleared_persons_data_is_deleted_after_the_channels_period(app, db, case) -> None:
    from integrity import current
    from integrity.cases.persons import purge_cleared_persons

    person = case.add()
    assert case.step(person, "cleared").status_code == 201
    keep = db.get(Report, case.report_id).channel.person_deletion_days
    assert keep == 30
    db.rollback()

    with app.app_context():
        store = current.attachment_store(app)
    assert purge_cleared_persons(db, store, today() + timedelta(days=keep - 1)) == 0
    db.commit()
    assert case.persons()[0]["state"] == "cleared"
    assert case.persons()[0]["deletion_on"] == (today() + timedelta(days=keep)).isoformat()
    # The scheduler's nightly purge, its clock moved to that day, deletes the data.
    _scheduler_run_on(app, today() + timedelta(days=keep), "purge_cases")
    _tombstone(case, db, person, [], store, today() + timedelta(days=keep))
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "person_data_deleted"))
    assert entry.actor_id is None and entry.facts["rule"] == "after_clearing"


def _share_body(case, pair: crypto.KeyPair, newcomer_id: int) -> dict:
    """A share of the whole case, persons included, with ``newcomer_id``'s key."""
    sealed = case.client.get(f"/cases/{case.report_id}/sealed").get_json()
    documents = {"report": sealed["report"]["key_slot"],
                 **{m["id"]: m["key_slot"] for m in sealed["messages"] if m["key_slot"]}}
    for entry in case.persons():
        documents[f"person:{entry['id']}"] = entry["key_slot"]
        for step in entry["steps"]:
            documents[f"person-step:{step['id']}"] = step["key_slot"]

    def reseal(slot: str) -> str:
        key = crypto.open_key_slot(crypto.b64decode(slot), case.pair.secret_key)
        return crypto.b64encode(crypto.seal_key(key, pair.public_key))

    return {"inspector": str(newcomer_id), "reason": "Second opinion",
            "key_slots": {name: reseal(slot) for name, slot in documents.items()}}


def _newcomer(db, make_account) -> tuple[object, crypto.KeyPair]:
    newcomer = make_account(Role.INSPECTOR)
    pair = crypto.KeyPair.generate()
    db.get(User, newcomer.id).public_key = pair.public_key
    db.commit()
    return newcomer, pair


def _slots_of(db, user_id: int) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(PersonKeySlot).where(
        PersonKeySlot.reader == str(user_id))) or 0


def test_a_shared_colleague_reads_the_persons_and_one_taken_off_loses_them(
        app, db, case, make_account, channel) -> None:
    person = case.add()
    assert case.step(person, "informed", "Told in person.").status_code == 201
    newcomer, pair = _newcomer(db, make_account)
    body = _share_body(case, pair, newcomer.id)
    # A share that leaves out the persons is refused: every document, no other.
    partial = {**body, "key_slots": {k: v for k, v in body["key_slots"].items()
                                     if not k.startswith("person")}}
    response = case.client.post(f"/cases/{case.report_id}/share", headers=case.headers,
                                json=partial)
    assert response.status_code == 400
    assert case.client.post(f"/cases/{case.report_id}/share", headers=case.headers,
                            json=body).status_code == 201
    other = app.test_client()
    sign_in(other, newcomer)
    colleague = Page(other, case.report_id, pair)
    [entry] = colleague.persons()
    assert colleague.open(entry)["name"] == NAME
    assert colleague.open(entry["steps"][0])["text"] == "Told in person."
    # Taken off the case: no key slot of a person is left for them.
    token = csrf_token(case.client, f"/cases/{case.report_id}")
    case.client.post(f"/cases/{case.report_id}/readers/remove", data={
        "csrf_token": token, "remove-csrf_token": token, "remove-reader": str(newcomer.id),
        "remove-reason": "Done"})
    assert _slots_of(db, newcomer.id) == 0


def test_a_second_factor_reset_drops_the_persons_slots_sealed_to_the_old_key(
        db, case, make_account) -> None:
    person = case.add()
    assert case.step(person, "informed", "Told in person.").status_code == 201
    newcomer, pair = _newcomer(db, make_account)
    assert case.client.post(f"/cases/{case.report_id}/share", headers=case.headers,
                            json=_share_body(case, pair, newcomer.id)).status_code == 201
    assert _slots_of(db, newcomer.id) == 2  # the entry and its step
    admin = make_account(Role.ADMIN)
    reset_second_factor(db, db.get(User, admin.id), db.get(User, newcomer.id), "Phone lost.",
                        passphrase_lost=False, hours=24)
    db.commit()
    # A colleague can share the case again: nothing sealed to the old key is left.
    assert _slots_of(db, newcomer.id) == 0


def test_only_the_cases_readers_reach_the_persons(app, db, case, make_account,
                                                  keyed_inspectors) -> None:
    person = case.add()
    urls = [("get", f"/cases/{case.report_id}/persons"),
            ("post", f"/cases/{case.report_id}/persons"),
            ("post", f"/cases/{case.report_id}/persons/{person}/steps"),
            ("post", f"/cases/{case.report_id}/persons/{person}/delete")]
    outsider_account = make_account(Role.INSPECTOR)
    db.get(User, outsider_account.id).public_key = crypto.KeyPair.generate().public_key
    db.commit()
    outsider = app.test_client()
    sign_in(outsider, outsider_account)
    token = csrf_token(outsider, "/cases/")
    for method, url in urls:
        response = getattr(outsider, method)(url, json={}, headers={"X-CSRFToken": token})
        assert response.status_code == 404, url
    for role in (Role.AUDITOR, Role.MANAGER, Role.ADMIN):
        someone = app.test_client()
        sign_in(someone, make_account(role))
        assert someone.get(urls[0][1]).status_code == 403, role
    # Another case's person is not found through this one.
    assert case.client.post(f"/cases/{case.report_id}/persons/999999/steps",
                            headers=case.headers, json={}).status_code == 404
