"""A case's reference on its page, and its history: what was done on it, by whom and on which
day, for the case's readers only, and never any of the report's content."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, func, select

from crypto import KeyPair
from integrity.audit import AuditEntry, record
from integrity.cases.history import case_history
from integrity.models import Channel, Role, User
from integrity.reporting.models import Report
from tests.helpers.pages import post, signed_in
from tests.helpers.reports import CASE_ANSWERS, file_report

NAMES = ("Amira Haddad", "Bohdan Koval")


@pytest.fixture
def readers(db, make_account, channel):
    """Two inspectors with names of their own, recipients of the channel: readers of every
    case filed after."""
    accounts = []
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    for name in NAMES:
        account = make_account(Role.INSPECTOR)
        user = db.get(User, account.id)
        user.name = name
        user.public_key = KeyPair.generate().public_key
        ch.recipients.append(user)
        accounts.append(account)
    db.commit()
    return accounts


def _history(client, report_id: int, **args: object) -> str:
    response = client.get(f"/cases/{report_id}/history", query_string=args)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _rows(page: str) -> list[str]:
    """The history table's rows as text: day | who | what."""
    rows = re.findall(r"<tr>\s*(<td>.*?)</tr>", page, re.S)
    return [" | ".join(re.sub(r"<[^>]+>", "", cell).strip()
                       for cell in re.findall(r"<td>(.*?)</td>", row, re.S)) for row in rows]


def test_the_case_page_is_titled_by_the_reference_and_keeps_the_day(app, client, channel,
                                                                    readers, db) -> None:
    report_id = file_report(client, channel)
    reference = db.get(Report, report_id).reference
    page = signed_in(app, readers[0]).get(f"/cases/{report_id}").get_data(as_text=True)
    assert re.search(rf"<h1>Case <bdi dir=\"ltr\">{reference}</bdi></h1>", page)
    assert f"<title>Case {reference} ·" in page
    assert "Received on" in page
    assert f'href="/cases/{report_id}/history"' in page


def test_readers_see_what_was_done_by_whom_in_order(app, client, channel, readers,
                                                    db) -> None:
    first, second = readers
    report_id = file_report(client, channel)
    other_id = file_report(client, channel)
    amira = signed_in(app, first)
    amira.get(f"/cases/{report_id}")
    post(amira, f"/cases/{report_id}/status", {"status": "acknowledged", "outcome": ""},
         page=f"/cases/{report_id}")
    post(amira, f"/cases/{report_id}/assign", {"assignee": str(second.id)},
         page=f"/cases/{report_id}")
    bohdan = signed_in(app, second)
    db.get(Report, report_id).final_notice_on = db.get(Report, report_id).created_on
    db.commit()  # as sending the final notice does (tests/test_case_thread.py)
    post(bohdan, f"/cases/{report_id}/status", {"status": "closed",
                                                "outcome": "substantiated"},
         page=f"/cases/{report_id}")
    # What the thread and sharing record, with the facts they record.
    report = db.get(Report, report_id)
    record(db, actor=db.get(User, first.id), action="message_sent",
           subject=f"report:{report_id}", details={"attachments": 2})
    record(db, actor=db.get(User, first.id), action="message_sent",
           subject=f"report:{report_id}", details={"attachments": 0, "kind": "feedback"})
    record(db, actor=db.get(User, first.id), action="message_sent",
           subject=f"report:{report_id}", details={"attachments": 1, "kind": "final_notice"})
    record(db, actor=db.get(User, second.id), action="note_written",
           subject=f"report:{report_id}", details={"attachments": 0})
    record(db, actor=db.get(User, second.id), action="case_shared",
           subject=f"report:{report_id}", details={"with": first.id, "documents": 3})
    db.commit()
    # Another case's entries stay on that case.
    post(bohdan, f"/cases/{other_id}/status", {"status": "in_progress", "outcome": ""},
         page=f"/cases/{other_id}")

    page = _history(bohdan, report_id)
    assert f"History of case <bdi dir=\"ltr\">{report.reference}</bdi>" in page
    rows = _rows(page)
    whats = [row.split(" | ")[2] for row in rows]
    # The two case pages Bohdan's status change loaded after Amira's (each form is sent from
    # the page, which records its opening).
    assert [w for w in whats if w != "Opened the case"] == [
        "Changed the status from “New” to “Acknowledged”",
        "Made Bohdan Koval the responsible inspector",
        "Changed the status from “Acknowledged” to “Closed”, with the outcome “Substantiated”",
        "Wrote to the reporter, with 2 files",
        "Gave the reporter feedback",
        "Sent the reporter the final notice, with 1 file",
        "Wrote an internal note",
        "Shared the case with Amira Haddad",
    ]
    assert whats[0] == "Opened the case"
    who = [row.split(" | ")[1] for row in rows if "status" in row]
    assert who == ["Amira Haddad", "Bohdan Koval"]
    assert "In progress" not in page  # the other case's change
    assert "“In progress”" in _history(bohdan, other_id)
    # Days only: the day of each entry, no time of day.
    day = db.scalar(select(AuditEntry.at).order_by(AuditEntry.seq.desc())).date().isoformat()
    assert f'<time datetime="{day}">' in page
    assert not re.search(r"\d{1,2}:\d{2}", " ".join(row.split(" | ")[0] for row in rows))
    # Nothing of the report: no answer, no category, no channel.
    for text in (CASE_ANSWERS["what"], "Waving through without checks", "waving-through"):
        assert text not in page


