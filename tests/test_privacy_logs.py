"""The served application records no client address and no user agent, in logs or storage."""

import http.client
import io
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from werkzeug.serving import make_server

from tests.conftest import FAST_ARGON2, wait_for_port

INTEGRITY = str(Path(sys.executable).with_name("integrity"))
CLIENT_ADDRESS = "127.0.0.77"
FORWARDED_ADDRESS = "198.51.100.23"
USER_AGENT = "ProbeAgent/7.7 (distinctive-user-agent)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(port: int, method: str, path: str, body: str | None = None,
             cookie: str | None = None) -> http.client.HTTPResponse:
    """One request from a distinctive loopback address, with telltale headers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                            source_address=(CLIENT_ADDRESS, 0))
    headers = {"User-Agent": USER_AGENT, "X-Forwarded-For": FORWARDED_ADDRESS,
               "X-Real-IP": FORWARDED_ADDRESS}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if cookie:
        headers["Cookie"] = cookie
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


FORGED = "[2026-12-06 09:00:00 +0000] [1] [INFO] FORGED-LINE"


def _exercise(port: int) -> None:
    """Pages, a failed sign-in and a successful one, a 404, a path that carries a newline."""
    assert _request(port, "GET", "/").status == 200
    assert _request(port, "GET", "/no/such/page?x=1").status == 404
    assert _request(port, "GET", "/no/such%0A" + quote(FORGED)).status == 404
    page = _request(port, "GET", "/staff/login")
    cookie = page.getheader("Set-Cookie").split(";")[0]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                            source_address=(CLIENT_ADDRESS, 0))
    connection.request("GET", "/staff/login", headers={"Cookie": cookie, "User-Agent": USER_AGENT})
    html = connection.getresponse().read().decode()
    connection.close()
    token = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    for password in ("wrong passphrase!", "demo-manager-passphrase"):
        body = urlencode(
            {"csrf_token": token, "email": "manager@demo.invalid", "password": password}
        )
        response = _request(port, "POST", "/staff/login", body=body, cookie=cookie)
        assert response.status in (200, 302)
    assert response.status == 302


def _assert_nothing_identifying(text: str, where: str) -> None:
    for needle in (CLIENT_ADDRESS, FORWARDED_ADDRESS, USER_AGENT, "ProbeAgent", "distinctive-user"):
        assert needle not in text, f"{needle!r} found in {where}"


def _scan_folder(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in (CLIENT_ADDRESS, FORWARDED_ADDRESS, "ProbeAgent"):
                assert needle.encode() not in data, f"{needle!r} found in {path}"


def test_served_app_logs_and_stores_no_client_address_or_user_agent(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")}
    env["INTEGRITY_DATA_DIR"] = str(tmp_path / "data")
    env.update({f"INTEGRITY_{k.upper()}": str(v) for k, v in FAST_ARGON2.items()})
    for command in (["init"], ["demo"]):
        subprocess.run([INTEGRITY, *command], env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([INTEGRITY, "serve", "--port", str(port)], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port)
            _exercise(port)
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log_path.read_text()
    assert '"GET /" 200' in text and '"POST /staff/login" 302' in text, text
    assert '"GET /no/such/page" 404' in text
    # The newline in the path is written as an escape, on the request's own line.
    assert f'"GET /no/such\\n{FORGED}" 404' in text, text
    assert not any(line.startswith(FORGED) for line in text.splitlines()), text
    _assert_nothing_identifying(text, "the server log")
    _scan_folder(tmp_path / "data")


def test_development_server_log_lines_carry_no_client_address(app, caplog) -> None:
    port = _free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            assert _request(port, "GET", "/").status == 200
            assert _request(port, "GET", "/staff/login").status == 200
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any("GET / HTTP/1.1" in line for line in lines), lines
    for line in lines:
        _assert_nothing_identifying(line, "werkzeug's log")


@pytest.mark.parametrize("message", [
    "Invalid request from ip=10.2.3.4: bad",
    "peer fe80::1 went away",
    "client 2001:db8:0:0:0:0:0:1 closed",
])
def test_stray_addresses_in_server_messages_are_scrubbed(message: str) -> None:
    from integrity.logs import AddressScrubber

    record = logging.LogRecord("gunicorn.error", logging.INFO, __file__, 1, message, (), None)
    AddressScrubber().filter(record)
    assert "[address]" in record.getMessage()
    assert "10.2.3.4" not in record.getMessage()


def test_gunicorn_access_records_hold_only_the_logged_fields() -> None:
    import re
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config
    from gunicorn.glogging import SafeAtoms

    from integrity.gunicorn_conf import AccessLogger
    from integrity.logs import ACCESS_LOG_FORMAT

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/reports", "QUERY_STRING": "x=1",
               "REMOTE_ADDR": CLIENT_ADDRESS, "HTTP_USER_AGENT": USER_AGENT,
               "HTTP_X_FORWARDED_FOR": FORWARDED_ADDRESS, "SERVER_PROTOCOL": "HTTP/1.1",
               "RAW_URI": "/api/v1/reports?x=1"}
    response = SimpleNamespace(status="201 CREATED", sent=42,
                               headers=[("Content-Type", "application/json")])
    request = SimpleNamespace(headers=[("User-Agent", USER_AGENT),
                                       ("X-Forwarded-For", FORWARDED_ADDRESS)])
    atoms = AccessLogger(Config()).atoms(response, request, environ,
                                         timedelta(seconds=1, microseconds=2500))
    # Exactly the fields the format prints, and nothing that could identify the client.
    assert set(atoms) == set(re.findall(r"%\((\w+)\)s", ACCESS_LOG_FORMAT))
    _assert_nothing_identifying(repr(atoms), "an access record's arguments")
    assert ACCESS_LOG_FORMAT % SafeAtoms(atoms) == '"POST /api/v1/reports" 201 42 1002ms'


def _log_of(logger_name: str) -> tuple[logging.Handler, io.StringIO]:
    """A handler that writes what ``logger_name`` logs as an operator's log file would."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: "
                                           "%(message)s"))
    logging.getLogger(logger_name).addHandler(handler)
    return handler, stream


