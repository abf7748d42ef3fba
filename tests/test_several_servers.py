"""Two servers and a scheduler on one PostgreSQL and Redis, each with a data folder of its
own (docs/deployment.md): what one server stores, the other serves; rate limits count across
both; jobs run once, by the one process that holds the scheduler's lease."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

import crypto
from integrity.demo import DEMO_ACCOUNTS, DEMO_INSPECTOR_KEY
from integrity.models import Role
from tests.conftest import (
    POSTGRES_URL,
    REDIS_URL,
    cli_environment,
    csrf_token,
    free_port,
    sign_in_form,
    totp_now,
    wait_for_port,
)
from tests.helpers.reports import open_item, seal_item
from tests.http_adapter import HttpClient
from tests.protocol_client import ReporterClient, Upload

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs INTEGRITY_TEST_POSTGRES_URL")

INTEGRITY = str(Path(sys.executable).with_name("integrity"))
INSPECTOR = next(a for a in DEMO_ACCOUNTS if a.role is Role.INSPECTOR)
MANAGER = next(a for a in DEMO_ACCOUNTS if a.role is Role.MANAGER)
# Cheap receipts and proofs of work; three failed mailbox look-ups an hour, wherever made.
SETTINGS = {
    "INTEGRITY_KDF_OPSLIMIT": "1", "INTEGRITY_KDF_MEMLIMIT": "65536", "INTEGRITY_POW_BITS": "4",
    "INTEGRITY_RATELIMIT_MAILBOX_FAILURES": "3 per hour",
}
PHOTO = os.urandom(150_000)
# Bounds that only stop what hangs, never a measure of speed.
HANG = 300


def _run(environment: dict[str, str], *arguments: str) -> str:
    done = subprocess.run([INTEGRITY, *arguments], env=environment, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextlib.contextmanager
def _process(arguments: list[str], environment: dict[str, str], log: Path
                ) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen([INTEGRITY, *arguments], env=environment, stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=HANG)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _signed_in(port: int) -> HttpClient:
    client = HttpClient(port)
    answer = client.post("/staff/login", data=sign_in_form(
        client, INSPECTOR.email, INSPECTOR.password))  # type: ignore[arg-type]
    assert answer.status_code == 302, answer.get_data(as_text=True)
    code = client.post("/staff/login/code", data={
        "csrf_token": _csrf(client, "/staff/login/code"),
        "code": totp_now(INSPECTOR.totp_secret)})
    assert code.status_code == 302, code.get_data(as_text=True)
    return client


def _csrf(client: HttpClient, url: str) -> str:
    return csrf_token(client, url)  # type: ignore[arg-type]


def _until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def _opened_file(sealed: bytes, entry: dict[str, Any]) -> bytes:
    plain = io.BytesIO()
    crypto.open_file(io.BytesIO(sealed), plain, crypto.b64decode(entry["key"]), entry["size"])
    return plain.getvalue()


def test_two_servers_and_a_scheduler_share_one_database_and_redis(tmp_path: Path) -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    with cli_environment(tmp_path / "first", "postgresql") as environment:
        environment.update(SETTINGS, INTEGRITY_REDIS_URL=REDIS_URL)
        _run(environment, "init")
        _run(environment, "demo")
        first = tmp_path / "first"
        # The secrets go to every process in the environment; each keeps its own data folder.
        environment.update(
            INTEGRITY_SECRET_KEY=(first / "secret_key").read_text().strip(),
            INTEGRITY_INSTALLATION_SECRET=(first / "installation_secret").read_text().strip())
        database = environment["INTEGRITY_DATABASE_URL"]
        # A survey with a wave that opens today: the scheduler's job opens it.
        template = _run(environment, "survey", "templates").split(":")[0]
        added = _run(environment, "survey", "import", "--template", template)
        survey_id = int(added.split()[2].rstrip(":"))
        today = date.today()
        _run(environment, "survey", "wave", "add", str(survey_id),
             "--opens", str(today + timedelta(days=1)),
             "--closes", str(today + timedelta(days=10)))
        with psycopg.connect(database) as connection:
            wave_id = connection.execute("SELECT id FROM survey_waves WHERE survey_id = %s",
                                         (survey_id,)).fetchone()[0]
            connection.execute("UPDATE survey_waves SET opens_on = %s WHERE id = %s",
                               (today, wave_id))
            before = {row[0] for row in connection.execute("SELECT id FROM reports")}

        def own_folder(name: str) -> dict[str, str]:
            (tmp_path / name).mkdir()
            return {**environment, "INTEGRITY_DATA_DIR": str(tmp_path / name)}

        port_a, port_b = free_port(), free_port()
        with _process(["scheduler", "--lease-seconds", "600"], own_folder("s"),
                      tmp_path / "s.log"):
            # The scheduler service takes the lease first; server A's scheduler waits.
            _until(lambda: "holds the lease" in (tmp_path / "s.log").read_text(),
                   "the scheduler service took the lease")
            with (_process(["serve", "--port", str(port_a), "--scheduler"], own_folder("a"),
                           tmp_path / "a.log"),
                  _process(["serve", "--port", str(port_b), "--no-scheduler"],
                           own_folder("b"), tmp_path / "b.log")):
                wait_for_port(port_a)
                wait_for_port(port_b)
                _a_report_filed_on_one_server_is_handled_on_the_other(
                    port_a, port_b, database, before)
                _rate_limits_count_across_both(port_a, port_b)
                _a_pdf_report_started_on_one_server_comes_from_the_other(port_a, port_b)
                _jobs_run_once(database, wave_id, tmp_path)
        # Neither server wrote a sealed file or a summary into its own folder.
        for name in ("a", "b", "s"):
            assert not [p for p in (tmp_path / name).rglob("*") if p.is_file()], name


def _a_report_filed_on_one_server_is_handled_on_the_other(
        port_a: int, port_b: int, database: str, before: set[int]) -> None:
    on_a, on_b = ReporterClient(HttpClient(port_a)), ReporterClient(HttpClient(port_b))
    filed = on_a.file("integrity", {"what": "The shift chief at lane 3 takes cash."},
                      uploads=[Upload("lane3.jpg", "image/jpeg", PHOTO)])
    with psycopg.connect(database) as connection:
        (report_id,) = {row[0] for row in connection.execute("SELECT id FROM reports")} - before

    inspector = _signed_in(port_b)
    data = inspector.get(f"/cases/{report_id}/sealed").get_json()
    report = open_item(data, data["report"], DEMO_INSPECTOR_KEY)
    assert report["answers"]["what"] == "The shift chief at lane 3 takes cash."
    (entry,) = report["attachments"]
    sealed_file = inspector.get(f"/cases/{report_id}/attachments/{entry['id']}")
    assert sealed_file.status_code == 200
    assert _opened_file(sealed_file.get_data(), entry) == PHOTO

    headers = {"X-CSRFToken": _csrf(inspector, f"/cases/{report_id}")}
    reply = seal_item(data, {"text": "Which night was it?", "attachments": []}, note=False)
    sent = inspector.post(f"/cases/{report_id}/messages", json=reply, headers=headers)
    assert sent.status_code == 201, sent.get_data(as_text=True)

    # The reporter, back through the first server, reads the question and the photo.
    box = on_a.mailbox(filed.receipt)
    assert [m["document"]["text"] for m in box["messages"]] == ["Which night was it?"]
    assert _opened_file(on_a.download(filed.receipt, entry["id"]), entry) == PHOTO
    assert on_b.reply(filed.receipt, "Tuesday, after ten.").status_code == 201
    data = inspector.get(f"/cases/{report_id}/sealed").get_json()
    texts = [open_item(data, m, DEMO_INSPECTOR_KEY)["text"] for m in data["messages"]]
    assert texts == ["Which night was it?", "Tuesday, after ten."]
    assert hashlib.sha256(_opened_file(sealed_file.get_data(), entry)).digest() == \
        hashlib.sha256(PHOTO).digest()


def _rate_limits_count_across_both(port_a: int, port_b: int) -> None:
    unknown = [{"lookup": crypto.b64encode(os.urandom(32))} for _ in range(4)]
    servers = [HttpClient(port_a), HttpClient(port_b), HttpClient(port_a), HttpClient(port_b)]
    answers = [client.post("/api/v1/mailbox", json=body).status_code
               for client, body in zip(servers, unknown, strict=True)]
    # Three failures an hour in all: the fourth is refused, on either server.
    assert answers == [404, 404, 404, 429]
    assert HttpClient(port_a).post("/api/v1/mailbox", json=unknown[0]).status_code == 429


def _a_pdf_report_started_on_one_server_comes_from_the_other(port_a: int, port_b: int) -> None:
    manager = HttpClient(port_a)
    signed_in = manager.post("/staff/login", data=sign_in_form(
        manager, MANAGER.email, MANAGER.password))  # type: ignore[arg-type]
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)
    today = date.today()
    answer = manager.post("/dashboard/report", data={
        "csrf_token": _csrf(manager, "/dashboard/report"), "granularity": "quarter",
        "start": f"{today.year - 1}-{today.month:02d}", "end": f"{today.year}-{today.month:02d}",
        "scope": "", "survey": ""})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    progress = answer.headers["Location"].split("://", 1)[-1].split("/", 1)[-1]
    # The same session on the other server: it follows the build and hands out the file.
    elsewhere = HttpClient(port_b)
    elsewhere.cookie = manager.cookie
    status = _until(lambda: (lambda s: s if s["state"] != "running" else None)(
        elsewhere.get(f"/{progress}/status").get_json()), "the report was built")
    assert status["state"] == "done", status
    pdf = elsewhere.get(f"/{progress}.pdf")
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF")


def _jobs_run_once(database: str, wave_id: int, tmp_path: Path) -> None:
    def opened() -> bool:
        with psycopg.connect(database) as connection:
            row = connection.execute("SELECT state FROM survey_waves WHERE id = %s",
                                     (wave_id,)).fetchone()
        return row is not None and row[0] == "open"

    _until(opened, "the wave's opening job ran")
    with psycopg.connect(database) as connection:
        openings = connection.execute(
            "SELECT count(*) FROM audit_entries WHERE action = 'wave_opened' AND subject = %s",
            (f"wave:{wave_id}",)).fetchone()[0]
        holders = connection.execute("SELECT holder FROM scheduler_lease").fetchall()
    service = (tmp_path / "s.log").read_text()
    # The service that holds the lease ran the job; server A's scheduler, a standby, ran
    # none (a standby leaves a job that reaches it to the holder, and says so).
    assert openings == 1
    assert [row[0] for row in holders] == [service.split()[1]], (holders, service)
    assert "a job came due in a scheduler that does not hold the lease" not in \
        (tmp_path / "a.log").read_text()
