"""After reports are filed both ways through the served application, nothing readable is at
rest: no plaintext, receipt, lookup token, reporter key or client address in the database,
the data folder or the server log."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import distinct, func, select

import crypto
from integrity import current
from integrity.db import make_engine
from integrity.demo import DEMO_ACCOUNTS
from integrity.reporting.models import AttachmentChunk
from integrity.schema import metadata
from tests.conftest import (
    FAST_ARGON2,
    FAST_PROTOCOL,
    POSTGRES_URL,
    _pg_url,
    create_pg_database,
    drop_pg_database,
    wait_for_port,
)
from tests.helpers.reports import MAILBOX_TOKEN, filed_report_id
from tests.http_adapter import HttpClient, multipart
from tests.protocol_client import ReporterClient, Upload

INTEGRITY = str(Path(sys.executable).with_name("integrity"))
CLIENT_ADDRESS = "127.0.0.88"
USER_AGENT = "ScanProbe/3.1 (telltale-agent)"
API_TEXT = "API-PLAINTEXT: the customs chief waves trucks through for cash"
FORM_TEXT = "FORM-PLAINTEXT: fuel smuggled in the ambulance on Thursdays"
REPLY_TEXT = "REPLY-PLAINTEXT: the plate number is KX-4411"
RETALIATION_TEXT = "RETALIATION-PLAINTEXT: moved to night shifts after my report"
PLAIN_RETALIATION_TEXT = "PLAIN-RETALIATION-PLAINTEXT: my leave was refused"
FILE_MARKER = b"FILE-PLAINTEXT-MARKER-0123456789"
RECEIPT = re.compile(r'id="receipt"[^>]*>(\d{4} \d{4} \d{4} \d{4} \d{4})<')
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def served(request: pytest.FixtureRequest, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")}
    env["INTEGRITY_DATA_DIR"] = str(tmp_path / "data")
    for name, value in {**FAST_ARGON2, **FAST_PROTOCOL}.items():
        env[f"INTEGRITY_{name.upper()}"] = str(value)
    database = None
    if request.param == "postgresql":
        database = create_pg_database()
        env["INTEGRITY_DATABASE_URL"] = _pg_url(database)
    for command in (["init"], ["demo"]):
        subprocess.run([INTEGRITY, *command], env=env, check=True, capture_output=True,
                       timeout=120)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = tmp_path / "server.log"
    log = log_path.open("w")
    server = subprocess.Popen([INTEGRITY, "serve", "--port", str(port)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    wait_for_port(port)
    url = env.get("INTEGRITY_DATABASE_URL") or f"sqlite:///{tmp_path / 'data' / 'integrity.db'}"
    yield {"port": port, "log": log_path, "data": tmp_path / "data",
           "url": url.replace("postgresql://", "postgresql+psycopg://", 1), "server": server}
    if server.poll() is None:
        server.terminate()
        server.wait(timeout=30)
    log.close()
    if database:
        drop_pg_database(database)


def _client(port: int) -> HttpClient:
    return HttpClient(port, source=CLIENT_ADDRESS,
                      headers={"User-Agent": USER_AGENT, "X-Forwarded-For": "203.0.113.50"})


def _file_through_the_form(port: int) -> tuple[str, str]:
    http = _client(port)
    page = http.get("/report/integrity").get_data(as_text=True)
    token = TOKEN.search(page).group(1)
    body, kind = multipart(
        {"csrf_token": token, "q-what": FORM_TEXT, "q-ongoing": "yes", "category": "bribery"},
        {"files": ("evidence.txt", "text/plain", FILE_MARKER * 3000)},
    )
    answer = http.post("/report/integrity", data=body, content_type=kind)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    receipt = RECEIPT.search(answer.get_data(as_text=True)).group(1)
    opened = http.post("/mailbox", data={"csrf_token": token, "receipt": receipt})
    assert FORM_TEXT in opened.get_data(as_text=True)
    # A reply with the mailbox token the opened page carries instead of the receipt.
    mailbox_token = MAILBOX_TOKEN.search(opened.get_data(as_text=True)).group(1)
    body, kind = multipart({"csrf_token": TOKEN.search(opened.get_data(as_text=True)).group(1),
                            "mailbox_token": mailbox_token, "text": REPLY_TEXT}, {})
    replied = http.post("/mailbox/reply", data=body, content_type=kind)
    assert REPLY_TEXT in replied.get_data(as_text=True)
    # A report of retaliation from the same mailbox, sealed by the server in memory.
    body, kind = multipart({"csrf_token": TOKEN.search(replied.get_data(as_text=True)).group(1),
                            "mailbox_token": mailbox_token,
                            "what_happened": PLAIN_RETALIATION_TEXT}, {})
    linked = http.post("/mailbox/retaliation", data=body, content_type=kind)
    assert PLAIN_RETALIATION_TEXT in linked.get_data(as_text=True)
    return receipt, mailbox_token


def _needles(receipts: list[str], keys: list[crypto.ReporterKeys]) -> dict[str, bytes]:
    needles = {
        "api text": API_TEXT.encode(), "form text": FORM_TEXT.encode(),
        "reply text": REPLY_TEXT.encode(), "file marker": FILE_MARKER,
        "retaliation text": RETALIATION_TEXT.encode(),
        "plain retaliation text": PLAIN_RETALIATION_TEXT.encode(),
        "client address": CLIENT_ADDRESS.encode(), "forwarded address": b"203.0.113.50",
        "user agent": b"telltale-agent",
    }
    for n, (receipt, derived) in enumerate(zip(receipts, keys, strict=True)):
        needles[f"receipt {n}"] = receipt.encode()
        needles[f"formatted receipt {n}"] = crypto.format_receipt(receipt).encode()
        needles[f"lookup {n}"] = derived.lookup
        needles[f"lookup b64 {n}"] = crypto.b64encode(derived.lookup).encode()
        needles[f"lookup hex {n}"] = derived.lookup.hex().encode()
        # Stored hashes are keyed: the unkeyed one would let a copy test guessed receipts.
        needles[f"unkeyed lookup hash {n}"] = derived.lookup_hash
        needles[f"reporter secret key {n}"] = derived.secret_key
    return needles


def _scan_database(url: str, needles: dict[str, bytes]) -> int:
    engine = make_engine(url)
    cells = 0
    try:
        with engine.connect() as connection:
            for table in metadata().sorted_tables:
                for row in connection.execute(select(table)):
                    for value in row:
                        if value is None:
                            continue
                        data = value if isinstance(value, bytes) else str(value).encode()
                        cells += 1
                        for name, needle in needles.items():
                            assert needle not in data, f"{name} found in table {table.name}"
    finally:
        engine.dispose()
    return cells


def _attachments_in_rows(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count(distinct(AttachmentChunk.attachment_id))))
    finally:
        engine.dispose()


def test_nothing_readable_at_rest_after_filing_both_ways(served) -> None:
    port = served["port"]
    reporter = ReporterClient(_client(port))
    filed = reporter.file("integrity", {"what": API_TEXT},
                          uploads=[Upload("photo.jpg", "image/jpeg", FILE_MARKER * 5000)],
                          category="smuggling-collusion")
    assert reporter.reply(filed.receipt, REPLY_TEXT,
                          [Upload("more.txt", "text/plain", FILE_MARKER)]).status_code == 201
    box = reporter.mailbox(filed.receipt)
    assert box["report"]["document"]["answers"]["what"] == API_TEXT
    if box["report"]["protocol"] == 1:  # a report of retaliation sealed as the mailbox page does
        sealed = crypto.seal_document(
            {"answers": {"what_happened": RETALIATION_TEXT}, "attachments": []},
            reporter.readers(box["recipients"], filed.keys.public_key),
            reporter.config["pad_block"])
        assert reporter.http.post("/api/v1/mailbox/retaliation", json={
            "lookup": crypto.b64encode(filed.keys.lookup),
            "payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()},
        }).status_code == 201
    form_receipt, mailbox_token = _file_through_the_form(port)
    form_receipt = crypto.normalise_receipt(form_receipt)

    served["server"].terminate()
    served["server"].wait(timeout=30)
    derived = [reporter.derive(filed.receipt), reporter.derive(form_receipt)]
    needles = _needles([filed.receipt, form_receipt], derived)
    needles["mailbox token"] = mailbox_token.encode()
    needles["mailbox token bytes"] = crypto.b64decode(mailbox_token)
    # The demo accounts' second-factor secrets are sealed at rest, never stored as they are.
    for account in DEMO_ACCOUNTS:
        if account.totp_secret:
            needles[f"second-factor secret of {account.email}"] = account.totp_secret.encode()

    assert _scan_database(served["url"], needles) > 50
    scanned = 0
    for path in served["data"].rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            scanned += 1
            for name, needle in needles.items():
                assert needle not in data, f"{name} found in {path.name}"
    if served["url"].startswith("postgresql"):
        # The attachments are chunk rows, scanned with every table above; no file is written.
        assert _attachments_in_rows(served["url"]) >= 3
        assert not any((served["data"] / "attachments").glob("*"))
        assert scanned >= 2  # the secret key and the installation secret
    else:
        assert scanned >= 4  # the secret key and three attachment files, at least
    log = served["log"].read_bytes()
    assert b'"POST /api/v1/reports" 201' in log and b'"POST /report/integrity" 200' in log
    for name, needle in needles.items():
        assert needle not in log, f"{name} found in the server log"


PERSON_NAME = "PERSON-PLAINTEXT: Ilir Hoxha, customs officer, badge 5531"
PERSON_STATEMENT = "STATEMENT-PLAINTEXT: the cash was a loan from my cousin"


def test_no_person_concerned_is_readable_at_rest(app, client, login, channel, db,
                                                 make_account) -> None:
    """A case's persons concerned, their steps and statement file are ciphertext at rest,
    and a cleared person's data, once deleted, leaves no ciphertext either."""
    from integrity.models import Channel, Role, User
    from tests.helpers.persons import Page

    account = make_account(Role.INSPECTOR)
    pair = crypto.KeyPair.generate()
    user = db.get(User, account.id)
    user.public_key = pair.public_key
    # Held by a name: the session keeps loaded objects only as long as something refers to them.
    channel_row = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    channel_row.recipients.append(user)
    db.commit()
    reporter = ReporterClient(app.test_client())
    filed = reporter.file(channel.slug, {"what": API_TEXT})
    login(account)
    report_id = filed_report_id(app, filed)
    page = Page(client, report_id, pair)
    kept, cleared = page.add(PERSON_NAME), page.add(PERSON_NAME + " (witness)")
    upload_id, entry = reporter.upload(Upload("statement.txt", "text/plain", FILE_MARKER))
    assert page.step(kept, "informed").status_code == 201
    assert page.step(kept, "heard", PERSON_STATEMENT,
                     attachments=[(upload_id, entry)]).status_code == 201
    assert page.step(cleared, "cleared", PERSON_STATEMENT).status_code == 201
    needles = {"person's name": PERSON_NAME.encode(), "statement": PERSON_STATEMENT.encode(),
               "statement file": FILE_MARKER}
    url = app.extensions["integrity.engine"].url.render_as_string(hide_password=False)
    assert _scan_database(url, needles) > 50
    with app.app_context():
        data = current.settings(app).data_dir
    for path in Path(data).rglob("*"):
        if path.is_file():
            for name, needle in needles.items():
                assert needle not in path.read_bytes(), f"{name} found in {path.name}"
    # Once the cleared person's data is deleted, none of its ciphertext is left anywhere.
    gone = {f"ciphertext {n}": value for n, value in enumerate(_person_ciphertext(db, cleared))}
    assert gone
    assert page.delete(cleared).status_code == 200
    _scan_database(url, gone)
    assert _person_ciphertext(db, kept)


def _person_ciphertext(db, person_id: str) -> list[bytes]:
    from integrity.cases.person_models import Person, PersonKeySlot, PersonStep

    db.expire_all()
    number = int(person_id)
    return [value for value in [
        *db.scalars(select(Person.payload).where(Person.id == number)),
        *db.scalars(select(PersonStep.payload).where(PersonStep.person_id == number)),
        *db.scalars(select(PersonKeySlot.slot).where(PersonKeySlot.person_id == number)),
    ] if value is not None]
