"""The recovery key seals every new report; retention deletes exactly the cases that are due."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

import crypto
from integrity.cases.retention import purge_cases
from integrity.db import dispose
from integrity.models import Channel
from integrity.recovery import RecoveryKeyError, create_recovery_key
from integrity.reporting.models import Attachment, KeySlot, Message, Report
from tests.conftest import FAST_ARGON2
from tests.helpers.reports import filed_report_id
from tests.protocol_client import ReporterClient, Upload

ANSWERS = {"what": "Seized fuel sold on by the post commander."}


def test_recovery_key_is_published_and_required_on_every_new_report(
    app, db, client, channel
) -> None:
    settings = app.extensions["integrity.settings"]
    pair = create_recovery_key(db, settings)
    db.commit()
    reporter = ReporterClient(client)
    assert reporter.config["recovery_key"] == crypto.b64encode(pair.public_key)
    # A client that leaves the recovery slot out is refused.
    filed = reporter.report_body(channel.slug, ANSWERS)
    filed.body["key_slots"].pop("recovery")
    response = reporter.send(filed).response
    assert response.status_code == 400 and "recovery" in response.get_json()["error"]
    filed = reporter.file(channel.slug, ANSWERS)
    assert reporter.reply(filed.receipt, "more").status_code == 201
    report = db.scalar(select(Report))
    slot = next(s.slot for s in report.key_slots if s.reader == "recovery")
    assert crypto.open_document(report.payload, slot, pair.secret_key, 1024)["answers"] == ANSWERS
    message = db.scalar(select(Message))
    message_slot = db.scalar(select(KeySlot.slot).where(KeySlot.message_id == message.id,
                                                        KeySlot.reader == "recovery"))
    assert crypto.open_document(message.payload, message_slot, pair.secret_key, 1024)["text"]
    try:
        create_recovery_key(db, settings)
    except RecoveryKeyError as exc:
        assert "already configured" in str(exc)
    else:
        raise AssertionError("a second recovery key was accepted")


@pytest.mark.parametrize("demo_env", ["sqlite"], indirect=True)  # the commands, once
def test_recovery_key_init_prints_once_and_decrypt_accepts_it(tmp_path: Path, demo_env) -> None:
    integrity = str(Path(sys.executable).with_name("integrity"))
    env = demo_env  # after `integrity init` and `integrity demo`
    env.update({"INTEGRITY_KDF_OPSLIMIT": "1", "INTEGRITY_KDF_MEMLIMIT": "65536",
                "INTEGRITY_POW_BITS": "0"})

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([integrity, *args], env=env, capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)

    made = run("recovery-key", "init", "--sheet", str(tmp_path / "sheet.html"))
    assert made.returncode == 0, made.stderr
    key_text = made.stdout[made.stdout.index("{"):]
    (tmp_path / "recovery.key").write_text(key_text)
    sheet = (tmp_path / "sheet.html").read_text()
    assert crypto.load_key_file(key_text).public_key.hex() and "<svg" in sheet
    assert json.loads(key_text)["secret_key"] in sheet
    assert (tmp_path / "sheet.html").stat().st_mode & 0o077 == 0
    again = run("recovery-key", "init", "--sheet", str(tmp_path / "other.html"))
    assert again.returncode != 0 and "already configured" in again.stderr

    from integrity.app import create_app

    app = create_app({"data_dir": tmp_path / "data", **FAST_ARGON2})
    try:
        ReporterClient(app.test_client()).file("integrity", ANSWERS)
    finally:
        dispose(app)
    assert run("export", "--out", str(tmp_path / "export.json")).returncode == 0
    opened = run("decrypt", "--key-file", str(tmp_path / "recovery.key"),
                 str(tmp_path / "export.json"))
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout)["reports"][0]["document"]["answers"] == ANSWERS
    verified = run("audit", "verify")
    assert verified.returncode == 0 and "intact" in verified.stdout


def _close(db, report_id: int, closed_on: date) -> None:
    db.execute(update(Report).where(Report.id == report_id).values(
        status="closed", outcome="unsubstantiated", closed_on=closed_on))


def test_purge_removes_exactly_the_cases_that_are_due(app, db, client, channel) -> None:
    from integrity.audit import verify

    reporter = ReporterClient(client)
    store = app.extensions["integrity.attachments"]
    retention = db.scalar(select(Channel.retention_days).where(Channel.slug == channel.slug))
    today = date(2031, 6, 15)
    cases = {}
    for name in ("due", "due_today", "not_yet", "open"):
        filed = reporter.file(channel.slug, ANSWERS, uploads=[Upload(f"{name}.txt", "text/plain",
                                                                      name.encode() * 100)])
        assert reporter.reply(filed.receipt, name, [Upload("r.txt", "text/plain", b"r")]
                              ).status_code == 201
        cases[name] = filed_report_id(app, filed)
    _close(db, cases["due"], today - timedelta(days=retention + 30))
    _close(db, cases["due_today"], today - timedelta(days=retention))
    _close(db, cases["not_yet"], today - timedelta(days=retention - 1))
    db.commit()
    files = {rid: list(db.scalars(select(Attachment.id).where(Attachment.report_id == rid)))
             for rid in cases.values()}
    purged = purge_cases(db, store, today)
    db.commit()
    assert sorted(p.report_id for p in purged) == sorted([cases["due"], cases["due_today"]])
    remaining = set(db.scalars(select(Report.id)))
    assert remaining == {cases["not_yet"], cases["open"]}
    for name, rid in cases.items():
        gone = name.startswith("due")
        assert all(store.exists(a) != gone for a in files[rid]), name
        assert (db.scalar(select(func.count()).select_from(Message)
                          .where(Message.report_id == rid)) == 0) == gone
    assert db.scalar(select(func.count()).select_from(KeySlot).where(
        KeySlot.report_id.in_([cases["due"], cases["due_today"]]))) == 0
    result = verify(db)
    assert result.ok
    assert purge_cases(db, store, today) == []
