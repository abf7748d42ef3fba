"""Retention in finer detail: a legal hold stops the purge, cases closed as unsubstantiated
or not in scope may go sooner, cases never closed go at their channel's maximum age after a
warning to their readers; administrators set the periods, inspectors place and lift holds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from crypto import KeyPair
from integrity.audit import AuditEntry, verify
from integrity.cases.retention import (
    WARNING_DAYS,
    RetentionError,
    deletion_day,
    due_for_purge,
    lift_hold,
    place_hold,
    purge_cases,
    warn_before_max_age,
)
from integrity.models import Channel, Role, User
from integrity.notifications.messages import inspector_notice
from integrity.notifications.models import Notification
from integrity.notifications.outbox import Kind
from integrity.reporting.models import Report
from tests.helpers.pages import post, signed_in
from tests.helpers.reports import file_report

TODAY = date(2031, 6, 15)


def _channel(db, slug: str) -> Channel:
    row = db.scalar(select(Channel).where(Channel.slug == slug))
    assert row is not None
    return row


def _close(db, report_id: int, outcome: str, closed_on: date) -> None:
    db.execute(update(Report).where(Report.id == report_id).values(
        status="closed", outcome=outcome, closed_on=closed_on))
    db.commit()


def _filed_on(db, report_id: int, day: date) -> None:
    db.execute(update(Report).where(Report.id == report_id).values(created_on=day))
    db.commit()


def _inspector(db, channel) -> User:
    user = db.scalar(select(User).where(User.role == Role.INSPECTOR).order_by(User.id))
    assert user is not None
    return user


def _purged(db, app) -> list[int]:
    purged = purge_cases(db, app.extensions["integrity.attachments"], TODAY)
    db.commit()
    return sorted(case.report_id for case in purged)


def test_a_legal_hold_stops_the_purge_until_it_is_lifted(app, db, client, channel) -> None:
    retention = _channel(db, channel.slug).retention_days
    held, other = file_report(client, channel), file_report(client, channel)
    for report_id in (held, other):
        _close(db, report_id, "substantiated", TODAY - timedelta(days=retention + 10))
    inspector = _inspector(db, channel)
    place_hold(db, db.get(Report, held), inspector, "Court of Bihać, case K-12/2031")
    db.commit()
    assert deletion_day(db.get(Report, held)) is None
    assert _purged(db, app) == [other]
    assert db.get(Report, held) is not None
    with pytest.raises(RetentionError, match="already on legal hold"):
        place_hold(db, db.get(Report, held), inspector, "again")
    db.rollback()
    lift_hold(db, db.get(Report, held), inspector, "Judgment final")
    db.commit()
    assert deletion_day(db.get(Report, held)) == TODAY - timedelta(days=10)
    assert _purged(db, app) == [held]
    entries = {entry.action: entry.facts for entry in db.scalars(
        select(AuditEntry).where(AuditEntry.subject == f"report:{held}"))}
    assert entries["case_held"] == {"reason": "Court of Bihać, case K-12/2031"}
    assert entries["case_hold_lifted"] == {"reason": "Judgment final"}
    assert verify(db).ok


def test_a_hold_needs_a_short_reason(app, db, client, channel) -> None:
    report = db.get(Report, file_report(client, channel))
    inspector = _inspector(db, channel)
    with pytest.raises(RetentionError, match="Give the reason"):
        place_hold(db, report, inspector, "   ")
    with pytest.raises(RetentionError, match="under 200 characters"):
        place_hold(db, report, inspector, "x" * 201)
    db.rollback()
    assert db.get(Report, report.id).held is False
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "case_held")) == 0


def test_unsubstantiated_and_out_of_scope_cases_may_go_sooner(app, db, client,
                                                              channel) -> None:
    row = _channel(db, channel.slug)
    row.short_retention_days = 90
    db.commit()
    ids = {name: file_report(client, channel) for name in
           ("unsubstantiated", "not_in_scope", "substantiated", "recent")}
    _close(db, ids["unsubstantiated"], "unsubstantiated", TODAY - timedelta(days=90))
    _close(db, ids["not_in_scope"], "not_in_scope", TODAY - timedelta(days=200))
    _close(db, ids["substantiated"], "substantiated", TODAY - timedelta(days=200))
    _close(db, ids["recent"], "not_in_scope", TODAY - timedelta(days=89))
    assert deletion_day(db.get(Report, ids["substantiated"])) == (
        TODAY - timedelta(days=200) + timedelta(days=row.retention_days))
    assert deletion_day(db.get(Report, ids["recent"])) == TODAY + timedelta(days=1)
    assert _purged(db, app) == sorted([ids["unsubstantiated"], ids["not_in_scope"]])
    # Without a shorter period, every outcome keeps the channel's period.
    row = _channel(db, channel.slug)
    row.short_retention_days = None
    db.commit()
    assert due_for_purge(db, TODAY + timedelta(days=100)) == []


def test_cases_never_closed_go_at_the_maximum_age_after_a_warning(app, db, client,
                                                                  channel) -> None:
    row = _channel(db, channel.slug)
    row.max_open_days = 400
    db.commit()
    readers = {user.id for user in row.recipients}
    soon, later, held = (file_report(client, channel) for _ in range(3))
    _filed_on(db, soon, TODAY - timedelta(days=400 - WARNING_DAYS))  # due in 30 days
    _filed_on(db, later, TODAY - timedelta(days=400 - WARNING_DAYS - 1))  # due in 31 days
    _filed_on(db, held, TODAY - timedelta(days=400 - WARNING_DAYS))
    place_hold(db, db.get(Report, held), _inspector(db, channel), "Prosecutor's inquiry")
    db.commit()
    now = datetime.combine(TODAY, datetime.min.time(), UTC)
    assert warn_before_max_age(db, TODAY, now) == len(readers)
    db.commit()
    assert warn_before_max_age(db, TODAY, now) == 0  # once per case and reader
    notices = list(db.scalars(select(Notification).where(
        Notification.kind == str(Kind.CASE_EXPIRING))))
    assert {notice.user_id for notice in notices} == readers
    assert all(f":{soon}:" in notice.dedup_key for notice in notices)
    assert deletion_day(db.get(Report, soon)) == TODAY + timedelta(days=WARNING_DAYS)
    # Nothing is deleted before the day; on it, the case goes, and the audit says why.
    assert due_for_purge(db, TODAY + timedelta(days=WARNING_DAYS - 1)) == []
    purged = purge_cases(db, app.extensions["integrity.attachments"],
                         TODAY + timedelta(days=WARNING_DAYS))
    db.commit()
    assert [case.report_id for case in purged] == [soon]
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "case_purged"))
    assert entry.facts["rule"] == "max_age" and "closed_on" not in entry.facts
    # Closing a case takes it out of the rule: the retention period counts from closing.
    _close(db, later, "substantiated", TODAY)
    assert due_for_purge(db, TODAY + timedelta(days=WARNING_DAYS + 1)) == []
    assert db.get(Report, held) is not None


def test_the_warning_e_mail_names_no_case(app) -> None:
    settings = app.extensions["integrity.settings"]
    with app.app_context():
        english = inspector_notice(settings, "a@example.org", "en",
                                   [Kind.CASE_EXPIRING, Kind.CASE_EXPIRING], "k1")
        french = inspector_notice(settings, "a@example.org", "fr", [Kind.CASE_EXPIRING], "k2")
    text = english.get_content()
    assert "2 cases that were never closed will be deleted within 30 days" in text
    assert "legal hold" in text
    assert "never names a case" in text
    assert "garde juridique" not in text  # the English one is English
    french_text = french.get_content()
    assert "30" in french_text and "never closed" not in french_text


@pytest.fixture
def reader(db, make_account, channel):
    """An inspector who signs in and reads the cases of the channel."""
    account = make_account(Role.INSPECTOR)
    user = db.get(User, account.id)
    user.name = "Amira Haddad"
    user.public_key = KeyPair.generate().public_key
    row = _channel(db, channel.slug)
    row.recipients.append(user)
    db.commit()
    return account


def test_a_reader_places_and_lifts_a_hold_on_the_case_page(app, db, client, channel, reader,
                                                           make_account) -> None:
    report_id = file_report(client, channel)
    inspector = signed_in(app, reader)
    page = inspector.get(f"/cases/{report_id}").get_data(as_text=True)
    assert "Place on legal hold" in page
    kept = re.search(r'id="case-kept">([^<]*)<', page)
    assert kept and kept[1] == "Until closed, then for the channel's retention period"
    refused = post(inspector, f"/cases/{report_id}/hold", {"reason": ""},
                   page=f"/cases/{report_id}", follow_redirects=True)
    assert "This field is required." in refused.get_data(as_text=True)
    assert db.get(Report, report_id).held is False
    placed = post(inspector, f"/cases/{report_id}/hold", {"reason": "Court case 12/2031"},
                  page=f"/cases/{report_id}", follow_redirects=True).get_data(as_text=True)
    assert "The case is on legal hold" in placed
    assert "On legal hold: not deleted until the hold is lifted" in placed
    assert "Lift the legal hold" in placed
    db.expire_all()
    assert db.get(Report, report_id).held is True
    history = inspector.get(f"/cases/{report_id}/history").get_data(as_text=True)
    assert "Placed the case on legal hold: Court case 12/2031" in history
    lifted = post(inspector, f"/cases/{report_id}/hold", {"reason": "Proceedings over"},
                  page=f"/cases/{report_id}", follow_redirects=True).get_data(as_text=True)
    assert "The legal hold was lifted" in lifted
    db.expire_all()
    assert db.get(Report, report_id).held is False
    # An inspector the case was not sealed to learns nothing, and changes nothing.
    stranger = signed_in(app, make_account(Role.INSPECTOR))
    assert post(stranger, f"/cases/{report_id}/hold", {"reason": "x"},
                page="/cases/").status_code == 404
    db.expire_all()
    assert db.get(Report, report_id).held is False


def test_administrators_set_the_shorter_period_and_the_maximum_age(app, db, admin,
                                                                   channel) -> None:
    client = signed_in(app, admin)
    row = _channel(db, channel.slug)
    keep = [str(user.id) for user in row.recipients]
    base = {"name": row.name, "retention_days": "730", "asks_category": "y",
            "recipients": keep}
    too_long = post(client, f"/admin/channels/{row.id}",
                    {**base, "short_retention_days": "800"}).get_data(as_text=True)
    assert "cases is from 1 day to the channel" in too_long
    too_young = post(client, f"/admin/channels/{row.id}",
                     {**base, "max_open_days": "200"}).get_data(as_text=True)
    assert "from 365 to 36500" in too_young
    db.expire_all()
    assert (_channel(db, channel.slug).short_retention_days,
            _channel(db, channel.slug).max_open_days) == (None, None)
    saved = post(client, f"/admin/channels/{row.id}",
                 {**base, "short_retention_days": "180", "max_open_days": "1095"})
    assert saved.status_code == 302
    db.expire_all()
    row = _channel(db, channel.slug)
    assert (row.retention_days, row.short_retention_days, row.max_open_days) == (730, 180, 1095)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "channel_changed")
                      .order_by(AuditEntry.seq.desc()))
    assert entry.facts["short_retention_days"] == 180 and entry.facts["max_open_days"] == 1095
    # Emptied again: one period for every outcome, open cases kept.
    post(client, f"/admin/channels/{row.id}",
         {**base, "short_retention_days": "", "max_open_days": ""})
    db.expire_all()
    row = _channel(db, channel.slug)
    assert (row.short_retention_days, row.max_open_days) == (None, None)