def test_entries_without_an_account_name_the_reporter_or_the_system(app, client, channel,
                                                                    readers, db) -> None:
    report_id = file_report(client, channel)
    subject = f"report:{report_id}"
    gone = User(email="gone@example.org", name="Gone Inspector", role=Role.INSPECTOR,
                password_hash="-")
    db.add(gone)
    db.flush()
    record(db, actor=gone, action="case_opened", subject=subject)
    db.execute(delete(User).where(User.id == gone.id))
    record(db, actor=None, actor_label="reporter", action="case_opened", subject=subject)
    record(db, actor=None, actor_label="system", action="assigned", subject=subject,
           details={"from": readers[0].id, "to": None})
    record(db, actor=None, actor_label="cli", action="some_future_action", subject=subject)
    db.commit()
    rows = _rows(_history(signed_in(app, readers[0]), report_id))
    assert [row.split(" | ", 1)[1] for row in rows] == [
        f"account {gone.id} (deleted) | Opened the case",
        "the reporter | Opened the case",
        "the system | Left the case with no responsible inspector",
        "the system | Other action (some_future_action)",
    ]


def test_only_the_case_readers_see_its_history(app, client, channel, readers, make_account,
                                              db) -> None:
    first, second = readers
    sealed_to_first = file_report(client, channel, excluded=[str(second.id)])
    assert signed_in(app, first).get(f"/cases/{sealed_to_first}/history").status_code == 200
    # An inspector the case was not sealed to does not learn that it exists.
    excluded = signed_in(app, second)
    assert excluded.get(f"/cases/{sealed_to_first}/history").status_code == 404
    assert excluded.get("/cases/999999/history").status_code == 404
    outsider = signed_in(app, make_account(Role.INSPECTOR))
    assert outsider.get(f"/cases/{sealed_to_first}/history").status_code == 404
    for role in (Role.MANAGER, Role.ADMIN):
        response = signed_in(app, make_account(role)).get(f"/cases/{sealed_to_first}/history")
        assert response.status_code == 403, role
        assert CASE_ANSWERS["what"] not in response.get_data(as_text=True)
    signed_out = app.test_client().get(f"/cases/{sealed_to_first}/history")
    assert signed_out.status_code == 302
    assert "/staff/login" in signed_out.headers["Location"]


def test_viewing_the_history_records_nothing(app, client, channel, readers, db) -> None:
    report_id = file_report(client, channel)
    reader = signed_in(app, readers[0])
    reader.get(f"/cases/{report_id}")
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    for _ in range(3):
        _history(reader, report_id)
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_a_long_history_comes_a_hundred_entries_a_page(app, client, channel, readers,
                                                      db) -> None:
    report_id = file_report(client, channel)
    actor = db.get(User, readers[0].id)
    for _ in range(101):
        record(db, actor=actor, action="case_opened", subject=f"report:{report_id}")
    record(db, actor=actor, action="note_written", subject=f"report:{report_id}",
           details={"attachments": 1})
    db.commit()
    reader = signed_in(app, readers[0])
    first = _history(reader, report_id)
    assert len(_rows(first)) == 100 and "Page 1 of 2" in first
    assert f'href="/cases/{report_id}/history?page=2"' in first
    second = _history(reader, report_id, page=2)
    assert _rows(second)[-1].endswith("Amira Haddad | Wrote an internal note, with 1 file")
    assert len(_rows(second)) == 2
    # Out-of-range pages show the nearest page there is.
    assert _rows(_history(reader, report_id, page=9)) == _rows(second)
    # The service pages the same way, without HTTP.
    with app.test_request_context():
        pages = [case_history(db, report_id, page, per_page=40) for page in (1, 2, 3)]
    assert [len(p.lines) for p in pages] == [40, 40, 22]
    assert {p.total for p in pages} == {102}

