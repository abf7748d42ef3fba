"""Notifications through a real mail server (aiosmtpd on loopback): every kind reaches its
recipients in their language and says nothing of a case; notices of activity wait for their
batch; preferences; retries after refusals; no duplicate after a stop in the middle of a run."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, timedelta
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from flask_babel import force_locale, gettext
from sqlalchemy import func, select, update

import crypto
from integrity.audit import AuditEntry, record
from integrity.cases.deadlines import add_months
from integrity.mail import Mailer
from integrity.models import Category, Channel, OrgUnit, Role, User
from integrity.notifications.models import Notification
from integrity.notifications.outbox import Kind, activity_due, next_batch
from integrity.notifications.reminders import remind_deadlines, summarise_for_admins
from integrity.notifications.sender import last_digest, retry_delay, send_due
from integrity.reporting.models import Report, Status
from tests.conftest import csrf_token, free_port
from tests.helpers.mail import Mailbox
from tests.helpers.pages import sign_in
from tests.helpers.reports import (
    CASE_ANSWERS,
    file_report,
    filed_report_id,
    first_case,
    seal_item,
)
from tests.protocol_client import ReporterClient


@pytest.fixture
def settings_overrides(smtp: Mailbox) -> dict[str, object]:
    return {"mail_host": "127.0.0.1", "mail_port": smtp.port, "mail_sender": "cases@example.org",
            "public_url": "http://integrity.example", "notify_hours": ("7", "12", "16"),
            "notify_delay_minutes": 30}


def _settings(app):
    return app.extensions["integrity.settings"]


def _send(app, db, settings, now, **options):
    with app.app_context():
        return send_due(db, settings, now, **options)


def _parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=default_policy)  # type: ignore[return-value]


def _notices(db, kind: str | None = None) -> list[Notification]:
    db.expire_all()
    query = select(Notification).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list(db.scalars(query))


def _after_all_due(db) -> datetime:
    return max(n.due_at for n in _notices(db)) + timedelta(seconds=1)


def _forbidden_words(db, report: Report) -> list[str]:
    """What a notice must never contain about ``report``."""
    words = [report.reference, *CASE_ANSWERS.values(), report.channel.name]
    if report.category is not None:
        words.append(report.category.name)
    if report.org_unit is not None:
        words.append(report.org_unit.name)
    words += [name for (name,) in db.execute(select(Category.name))]
    return words


def _inspector_addresses(db, channel) -> list[str]:
    return sorted(db.get(User, int(uid)).email for uid in channel.inspectors)


def test_a_new_case_is_told_at_its_batch_time_without_a_word_of_the_case(app, db, client,
                                                                          channel, smtp) -> None:
    for uid in channel.inspectors:
        db.get(User, int(uid)).language = None
    first = db.get(User, int(next(iter(channel.inspectors))))
    first.language = "fr"
    db.commit()
    filed_at = datetime.now(UTC).replace(tzinfo=None)
    report_id = file_report(client, channel)
    notices = _notices(db, Kind.CASE_NEW)
    assert sorted(n.user_id for n in notices) == sorted(int(u) for u in channel.inspectors)
    batch = next_batch(filed_at, [7, 12, 16])
    for notice in notices:
        # Never at the minute of the filing: at the next fixed time, at most 30 minutes late.
        assert batch <= notice.due_at <= batch + timedelta(minutes=30)
        assert notice.params == {}
    assert _send(app, db, _settings(app), batch - timedelta(seconds=1)).sent == 0
    assert smtp.messages == []
    due = _after_all_due(db)
    result = _send(app, db, _settings(app), due)
    assert (result.sent, result.notices) == (2, 2)
    assert sorted(to[0] for to, _ in smtp.messages) == _inspector_addresses(db, channel)
    report = db.get(Report, report_id)
    for to, raw in smtp.messages:
        message = _parsed(raw)
        body = message.get_content()
        for word in _forbidden_words(db, report):
            assert word not in body and word not in str(message["Subject"])
        assert "http://integrity.example/cases/" in body
        language = "fr" if to[0] == first.email else "en"
        assert message["Content-Language"] == language
        with app.app_context(), force_locale(language):
            assert message["Subject"] == gettext(
                "Integrity: there is something to look at in your workspace")
    # Sent once, and forgotten: a later run sends nothing more.
    assert _notices(db) == []
    assert _send(app, db, _settings(app), due + timedelta(hours=1)).sent == 0
    assert len(smtp.messages) == 2


def test_batch_times_are_the_fixed_hours_plus_a_bounded_random_delay(app) -> None:
    noon = datetime(2027, 3, 1, 12, 0, 0)
    assert next_batch(noon, [7, 12, 16]) == datetime(2027, 3, 1, 16, 0)
    assert next_batch(datetime(2027, 3, 1, 16, 0, 1), [7, 12, 16]) == datetime(2027, 3, 2, 7, 0)
    draws = {activity_due(_settings(app), noon) for _ in range(200)}
    assert all(datetime(2027, 3, 1, 16) <= d <= datetime(2027, 3, 1, 16, 30) for d in draws)
    assert len(draws) > 50  # random, not one fixed delay


def test_a_reporter_message_tells_every_reader_and_an_inspector_reply_tells_nobody(
        app, db, channel, make_account, smtp) -> None:
    accounts = []
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    for _ in range(2):
        account = make_account(Role.INSPECTOR)
        pair = crypto.KeyPair.generate()
        user = db.get(User, account.id)
        user.public_key = pair.public_key
        ch.recipients.append(user)
        accounts.append((account, pair))
    db.commit()
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, CASE_ANSWERS)
    db.execute(update(Notification).values(sent_at=datetime(2027, 1, 1)))  # the filing's
    db.commit()
    assert reporter.reply(filed.receipt, "He is there on Tuesdays.").status_code == 201
    readers = {u.id for u in db.get(Report, filed_report_id(app, filed)).readers}
    told = _notices(db, Kind.REPORTER_MESSAGE)
    assert {n.user_id for n in told} == readers and len(told) == len(readers)
    # An inspector's reply: no notice, but it is new for the other readers.
    (account, pair), (other, _) = accounts
    inspector = app.test_client()
    sign_in(inspector, account)
    report_id = first_case(inspector)
    data = inspector.get(f"/cases/{report_id}/sealed").get_json()
    headers = {"X-CSRFToken": csrf_token(inspector, f"/cases/{report_id}")}
    reply = seal_item(data, {"text": "Which lorries?", "attachments": []}, note=False)
    assert inspector.post(f"/cases/{report_id}/messages", json=reply,
                          headers=headers).status_code == 201
    assert len(_notices(db)) == len(readers) * 2  # the filing's and the reporter's only
    _send(app, db, _settings(app), _after_all_due(db))
    assert sorted(to[0] for to, _ in smtp.messages) == sorted(
        db.get(User, uid).email for uid in readers)


def _aged(db, report_id: int, **days: date | None) -> Report:
    report = db.get(Report, report_id)
    for name, value in days.items():
        setattr(report, name, value)
    db.commit()
    return report


def test_deadline_reminders_are_written_once_and_overdue_ones_ignore_the_choice_of_none(
        app, db, client, channel, smtp) -> None:
    today = date(2027, 3, 10)
    now = datetime(2027, 3, 10, 5, 0)
    soon = file_report(client, channel)
    late = file_report(client, channel)
    feedback = file_report(client, channel)
    db.execute(update(Notification).values(sent_at=datetime(2027, 1, 1)))  # the filings'
    _aged(db, soon, created_on=today - timedelta(days=5))  # acknowledge by the 12th
    _aged(db, late, created_on=today - timedelta(days=9))  # 2 days overdue
    acknowledged = add_months(today + timedelta(days=14), -3)
    _aged(db, feedback, created_on=acknowledged - timedelta(days=1), acknowledged_on=acknowledged,
          status=Status.ACKNOWLEDGED)
    readers = sorted(int(u) for u in channel.inspectors)
    # The second inspector is assigned the overdue case: only they hear of it.
    db.get(Report, late).assignee_id = readers[1]
    quiet = db.get(User, readers[0])
    quiet.notify = "none"
    db.commit()
    assert remind_deadlines(db, today, now) == 2 + 1 + 2
    db.commit()
    assert remind_deadlines(db, today, now) == 0  # a second run the same day: nothing twice
    assert remind_deadlines(db, today + timedelta(days=1), now) == 0
    kinds = sorted((n.kind, n.user_id) for n in _notices(db) if n.sent_at is None)
    assert kinds == sorted([(Kind.ACKNOWLEDGE_SOON, readers[0]),
                            (Kind.ACKNOWLEDGE_SOON, readers[1]),
                            (Kind.ACKNOWLEDGE_OVERDUE, readers[1]),
                            (Kind.FEEDBACK_SOON, readers[0]), (Kind.FEEDBACK_SOON, readers[1])])
    result = _send(app, db, _settings(app), now)
    # The first inspector wants nothing: their two reminders are dropped.
    assert (result.sent, result.notices, result.dropped) == (1, 3, 2)
    [(to, raw)] = smtp.messages
    body = _parsed(raw).get_content()
    assert to == [db.get(User, readers[1]).email]
    assert "1 case was not acknowledged in time" in body
    assert "1 case must be acknowledged within 2 days" in body
    assert "1 case needs feedback to the reporter within 14 days" in body
    # A week later the overdue case is told again, to anyone, whatever their choice; the
    # others were acknowledged and answered meanwhile.
    db.get(Report, late).assignee_id = None
    _aged(db, soon, acknowledged_on=today + timedelta(days=1), status=Status.ACKNOWLEDGED)
    _aged(db, feedback, feedback_on=today + timedelta(days=2))
    before = {n.id for n in _notices(db)}
    assert remind_deadlines(db, today + timedelta(days=7), now + timedelta(days=7)) == 2
    assert sorted((n.kind, n.user_id) for n in _notices(db) if n.id not in before) == [
        (Kind.ACKNOWLEDGE_OVERDUE, readers[0]), (Kind.ACKNOWLEDGE_OVERDUE, readers[1])]
    _send(app, db, _settings(app), now + timedelta(days=7))
    assert sorted(to[0] for to, _ in smtp.messages[1:]) == _inspector_addresses(db, channel)


def test_a_digest_waits_for_its_hour_and_batch_readers_get_theirs_at_once(
        app, db, client, channel, smtp) -> None:
    readers = sorted(int(u) for u in channel.inspectors)
    digest = db.get(User, readers[0])
    digest.notify, digest.digest_hour = "digest", 18
    db.commit()
    file_report(client, channel)
    file_report(client, channel)
    due = _after_all_due(db)
    assert due.hour < 18  # notice hours 7, 12 and 16, at most 30 minutes late
    result = _send(app, db, _settings(app), due)
    assert (result.sent, result.notices, result.held) == (1, 2, 2)
    assert smtp.messages[0][0] == [db.get(User, readers[1]).email]
    assert "2 new cases were sealed to you" in _parsed(smtp.messages[0][1]).get_content()
    evening = datetime.combine(due.date(), datetime.min.time()) + timedelta(hours=18)
    assert last_digest(evening, 18) == evening
    result = _send(app, db, _settings(app), evening)
    assert (result.sent, result.notices) == (1, 2)
    assert smtp.messages[1][0] == [digest.email]


class _Flaky(Mailbox):
    """A mail server that answers "451 try again later" to the first ``refusals`` messages."""

    def __init__(self, port: int, refusals: int) -> None:
        super().__init__(port)
        self.refusals = refusals

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        if self.refusals > 0:
            self.refusals -= 1
            return "451 Try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def flaky_port() -> int:
    return free_port()


def test_refusals_and_an_unreachable_server_keep_notices_until_the_server_recovers(
        app, db, client, channel, smtp, flaky_port) -> None:
    settings = _settings(app)
    file_report(client, channel)
    due = _after_all_due(db)
    nowhere = settings.__class__(**{**settings.__dict__, "mail_port": free_port()})
    result = _send(app, db, nowhere, due)  # nothing listens there
    assert (result.sent, result.failed) == (0, 2)
    notices = _notices(db)
    assert all(n.attempts == 1 and n.sent_at is None and n.last_error for n in notices)
    assert all(n.retry_at == due + retry_delay(1) for n in notices)
    # Not tried again before the retry time, then refused once more by a server that answers.
    flaky = _Flaky(flaky_port, refusals=2)
    controller = Controller(flaky, hostname="127.0.0.1", port=flaky_port)
    controller.start()
    try:
        flaky_settings = settings.__class__(**{**settings.__dict__, "mail_port": flaky_port})
        assert _send(app, db, flaky_settings, due + timedelta(seconds=30)).failed == 0
        result = _send(app, db, flaky_settings, due + timedelta(minutes=1))
        assert (result.sent, result.failed) == (0, 2)
        assert all(n.attempts == 2 for n in _notices(db))
        assert retry_delay(2) == timedelta(minutes=2) and retry_delay(30) == timedelta(hours=6)
        result = _send(app, db, flaky_settings, due + timedelta(minutes=4))
        assert (result.sent, result.failed) == (2, 0)
    finally:
        controller.stop()
    assert sorted(to[0] for to, _ in flaky.messages) == _inspector_addresses(db, channel)
    assert _notices(db) == []  # notices of activity leave no row once sent


class _Stop(BaseException):
    """The process stopping in the middle of a run."""


def test_a_run_stopped_in_the_middle_sends_the_rest_next_time_and_nothing_twice(
        app, db, client, channel, smtp) -> None:
    file_report(client, channel)
    due = _after_all_due(db)

    class StoppingMailer(Mailer):
        def send(self, message) -> None:
            if smtp.messages:
                raise _Stop
            super().send(message)

    with pytest.raises(_Stop):
        _send(app, db, _settings(app), due, mailer=StoppingMailer)
    db.rollback()
    assert len(smtp.messages) == 1
    assert len(_notices(db)) == 1  # the one sent is gone, the other waits
    result = _send(app, db, _settings(app), due + timedelta(minutes=5))
    assert result.sent == 1
    assert sorted(to[0] for to, _ in smtp.messages) == _inspector_addresses(db, channel)


def test_administrators_get_overdue_counts_per_channel_and_the_audit_failure(
        app, db, client, channel, admin, smtp) -> None:
    from integrity.notifications.checks import verify_audit

    late = file_report(client, channel)
    _aged(db, late, created_on=date(2027, 3, 1))
    today, now = date(2027, 3, 20), datetime(2027, 3, 20, 5, 0)
    db.execute(update(Notification).values(sent_at=datetime(2027, 1, 1)))
    db.commit()
    assert summarise_for_admins(db, today, now) == 1
    assert summarise_for_admins(db, today, now) == 0
    record(db, actor=None, action="wave_opened", subject="wave:1")
    db.commit()
    assert verify_audit(db, today, now) is True
    entry = db.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    entry.subject = "wave:2"  # changed outside the application
    db.commit()
    assert verify_audit(db, today, now) is False
    db.commit()
    _send(app, db, _settings(app), now)
    admin_email = db.get(User, admin.id).email
    subjects = {str(_parsed(raw)["Subject"]): _parsed(raw).get_content()
                for to, raw in smtp.messages if to == [admin_email]}
    summary = subjects["Integrity: daily summary for administrators"]
    assert f"{db.get(Report, late).channel.name}: 1 overdue case" in summary
    assert db.get(Report, late).reference not in summary
    assert "number" in subjects["Integrity: the audit log failed its verification"]
    page = app.test_client()
    sign_in(page, admin)
    html = page.get("/admin/").get_data(as_text=True)
    assert "failed its nightly verification" in html


def test_the_scheduler_stopping_is_told_once_per_stop(app, db, admin, smtp) -> None:
    from integrity.notifications.health import check_scheduler
    from integrity.scheduler_lease import SchedulerLease

    now = datetime(2027, 3, 1, 12, 0)
    db.add(SchedulerLease(name="scheduler", holder="gone", expires_at=now - timedelta(minutes=5)))
    db.commit()
    with app.app_context():
        assert check_scheduler(db, now) is False  # 5 minutes: not yet
        assert check_scheduler(db, now + timedelta(minutes=6)) is True
        assert check_scheduler(db, now + timedelta(minutes=30)) is False  # told already
        assert len(smtp.messages) == 1
        assert "integrity scheduler" in _parsed(smtp.messages[0][1]).get_content()
        lease = db.get(SchedulerLease, "scheduler")
        lease.expires_at = now + timedelta(hours=1)  # running again
        db.commit()
        assert check_scheduler(db, now + timedelta(minutes=40)) is False
        lease.expires_at = now + timedelta(hours=1, minutes=1)  # and stopped again
        db.commit()
        assert check_scheduler(db, now + timedelta(hours=2)) is True
    assert len(smtp.messages) == 2


def test_an_inspector_chooses_how_to_be_told_on_my_account(app, db, make_account) -> None:
    account = make_account(Role.INSPECTOR)
    client = app.test_client()
    sign_in(client, account)
    page = client.get("/staff/account").get_data(as_text=True)
    assert 'name="notify"' in page and "07:00, 12:00, 16:00" in page
    token = csrf_token(client, "/staff/account")
    response = client.post("/staff/notifications", data={
        "csrf_token": token, "notify": "digest", "digest_hour": "18"})
    assert response.status_code == 302
    db.expire_all()
    user = db.get(User, account.id)
    assert (user.notify, user.digest_hour) == ("digest", 18)
    response = client.post("/staff/notifications", data={
        "csrf_token": token, "notify": "loud", "digest_hour": "18"}, follow_redirects=True)
    db.expire_all()
    assert db.get(User, account.id).notify == "digest"
    assert response.status_code == 200


def test_the_scheduler_job_sends_what_is_due(app, db, client, channel, smtp) -> None:
    import integrity.scheduler as scheduling

    file_report(client, channel)
    due = _after_all_due(db)
    db.rollback()

    class Moved(scheduling.Clock):
        def now(self) -> datetime:
            return due.replace(tzinfo=UTC)

    scheduler = scheduling.Scheduler(app, clock=Moved(), lease_seconds=5)
    scheduler.start()
    try:
        assert scheduler.wait_until_running()
        assert scheduling.send_notifications() == 2
    finally:
        scheduler.shutdown()
    assert sorted(to[0] for to, _ in smtp.messages) == _inspector_addresses(db, channel)
    assert db.scalar(select(func.count()).select_from(Notification)) == 0


def test_org_units_and_categories_exist_for_the_content_check(db, channel) -> None:
    # The content check above compares against real names: make sure there are some.
    assert db.scalar(select(func.count()).select_from(Category)) > 0
    assert db.scalar(select(func.count()).select_from(OrgUnit)) > 0


@pytest.mark.parametrize("language", ["en", "ar", "ru"])
def test_every_inspector_kind_reaches_smtp_in_the_readers_language(app, db, make_account, smtp,
                                                                   language) -> None:
    from integrity.notifications.outbox import notify_activity, notify_once

    account = make_account(Role.INSPECTOR)
    user = db.get(User, account.id)
    user.language = language
    now = datetime(2027, 3, 1, 12, 0)
    for kind in (Kind.CASE_NEW, Kind.REPORTER_MESSAGE, Kind.CASE_SHARED):
        notify_activity(db, _settings(app), kind, [user.id], now=now)
    for kind in (Kind.ACKNOWLEDGE_SOON, Kind.FEEDBACK_SOON, Kind.ACKNOWLEDGE_OVERDUE,
                 Kind.FEEDBACK_OVERDUE, Kind.MEETING_SOON, Kind.MEETING_OVERDUE):
        assert notify_once(db, kind, user_id=user.id, due_at=now, dedup_key=f"{kind}:test")
    db.commit()
    result = _send(app, db, _settings(app), datetime(2027, 3, 1, 16, 31))
    assert (result.sent, result.notices) == (1, 9)
    [(to, raw)] = smtp.messages
    assert to == [user.email]
    message = _parsed(raw)
    body = message.get_content()
    assert message["Content-Language"] == language
    with app.app_context(), force_locale(language):
        from flask_babel import ngettext

        assert message["Subject"] == gettext("Integrity: cases are overdue")
        for singular, plural in [
            ("%(num)d new case was sealed to you.", "%(num)d new cases were sealed to you."),
            ("%(num)d new message from a reporter.", "%(num)d new messages from reporters."),
            ("A colleague shared %(num)d case with you.",
             "Colleagues shared %(num)d cases with you."),
            ("%(num)d case must be acknowledged within 2 days.",
             "%(num)d cases must be acknowledged within 2 days."),
            ("%(num)d case needs feedback to the reporter within 14 days.",
             "%(num)d cases need feedback to the reporter within 14 days."),
            ("%(num)d case was not acknowledged in time: it is overdue.",
             "%(num)d cases were not acknowledged in time: they are overdue."),
            ("%(num)d case did not get feedback in time: it is overdue.",
             "%(num)d cases did not get feedback in time: they are overdue."),
            ("%(num)d reporter's request for a meeting or a call must be answered within 3 "
             "days.",
             "%(num)d reporters' requests for a meeting or a call must be answered within 3 "
             "days."),
            ("%(num)d request for a meeting or a call was not answered in time: it is overdue.",
             "%(num)d requests for a meeting or a call were not answered in time: they are "
             "overdue."),
        ]:
            assert ngettext(singular, plural, 1) in body
    # The overdue lines come first: the most pressing on top.
    with app.app_context(), force_locale(language):
        overdue = ngettext("%(num)d case was not acknowledged in time: it is overdue.",
                           "%(num)d cases were not acknowledged in time: they are overdue.", 1)
        new = ngettext("%(num)d new case was sealed to you.",
                       "%(num)d new cases were sealed to you.", 1)
    assert body.index(overdue) < body.index(new)


def test_the_watchdog_of_a_server_process_tells_the_administrators(app, db, admin,
                                                                   smtp) -> None:
    import time

    from integrity.notifications.health import Watchdog
    from integrity.scheduler_lease import SchedulerLease

    gone = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    db.add(SchedulerLease(name="scheduler", holder="gone", expires_at=gone))
    db.commit()
    watchdog = Watchdog(app, seconds=0.05)
    watchdog.start()
    try:
        deadline = time.monotonic() + 30
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watchdog.stop()
    assert [to for to, _ in smtp.messages] == [[db.get(User, admin.id).email]]
    assert gone.strftime("%Y-%m-%d %H:%M") in _parsed(smtp.messages[0][1]).get_content()
