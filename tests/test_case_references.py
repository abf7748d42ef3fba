"""Case references wherever a case is named to a person: the export and what `integrity
decrypt` prints from it, the folder of a case's files, deletion after retention; and the audit
page, which names accounts and cases instead of their numbers."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update

from crypto.offline import open_export
from integrity.audit import AuditEntry, record, verify
from integrity.cases.retention import purge_cases
from integrity.cli_context import record_command
from integrity.models import Channel, Role, User
from integrity.reporting.export import attachments_folder, write_export
from integrity.reporting.models import Report, Status
from tests.conftest import ChannelSetup
from tests.helpers.pages import signed_in
from tests.helpers.reports import file_report
from tests.protocol_client import ReporterClient, Upload


def _rename(db, account, name: str) -> User:
    user = db.get(User, account.id)
    user.name = name
    db.commit()
    return user


def test_the_export_and_what_decrypt_opens_name_each_case_by_its_reference(
        app, db, client, channel: ChannelSetup, tmp_path: Path) -> None:
    reporter = ReporterClient(client)
    reporter.file(channel.slug, {"what": "Fuel sold on"},
                  uploads=[Upload("ledger.txt", "text/plain", b"40 boxes")])
    reporter.file(channel.slug, {"what": "Lane 3 waved through"})
    references = dict(db.execute(select(Report.id, Report.reference)).all())
    out = tmp_path / "export.json"
    write_export(db, app.extensions["integrity.attachments"], app.extensions["integrity.settings"],
                 out)
    export = json.loads(out.read_text())
    assert {int(r["id"]): r["reference"] for r in export["reports"]} == references

    pair = next(iter(channel.inspectors.values()))
    files = tmp_path / "files"
    opened = open_export(export, pair.secret_key, attachments_folder(out), files)
    assert {int(r["id"]): r["reference"] for r in opened["reports"]} == references
    with_file = next(r for r in opened["reports"] if r["files"])
    (written,) = with_file["files"]
    # The folder of a case's files carries its reference too.
    assert Path(written).parent.name == f"report-{with_file['id']}-{with_file['reference']}"
    assert Path(written).read_bytes() == b"40 boxes"

    # An export made before references still opens, without one.
    for report in export["reports"]:
        del report["reference"]
    older = open_export(export, pair.secret_key)
    assert {r["reference"] for r in older["reports"]} == {None}


def test_a_deletion_after_retention_names_the_case_by_its_reference(
        app, db, client, channel: ChannelSetup) -> None:
    report_id = file_report(client, channel)
    reference = db.get(Report, report_id).reference
    retention = db.scalar(select(Channel.retention_days).where(Channel.slug == channel.slug))
    today = date(2031, 6, 15)
    db.execute(update(Report).where(Report.id == report_id).values(
        status=Status.CLOSED, outcome="unsubstantiated",
        closed_on=today - timedelta(days=retention + 1)))
    db.commit()
    (purged,) = purge_cases(db, app.extensions["integrity.attachments"], today)
    db.commit()
    assert purged.reference == reference
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "case_purged"))
    assert entry.facts["reference"] == reference
    assert verify(db).ok


def test_the_audit_page_names_people_and_cases(app, db, client, channel, make_account) -> None:
    admin = make_account(Role.ADMIN)
    inspector = make_account(Role.INSPECTOR)
    manager = make_account(Role.MANAGER)
    amira = _rename(db, inspector, "Amira Haddad")
    _rename(db, manager, "Chidi Okafor")
    _rename(db, admin, "Dana Ivanova")
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    ch.recipients.append(amira)
    db.commit()
    report_id = file_report(client, channel)
    gone_case = file_report(client, channel)
    reference = db.get(Report, report_id).reference
    gone_reference = db.get(Report, gone_case).reference
    reader = signed_in(app, inspector)
    reader.get(f"/cases/{report_id}")
    reader.get(f"/cases/{gone_case}")
    db.execute(delete(Report).where(Report.id == gone_case))
    gone = User(email="gone@example.org", name="Gone Person", role=Role.MANAGER,
                password_hash="-")
    db.add(gone)
    db.flush()
    gone_id = gone.id
    record(db, actor=gone, action="login")
    db.execute(delete(User).where(User.id == gone_id))
    record(db, actor=db.get(User, admin.id), action="role_changed", subject=f"user:{manager.id}",
           details={"from": "manager", "to": "inspector"})
    record_command(db, "channel_added", "channel:c9", {"name": "C9"})
    db.commit()

    administrator = signed_in(app, admin)
    page = administrator.get("/admin/audit").get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<th scope=\"row\".*?</tr>", page, re.S)
    text = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]
    assert any(f"Amira Haddad Inspector · {inspector.email} Case opened Case {reference}" in row
               for row in text), text
    # The case deleted since: no reference to read, and never its number.
    assert any("Amira Haddad" in row and "Case opened deleted case" in row for row in text), text
    assert gone_reference not in page
    assert f"account {gone_id} (deleted) Signed in" in " ".join(text)
    assert any(f"Dana Ivanova Administrator · {admin.email} Role changed Chidi Okafor Manager · "
               f"{manager.email}" in row for row in text), text
    assert any("the command line Channel added channel:c9" in row for row in text)
    assert f"report:{report_id}" not in page and f"user:{manager.id}" not in page

    # The actor filter finds people by name as well as by address.
    filtered = administrator.get("/admin/audit", query_string={"actor": "haddad"})
    shown = re.findall(r"<tr>\s*<th scope=\"row\".*?</tr>", filtered.get_data(as_text=True),
                       re.S)
    assert len(shown) == 3  # signed in, opened two cases
    assert all("Amira Haddad" in row and "Dana Ivanova" not in row for row in shown)
