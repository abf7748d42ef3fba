"""First use as `PORT=8091 make run` gives it: the links the demo prints and the QR codes the
served site makes point at the port actually served, and survey respondents find the survey
from the start page with the demo codes `integrity demo` prints."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from integrity.config import Settings
from integrity.demo import DEMO_ACCOUNTS, load_organisation
from integrity.models import Role
from surveys.demo import DEMO_CODES, load_demo_survey
from tests.conftest import POSTGRES_URL, cli_environment, free_port, sign_in_form, wait_for_port
from tests.http_adapter import HttpClient

INTEGRITY = str(Path(sys.executable).with_name("integrity"))
MANAGER = next(a for a in DEMO_ACCOUNTS if a.role is Role.MANAGER)
SURVEY_LINK = re.compile(r'href="(/survey)"')


@pytest.mark.parametrize(("host", "port", "address"), [
    ("127.0.0.1", 8091, "http://127.0.0.1:8091"),
    ("0.0.0.0", 8091, "http://127.0.0.1:8091"),  # noqa: S104
    ("localhost", 9000, "http://localhost:9000"),
    ("::", 8091, "http://[::1]:8091"),
    ("::1", 8091, "http://[::1]:8091"),
])
def test_without_a_public_url_the_served_address_is_the_public_one(
        host: str, port: int, address: str) -> None:
    assert Settings.for_server(host, port, environ={}).public_url == address
    configured = {"INTEGRITY_PUBLIC_URL": "https://report.border.example"}
    assert (Settings.for_server(host, port, environ=configured).public_url
            == "https://report.border.example")


def _qr_codes(image: bytes, folder: Path) -> set[str]:
    path = folder / "poster.png"
    path.write_bytes(image)
    found = subprocess.run(["zbarimg", "--quiet", "--raw", str(path)], capture_output=True,
                           text=True, timeout=60)
    return {line.strip() for line in found.stdout.splitlines() if line.strip()}


@pytest.mark.skipif(not shutil.which("zbarimg"),
                    reason="zbar-tools is not installed (make test installs it)")
@pytest.mark.parametrize("backend", ["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def test_make_run_on_another_port_prints_and_serves_links_to_that_port(
        backend: str, tmp_path: Path) -> None:
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    with cli_environment(tmp_path / "data", backend) as environment:
        # What `PORT=<port> make run` runs, without INTEGRITY_PUBLIC_URL.
        subprocess.run([INTEGRITY, "init"], env=environment, check=True, capture_output=True)
        demo = subprocess.run([INTEGRITY, "demo", "--host", "127.0.0.1", "--port", str(port)],
                              env=environment, capture_output=True, text=True, timeout=300)
        assert demo.returncode == 0, demo.stderr
        assert f"{site}/staff/login" in demo.stdout
        assert f"{site}/survey" in demo.stdout
        assert DEMO_CODES[0] in demo.stdout and DEMO_CODES[-1] in demo.stdout
        assert ":8080" not in demo.stdout
        server = subprocess.Popen(
            [INTEGRITY, "serve", "--host", "127.0.0.1", "--port", str(port)], env=environment,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            manager = HttpClient(port)
            assert manager.post("/staff/login", data=sign_in_form(
                manager, MANAGER.email, MANAGER.password)).status_code == 302  # type: ignore[arg-type]
            poster = manager.get(
                "/dashboard/posters/poster.png?channel=integrity&language=en&size=A4")
            assert poster.status_code == 200
            # The poster opens the reporting page in the language it is printed in.
            assert _qr_codes(poster.get_data(), tmp_path) == {f"{site}/report/integrity?lang=en"}
            # A respondent finds the survey from the start page and answers with a printed code.
            visitor = HttpClient(port)
            start = visitor.get("/").get_data(as_text=True)
            link = SURVEY_LINK.search(start)
            assert link
            survey = visitor.get(link.group(1)).get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', survey)
            assert token
            questions = visitor.post("/survey", data={"csrf_token": token.group(1),
                                                      "code": DEMO_CODES[0]})
            assert questions.status_code == 200
            assert "Border integrity" in questions.get_data(as_text=True)
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_the_start_page_leads_to_the_survey_without_a_cookie(
        app: Flask, client: FlaskClient, db: Session) -> None:
    with app.app_context():
        load_organisation(db)
        load_demo_survey(db)
    db.commit()
    start = client.get("/")
    assert start.status_code == 200
    assert "Set-Cookie" not in start.headers
    policy = start.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    link = SURVEY_LINK.search(start.get_data(as_text=True))
    assert link, "the start page does not link to the survey"
    survey = client.get(link.group(1))
    assert survey.status_code == 200
    assert "access code" in survey.get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', survey.get_data(as_text=True))
    assert token
    questions = client.post("/survey", data={"csrf_token": token.group(1),
                                             "code": DEMO_CODES[-1]})
    assert questions.status_code == 200
    assert "Border integrity" in questions.get_data(as_text=True)
