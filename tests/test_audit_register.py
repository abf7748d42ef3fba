"""The daily register in the audit chain: each day's count and hash of filed reports, a report
deleted behind the application's back shows as a gap, one the retention purge deleted does not;
and the audit head exported to be kept outside, checked later."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from integrity import current
from integrity.audit import AuditEntry, AuditHead, record, verify
from integrity.audit_anchor import (
    HeadFileError,
    check_head,
    current_head,
    head_document,
    parse_head,
)
from integrity.audit_register import check_register, write_register
from integrity.cases.retention import purge_cases
from integrity.models import Channel, today
from integrity.reporting.models import Report
from tests.conftest import ChannelSetup
from tests.helpers.cli import run
from tests.protocol_client import ReporterClient

ANSWERS = {"what": "The shift chief waves lorries through for cash."}


def _file(reporter: ReporterClient, channel: ChannelSetup, db: Session, n: int) -> list[int]:
    for _ in range(n):
        reporter.file(channel.slug, ANSWERS)
    return list(db.scalars(select(Report.id)))


def _registers(db: Session) -> list[dict]:
    return [entry.facts for entry in db.scalars(
        select(AuditEntry).where(AuditEntry.action == "register").order_by(AuditEntry.seq))]


def test_the_register_counts_and_hashes_the_day_s_reports(
    app, db: Session, channel: ChannelSetup, reporter: ReporterClient
) -> None:
    _file(reporter, channel, db, 3)
    day = today()
    payloads = list(db.scalars(select(Report.payload)))
    assert write_register(db, day + timedelta(days=1)) == [day]
    db.commit()
    # SHA-256 over the payloads' SHA-256 hashes in ascending byte order.
    expected = hashlib.sha256(b"".join(sorted(hashlib.sha256(p).digest() for p in payloads)))
    assert _registers(db) == [{"day": day.isoformat(), "reports": 3,
                               "sha256": expected.hexdigest()}]
    # Written once: the next night adds only the days after it, empty ones included.
    assert write_register(db, day + timedelta(days=1)) == []
    assert write_register(db, day + timedelta(days=3)) == [day + timedelta(days=1),
                                                           day + timedelta(days=2)]
    db.commit()
    empty = hashlib.sha256(b"").hexdigest()
    assert [(f["reports"], f["sha256"]) for f in _registers(db)[1:]] == [(0, empty)] * 2
    assert check_register(db).ok and check_register(db).checked == 3
    assert verify(db).ok


def test_a_report_deleted_in_the_database_leaves_a_gap_and_a_purged_one_does_not(
    app, db: Session, channel: ChannelSetup, reporter: ReporterClient
) -> None:
    purged_id, deleted_id, _kept = _file(reporter, channel, db, 3)
    day = today()
    write_register(db, day + timedelta(days=1))
    db.commit()
    # The retention purge deletes a closed case and says so in the log: no gap.
    retention = db.scalar(select(Channel.retention_days).where(Channel.slug == channel.slug))
    db.execute(update(Report).where(Report.id == purged_id).values(
        status="closed", outcome="unsubstantiated", closed_on=day))
    db.commit()
    later = day + timedelta(days=retention + 1)
    assert [case.report_id for case in purge_cases(
        db, current.attachment_store(app), later)] == [purged_id]
    db.commit()
    assert check_register(db).ok
    # Someone with access to the database deletes a report nobody has read yet.
    db.execute(delete(Report).where(Report.id == deleted_id))
    db.commit()
    result = check_register(db)
    assert not result.ok
    assert [(gap.day, gap.registered, gap.found) for gap in result.gaps] == [(day, 3, 2)]
    # The chain itself still holds: only the register shows the deletion.
    assert verify(db).ok


def test_a_purge_before_the_register_is_left_out_of_its_count(
    app, db: Session, channel: ChannelSetup, reporter: ReporterClient
) -> None:
    purged_id, _kept = _file(reporter, channel, db, 2)
    day = today()
    db.execute(update(Report).where(Report.id == purged_id).values(
        status="closed", outcome="unsubstantiated", closed_on=day, ))
    db.execute(update(Channel).values(retention_days=0))
    db.commit()
    purge_cases(db, current.attachment_store(app), day)
    write_register(db, day + timedelta(days=1))
    db.commit()
    assert _registers(db)[0]["reports"] == 1
    assert check_register(db).ok


def test_the_audit_page_shows_register_gaps(
    app, db: Session, channel: ChannelSetup, reporter: ReporterClient, admin
) -> None:
    from tests.helpers.pages import signed_in

    ids = _file(reporter, channel, db, 2)
    write_register(db, today() + timedelta(days=1))
    db.commit()
    client = signed_in(app, admin)
    assert 'id="register-state"' in client.get("/admin/audit?check=1").get_data(as_text=True)
    db.execute(delete(Report).where(Report.id == ids[0]))
    db.commit()
    html = client.get("/admin/audit?check=1").get_data(as_text=True)
    assert "no longer matches its entry" in html and "2 registered, 1 found" in html


def test_the_exported_head_is_found_in_the_log_until_it_is_rewritten(app, db: Session) -> None:
    for n in range(3):
        record(db, actor=None, action="settings_changed", subject="settings",
               details={"changed": [f"setting{n}"]})
    db.commit()
    head = current_head(db)
    document = head_document(head, head.entry_at or today())
    assert set(document) == {"format", "version", "seq", "hash", "entry_at", "exported_at"}
    assert document["format"] == "integrity-audit-head" and document["version"] == 1
    assert document["seq"] == 3 and document["entry_at"].endswith("Z")
    exported = parse_head(json.dumps(document))
    # Later entries chain on from it: still found.
    record(db, actor=None, action="settings_changed", subject="settings",
           details={"changed": ["later"]})
    db.commit()
    assert check_head(db, exported).ok
    # Someone rewrites the log from entry 2 on, hashes and head included: the file disagrees.
    db.execute(delete(AuditEntry).where(AuditEntry.seq >= 2))
    first = db.get(AuditHead, 1)
    assert first is not None
    first.seq, first.hash = 1, db.scalar(select(AuditEntry.hash).where(AuditEntry.seq == 1))
    db.commit()
    for _ in range(3):
        record(db, actor=None, action="settings_changed", subject="settings",
               details={"changed": ["forged"]})
    db.commit()
    assert verify(db).ok  # the chain alone cannot tell
    check = check_head(db, exported)
    assert not check.ok and "no longer has the exported hash" in str(check.reason)


def test_an_exported_head_that_cannot_be_read_is_refused_in_one_sentence() -> None:
    for text in ("", "[]", '{"format": "other"}',
                 '{"format": "integrity-audit-head", "version": 1, "seq": -1, "hash": ""}',
                 '{"format": "integrity-audit-head", "version": 1, "seq": 1, "hash": "zz"}',
                 "x" * 5000):
        try:
            parse_head(text)
        except HeadFileError as exc:
            assert str(exc).endswith(".")
        else:
            raise AssertionError(f"{text[:40]!r} was accepted")


def test_the_head_page_shows_downloads_and_checks_the_head(app, db: Session, admin) -> None:
    from tests.helpers.pages import signed_in

    client = signed_in(app, admin)  # signing in is recorded: the log has entries
    db.expire_all()
    head = current_head(db)
    db.rollback()
    page = client.get("/admin/audit/head").get_data(as_text=True)
    assert head.hash.hex() in page
    download = client.get("/admin/audit/head.json")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert parse_head(download.data).seq >= head.seq
    checked = client.get(f"/admin/audit/head?seq={head.seq}&hash={head.hash.hex()}")
    assert 'class="message message-success"' in checked.get_data(as_text=True)
    wrong = client.get(f"/admin/audit/head?seq={head.seq}&hash={'0' * 64}")
    assert "no longer has the exported hash" in wrong.get_data(as_text=True)
    assert client.get("/admin/audit/head?seq=x&hash=y").status_code == 400


def test_the_commands_export_and_check_the_head_and_the_register(env, tmp_path: Path) -> None:
    run(env, "init")
    run(env, "user", "add", "--role", "auditor", "--email", "a@example.org", "--name", "Aud")
    out = tmp_path / "head.json"
    exported = run(env, "audit", "head", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert json.loads(out.read_text())["seq"] >= 1
    checked = run(env, "audit", "check-head", str(out))
    assert checked.returncode == 0 and "still has the exported hash" in checked.stdout
    forged = json.loads(out.read_text()) | {"hash": "00" * 32}
    out.write_text(json.dumps(forged))
    refused = run(env, "audit", "check-head", str(out))
    assert refused.returncode == 1 and "no longer has the exported hash" in refused.stderr
    out.write_text("not json")
    unreadable = run(env, "audit", "check-head", str(out))
    assert unreadable.returncode == 1 and "not JSON" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr
    assert run(env, "audit", "register").returncode == 0
    register = run(env, "audit", "register-check")
    assert register.returncode == 0 and "Register intact: 1 day(s)" in register.stdout


def test_the_nightly_check_writes_the_register_and_reports_a_gap_to_administrators(
    app, db: Session, channel: ChannelSetup, reporter: ReporterClient, admin
) -> None:
    from datetime import UTC, datetime

    from integrity.notifications.checks import AUDIT, verify_audit
    from integrity.notifications.models import HealthCheck, Notification
    from integrity.notifications.outbox import Kind

    ids = _file(reporter, channel, db, 1)
    night = today() + timedelta(days=1)
    assert verify_audit(db, night, datetime.now(UTC))
    db.commit()
    assert [f["reports"] for f in _registers(db)] == [1]
    db.execute(delete(Report).where(Report.id == ids[0]))
    db.commit()
    assert not verify_audit(db, night + timedelta(days=1), datetime.now(UTC))
    db.commit()
    entry = db.scalar(select(AuditEntry.seq).where(AuditEntry.action == "register")
                      .order_by(AuditEntry.seq))
    check = db.get(HealthCheck, AUDIT)
    assert check is not None and not check.ok and check.detail == str(entry)
    notices = db.scalars(select(Notification).where(Notification.kind == Kind.AUDIT_FAILED))
    assert [notice.user_id for notice in notices] == [admin.id]


def test_a_head_beyond_the_log_or_missing_from_it_is_not_found(app, db: Session) -> None:
    from integrity.audit_anchor import Head

    record(db, actor=None, action="settings_changed", subject="settings",
           details={"changed": ["one"]})
    db.commit()
    head = current_head(db)
    beyond = check_head(db, Head(head.seq + 5, head.hash, None))
    assert not beyond.ok and "beyond the log's head" in str(beyond.reason)
    db.execute(delete(AuditEntry).where(AuditEntry.seq == head.seq))
    db.commit()
    missing = check_head(db, head)
    assert not missing.ok and "missing from the log" in str(missing.reason)
    assert check_head(db, Head(0, bytes(32), None)).ok is False  # the chain is broken now
