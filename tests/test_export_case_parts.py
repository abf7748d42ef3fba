"""The export for the offline viewing station carries every part of a case: the persons
concerned and their steps, the tombstones and their reasons, the report's kind and link, the
protection records, the records to agree, the check-ins, the meetings and the retention facts.
Made with `integrity export`, opened with `integrity decrypt` and an offline inspector's key
file: each sealed part opens with its content, a key that is no reader's opens none of it, the
file holds none of the plaintexts, and an export made before these parts still opens."""

from __future__ import annotations

import copy
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

import crypto
from crypto.offline import open_export
from integrity import current
from integrity.cases.check_ins import post_due_check_ins
from integrity.cases.deadlines import add_months
from integrity.cases.workflow import change_status
from integrity.models import User, today
from integrity.reporting.export import build_export
from integrity.reporting.models import Outcome, Report, Status
from tests.conftest import csrf_token
from tests.helpers.cli import run
from tests.helpers.persons import Page
from tests.helpers.reports import filed_report_id, open_item, seal_item, seal_reason
from tests.protocol_client import ReporterClient, Upload
from tests.test_retaliation import retaliation_body

ANSWERS = {"what": "REPORT-PLAINTEXT: the chief at lane 4 takes cash from one haulier."}
DELETED = "DELETED-PLAINTEXT: my neighbour Ivo saw it from his balcony."
REDACTED = "Sergeant PASSAGE-PLAINTEXT Petrov stood by the barrier."
NAME = "PERSON-PLAINTEXT Dragan Petrović, shift chief, lane 4"
WITNESS = "WITNESS-PLAINTEXT Mira, the night clerk"
DEFERRAL = "DEFERRAL-PLAINTEXT: informing him now would warn the haulier."
STATEMENT = "STATEMENT-PLAINTEXT: he says the envelopes held delivery papers."
STATEMENT_FILE = b"%PDF-1.4 STATEMENT-FILE-PLAINTEXT signed record of the hearing"
DELETE_REASON = "DELETE-REASON-PLAINTEXT: names a neighbour who is no part of the case"
PASSAGE_REASON = "PASSAGE-REASON-PLAINTEXT: a sergeant named in passing"
RETALIATION = "RETALIATION-PLAINTEXT: since my report I am on night shifts."
RISK = "RISK-PLAINTEXT: the chief knows who was on duty at lane 4."
MINUTES = "MINUTES-PLAINTEXT: call of 3 December, the officer at gate 2 takes cash."
PLAINTEXTS = (ANSWERS["what"], DELETED, "PASSAGE-PLAINTEXT", NAME, WITNESS, DEFERRAL, STATEMENT,
              "STATEMENT-FILE-PLAINTEXT", DELETE_REASON, PASSAGE_REASON, RETALIATION, RISK,
              MINUTES, "Petrović")
# The keys this change added: an export made before it has none of them.
NEW_REPORT_KEYS = ("kind", "retaliation_of", "oral", "held", "closed_on", "deletion_on",
                   "meetings", "check_ins", "check_ins_stopped", "persons", "tombstones",
                   "closing_requested")
NEW_MESSAGE_KEYS = ("position", "protection", "agreement")


def _post(client, report_id: int, path: str, body: dict[str, Any]):
    return client.post(f"/cases/{report_id}/{path}", json=body,
                       headers={"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")})


def _form(client, report_id: int, path: str, data: dict[str, str]):
    token = csrf_token(client, f"/cases/{report_id}")
    return client.post(f"/cases/{report_id}/{path}", data={"csrf_token": token, **data})


def _sealed(client, report_id: int) -> dict[str, Any]:
    return client.get(f"/cases/{report_id}/sealed").get_json()


def _thread(client, report_id: int, pair: crypto.KeyPair) -> dict[str, Any]:
    """The case's messages by their text, as the case page opens them."""
    data = _sealed(client, report_id)
    return {open_item(data, m, pair)["text"]: m for m in data["messages"]}


def _persons(page: Page) -> tuple[str, str]:
    """A person deferred with a review day, then informed and heard with a statement and its
    file; and a witness cleared, whose data is then deleted."""
    person = page.add(NAME)
    review = today() + timedelta(days=30)
    assert page.step(person, "deferred", DEFERRAL, review_on=review).status_code == 201
    assert page.step(person, "informed").status_code == 201
    upload_id, entry = page.reporter.upload(
        Upload("statement.pdf", "application/pdf", STATEMENT_FILE))
    assert page.step(person, "heard", STATEMENT,
                     attachments=[(upload_id, entry)]).status_code == 201
    witness = page.add(WITNESS, role="witness")
    assert page.step(witness, "cleared").status_code == 201
    assert page.delete(witness).status_code == 200
    return person, upload_id