def test_a_path_cannot_write_a_line_of_its_own_into_the_error_log(app, client,
                                                                  monkeypatch) -> None:
    import integrity.reporting.views

    def broken(slug: str) -> None:
        raise RuntimeError(f"no way to open {slug}")

    monkeypatch.setattr(integrity.reporting.views, "_open_channel", broken)
    forged = "[2026-12-06 09:00:00,000] ERROR in views: FORGED sign-in of admin@example.org"
    handler, stream = _log_of("integrity")
    try:
        response = client.get("/report/x%0A" + quote(forged) + "%0D%0A%1B[2J%E2%80%A8" +
                              quote(forged))
    finally:
        logging.getLogger("integrity").removeHandler(handler)
    assert response.status_code == 500
    text = stream.getvalue()
    assert "Unhandled error on GET /report/x\\n[2026-12-06" in text, text
    assert "RuntimeError: no way to open x\\n[2026-12-06" in text, text  # the traceback's
    assert "\\r\\n\\x1b[2J\\u2028" in text, text
    for line in text.splitlines():
        assert "FORGED" not in line or "Unhandled error" in line or "RuntimeError" in line, text
    assert "\x1b" not in text and "\u2028" not in text and "\r" not in text


def test_a_value_typed_into_the_sign_in_form_never_reaches_the_log(app, client, db,
                                                                   caplog) -> None:
    from sqlalchemy import text

    from tests.conftest import csrf_token

    token = csrf_token(client, "/staff/login")
    # A database error on the statement that carries the typed value (the table is gone).
    db.execute(text("ALTER TABLE users RENAME TO users_elsewhere"))
    db.commit()
    typed = "typed-passphrase-4417@example.org"
    with caplog.at_level(logging.ERROR, logger="integrity"):
        response = client.post("/staff/login", data={"csrf_token": token, "email": typed,
                                                      "password": "another secret 9921"})
    assert response.status_code == 500
    assert "Unhandled error on POST /staff/login" in caplog.text
    assert "users" in caplog.text and "[SQL: " in caplog.text  # the error itself is logged
    assert "typed-passphrase-4417" not in caplog.text, caplog.text
    assert "another secret 9921" not in caplog.text


def test_a_conflicting_value_quoted_by_the_database_stays_out_of_the_log(app, db, make_account,
                                                                         caplog) -> None:
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from integrity.models import Role, User

    account, other = make_account(Role.MANAGER), make_account(Role.MANAGER)
    with caplog.at_level(logging.ERROR, logger="integrity"):
        try:
            db.execute(update(User).where(User.id == other.id).values(email=account.email))
        except IntegrityError:
            logging.getLogger("integrity").exception("Unhandled error on POST /admin/users/1")
        db.rollback()
    assert "Unhandled error" in caplog.text and "[SQL: " in caplog.text
    assert account.email not in caplog.text, caplog.text
    if db.bind.dialect.name == "postgresql":  # its DETAIL line quotes the conflicting row
        assert "duplicate key" in caplog.text and "(detail left out of the log)" in caplog.text