def _tombstones(client, report_id: int, pair: crypto.KeyPair) -> tuple[str, str]:
    """Delete the reporter's first message and remove a passage of the second, each with its
    sealed reason."""
    data = _sealed(client, report_id)
    thread = _thread(client, report_id, pair)
    deleted, redacted = thread[DELETED]["id"], thread[REDACTED]["id"]
    assert _post(client, report_id, f"messages/{deleted}/delete",
                 {"reason": seal_reason(data, DELETE_REASON)}).status_code == 200
    again = seal_item(data, {"text": REDACTED.replace("PASSAGE-PLAINTEXT ", "[removed] "),
                             "attachments": []}, note=False)
    assert _post(client, report_id, f"messages/{redacted}/redact",
                 {**again, "reason": seal_reason(data, PASSAGE_REASON)}).status_code == 200
    return deleted, redacted


def _oral_report(app, client, channel) -> str:
    """An oral report recorded by the inspector, whose record the reporter then agrees."""
    reporter = ReporterClient(app.test_client())
    filed = reporter.report_body(channel.slug, {})
    sealed = crypto.seal_document(
        {"text": MINUTES, "attachments": []},
        reporter.readers(reporter.channel(channel.slug)["recipients"], filed.keys.public_key),
        reporter.config["pad_block"])
    record = {"payload": crypto.b64encode(sealed.payload),
              "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()}}
    response = client.post("/cases/oral", json={**filed.body, "record": record},
                           headers={"X-CSRFToken": csrf_token(client, "/cases/oral")})
    assert response.status_code == 201, response.get_data(as_text=True)
    agreed = reporter.http.post("/api/v1/mailbox/agree", json={
        "lookup": crypto.b64encode(filed.keys.lookup), "record": "1"})
    assert agreed.status_code == 201
    return filed.receipt


def _retaliation(db, client, reporter, receipt: str) -> int:
    """A report of retaliation from the first case's mailbox, its risk assessed, on hold."""
    response = reporter.http.post("/api/v1/mailbox/retaliation",
                                  json=retaliation_body(reporter, receipt, RETALIATION))
    assert response.status_code == 201, response.get_data(as_text=True)
    linked = db.scalar(select(Report.id).where(Report.reference == response.get_json()["case"]))
    data = _sealed(client, linked)
    risk = seal_item(data, {"text": RISK, "attachments": [], "risk": {"level": "high"}},
                     note=True)
    assert _post(client, linked, "protection",
                 {**risk, "record": "risk_assessment"}).status_code == 201
    assert _form(client, linked, "hold", {"reason": "Court of Bihać, K-12/2031"}
                 ).status_code == 302
    return linked


def _closing_asked(db, report_id: int, account) -> None:
    """Ask to close the case in a channel where a second inspector confirms: it stays open."""
    report = db.get(Report, report_id)
    report.channel.closing_needs_confirmation = True
    report.final_notice_on = today()
    change_status(db, report, db.get(User, account.id), Status.CLOSED, Outcome.UNSUBSTANTIATED,
                  on=today())
    db.commit()
    assert report.status != Status.CLOSED and report.closing_request is not None


def _close_with_check_ins(db, report_id: int, account) -> None:
    """Close the case (its final notice sent) and post its first check-in when it falls due."""
    report = db.get(Report, report_id)
    report.final_notice_on = today()
    change_status(db, report, db.get(User, account.id), Status.CLOSED, Outcome.SUBSTANTIATED,
                  on=today())
    db.commit()
    assert post_due_check_ins(db, add_months(today(), 3)) == 1
    db.commit()


def _cli_env(app) -> dict[str, str]:
    """The environment of the ``integrity`` command on the test's own database and folder."""
    settings = current.settings(app)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")}
    env.update({"INTEGRITY_DATA_DIR": str(settings.data_dir),
                "INTEGRITY_DATABASE_URL": settings.database_url,
                "INTEGRITY_SECRET_KEY": settings.secret_key})
    return env


def _key_file(folder: Path, pair: crypto.KeyPair, name: str) -> Path:
    path = folder / f"{name}.key"
    path.write_text(crypto.dump_key_file(pair, name))
    return path


def _old_format(export: dict[str, Any]) -> dict[str, Any]:
    """``export`` as it was written before it carried the case's other parts."""
    old = copy.deepcopy(export)
    for report in old["reports"]:
        for key in NEW_REPORT_KEYS:
            del report[key]
        for message in report["messages"]:
            for key in NEW_MESSAGE_KEYS:
                del message[key]
    return old


def test_the_export_carries_every_part_of_a_case_and_decrypt_opens_them(
    app, client, login, db, channel, keyed_inspector, tmp_path: Path
) -> None:
    account, pair = keyed_inspector
    reporter = ReporterClient(app.test_client())
    filed = reporter.report_body(channel.slug, ANSWERS)
    filed.body["meeting"] = True
    filed = reporter.send(filed)
    assert filed.response.status_code == 201
    assert reporter.reply(filed.receipt, DELETED).status_code == 201
    assert reporter.reply(filed.receipt, REDACTED).status_code == 201
    report_id = filed_report_id(app, filed)
    login(account)
    page = Page(client, report_id, pair)
    page.reporter = reporter
    person, statement_file = _persons(page)
    deleted, redacted = _tombstones(client, report_id, pair)
    assert _form(client, report_id, "meeting", {"answer": "arranged"}).status_code == 302
    linked = _retaliation(db, client, reporter, filed.receipt)
    oral_receipt = _oral_report(app, client, channel)
    _close_with_check_ins(db, report_id, account)
    _closing_asked(db, linked, account)

    env = _cli_env(app)
    out = tmp_path / "export.json"
    exported = run(env, "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "Exported 3 report(s)" in exported.stdout
    # Nothing sealed in the database is in the export in clear; no receipt, no lookup hash.
    written = out.read_bytes() + b"".join(
        path.read_bytes() for path in sorted(out.with_name(out.name + ".attachments").iterdir()))
    for plaintext in PLAINTEXTS:
        assert plaintext.encode() not in written, plaintext
    db.expire_all()
    for report in db.scalars(select(Report)):
        assert crypto.b64encode(report.lookup_hash).encode() not in written
        assert report.lookup_hash.hex().encode() not in written
    for receipt in (filed.receipt, oral_receipt):
        assert receipt.encode() not in written and receipt.replace(" ", "").encode() not in written

    (offline_id, offline_pair), _ = channel.inspectors.items()
    files = tmp_path / "files"
    opened = run(env, "decrypt", "--key-file", str(_key_file(tmp_path, offline_pair, "olga")),
                 "--files", str(files), str(out))
    assert opened.returncode == 0, opened.stderr
    result = json.loads(opened.stdout)
    assert result["unreadable"] == 0
    cases = {case["kind"] if not case["oral"] else "oral": case for case in result["reports"]}
    assert sorted(cases) == ["oral", "report", "retaliation"]
    first, linked_case, oral = cases["report"], cases["retaliation"], cases["oral"]
    day = today().isoformat()

    # The first case: closed today, kept five years, its meeting arranged, its check-ins.
    assert first["document"]["answers"] == ANSWERS
    assert (first["status"], first["closed_on"], first["held"], first["oral"]) == (
        "closed", day, False, False)
    assert first["deletion_on"] == (today() + timedelta(days=1825)).isoformat()
    assert first["retaliation_of"] is None
    assert first["meetings"] == [{"requested_on": day, "state": "arranged", "answered_on": day,
                                  "due_on": (today() + timedelta(days=14)).isoformat()}]
    assert first["check_ins"] == [
        {"months": 3, "due_on": add_months(today(), 3).isoformat(), "state": "posted",
         "done_on": add_months(today(), 3).isoformat()},
        {"months": 6, "due_on": add_months(today(), 6).isoformat(), "state": "scheduled",
         "done_on": None},
        {"months": 12, "due_on": add_months(today(), 12).isoformat(), "state": "scheduled",
         "done_on": None}]
    assert first["check_ins_stopped"] is False
    assert first["closing_requested"] is None
    # Its thread in its order: the deleted message without content, the other redacted.
    assert [(m["id"], m["position"], m["from"]) for m in first["messages"]] == [
        (deleted, 1, "reporter"), (redacted, 2, "reporter")]
    assert first["messages"][0]["document"] is None
    assert first["messages"][1]["document"]["text"] == "Sergeant [removed] Petrov stood by " \
                                                       "the barrier."
    assert all(m["protection"] is None and m["agreement"] is None for m in first["messages"])
    assert [(t["kind"], t["message"], t["attachment"], t["made_on"], t["reason"])
            for t in first["tombstones"]] == [
        ("message", deleted, None, day, DELETE_REASON),
        ("passage", redacted, None, day, PASSAGE_REASON)]
    assert {t["by"] for t in first["tombstones"]} == {db.get(User, account.id).name}
    # The persons concerned: each entry and step opened, the statement's file written out.
    heard, gone = first["persons"]
    assert (heard["id"], heard["number"], heard["state"], heard["added_on"],
            heard["review_on"]) == (person, 1, "heard", day, None)
    assert gone["number"] == 2
    assert heard["document"] == {"name": NAME, "role": "subject"}
    assert [(s["kind"], s["done_on"], s["review_on"]) for s in heard["steps"]] == [
        ("deferred", day, (today() + timedelta(days=30)).isoformat()),
        ("informed", day, None), ("heard", day, None)]
    assert heard["steps"][0]["document"]["text"] == DEFERRAL
    assert heard["steps"][2]["document"]["text"] == STATEMENT
    assert heard["steps"][2]["attachments"] == [statement_file]
    assert (gone["state"], gone["cleared_on"], gone["deleted_on"], gone["document"],
            gone["steps"]) == ("deleted", day, day, None, [])
    (statement,) = first["files"]
    assert Path(statement).name == "1-statement.pdf"
    assert Path(statement).read_bytes() == STATEMENT_FILE

    # The report of retaliation: linked to the first case, its risk assessed, on hold.
    assert linked_case["id"] == str(linked)
    assert linked_case["retaliation_of"] == first["reference"]
    assert linked_case["document"]["answers"] == {"what_happened": RETALIATION}
    assert (linked_case["held"], linked_case["deletion_on"]) == (True, None)
    assert linked_case["status"] != "closed" and linked_case["closing_requested"] == {
        "outcome": "unsubstantiated", "requested_on": day, "by": db.get(User, account.id).name}
    (risk,) = linked_case["messages"]
    assert (risk["from"], risk["protection"], risk["document"]["risk"]) == (
        "note", "risk_assessment", {"level": "high"})
    assert risk["document"]["text"] == RISK
    # The oral report: its record, agreed by the reporter today.
    (record,) = oral["messages"]
    assert (record["kind"], record["document"]["text"]) == ("record", MINUTES)
    assert record["agreement"] == {"state": "agreed", "agreed_on": day, "corrected_on": None}
    assert oral["kind"] == "report" and oral["persons"] == [] and oral["tombstones"] == []

    # A key that is no reader's opens none of it.
    outsider = crypto.KeyPair.generate()
    refused = run(env, "decrypt", "--key-file", str(_key_file(tmp_path, outsider, "x")),
                  str(out))
    assert refused.returncode != 0 and "opens none of the 3 report(s)" in refused.stderr
    export = json.loads(out.read_text())
    assert open_export(export, outsider.secret_key) == {"reports": [], "unreadable": 3}
    # The signed-in inspector's key opens the same parts as the offline one's.
    mine = open_export(export, pair.secret_key)["reports"]
    assert [p["document"] for c in mine for p in c["persons"]] == [
        {"name": NAME, "role": "subject"}, None]
    assert offline_id != str(account.id)


def test_an_export_made_before_the_case_parts_still_opens(
    app, client, login, db, channel, keyed_inspector, tmp_path: Path
) -> None:
    account, pair = keyed_inspector
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, ANSWERS)
    assert reporter.reply(filed.receipt, DELETED).status_code == 201
    report_id = filed_report_id(app, filed)
    login(account)
    page = Page(client, report_id, pair)
    page.add(NAME)
    export = build_export(db, current.settings(app))
    old = _old_format(export)
    assert "persons" not in json.dumps(old)
    (case,) = open_export(old, pair.secret_key)["reports"]
    assert case["document"]["answers"] == ANSWERS
    assert [(m["kind"], m["document"]["text"]) for m in case["messages"]] == [
        ("message", DELETED)]
    # What the old export did not carry opens as None, never as an empty case part.
    assert all(case[key] is None for key in NEW_REPORT_KEYS)
    assert all(case["messages"][0][key] is None for key in NEW_MESSAGE_KEYS)
    # The same export with its new keys opens them.
    (new,) = open_export(export, pair.secret_key)["reports"]
    assert [p["document"] for p in new["persons"]] == [{"name": NAME, "role": "subject"}]
    assert new["kind"] == "report" and new["messages"][0]["position"] == 1
    # And `integrity decrypt` opens the old one from a file, writing its files as before.
    old_file = tmp_path / "old-export.json"
    old_file.write_text(json.dumps(old))
    opened = run(_cli_env(app), "decrypt", "--key-file",
                 str(_key_file(tmp_path, pair, "mine")), str(old_file))
    assert opened.returncode == 0, opened.stderr
    (printed,) = json.loads(opened.stdout)["reports"]
    assert printed["persons"] is None and printed["document"]["answers"] == ANSWERS
