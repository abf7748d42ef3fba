"""The managers' dashboard: its demo data with reports, and the PDF report built to the end."""

from __future__ import annotations

import shutil
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.models import Campaign
from surveys.models import Wave
from tests.conftest import ChannelSetup, csrf_token

# In the text of the reports and replies ``load_demo_with_reports`` files.
DEMO_MARKER = "QUOKKA-7731-MARKER"

needs_poppler = pytest.mark.skipif(not shutil.which("pdftoppm") or not shutil.which("pdftotext"),
                                   reason="poppler-utils is not installed (make test installs it)")
needs_zbar = pytest.mark.skipif(not shutil.which("zbarimg"),
                                reason="zbar-tools is not installed (make test installs it)")


def load_demo_with_reports(app: Flask, db: Session, channel: ChannelSetup, reporter: Any
                           ) -> dict[str, object]:
    """The demo organisation, survey, cases and campaigns, and three reports filed through the
    protocol whose text and a mailbox reply carry a marker."""
    from integrity.demo import load

    with app.app_context():
        load(db, app.extensions["integrity.hasher"])
        db.commit()
    org_units = reporter.config["org_units"]
    for n in range(3):
        filed = reporter.file(channel.slug, {"what": f"{DEMO_MARKER} cash at gate {n}",
                                             "where": f"{DEMO_MARKER} lane {n}"},
                              category="bribery", org_unit=org_units[n]["id"])
        assert reporter.reply(filed.receipt, f"{DEMO_MARKER} more about it").status_code == 201
    return {"campaign": db.scalar(select(Campaign.id).order_by(Campaign.id)),
            "wave": db.scalar(select(Wave.id).order_by(Wave.id))}


def build_report(client: FlaskClient, **fields: str) -> tuple[str, bytes]:
    """Start the PDF report, follow its progress to the end; the progress page and the PDF."""
    form = {"csrf_token": csrf_token(client, "/dashboard/report"), "granularity": "quarter",
            "start": "2025-01", "end": time.strftime("%Y-%m"), "scope": "", "survey": ""}
    form.update(fields)
    started = client.post("/dashboard/report", data=form)
    assert started.status_code == 302, started.get_data(as_text=True)
    progress_url = started.headers["Location"]
    page = client.get(progress_url).get_data(as_text=True)
    status_url = progress_url + "/status"
    deadline = time.monotonic() + 120
    while True:
        status = client.get(status_url).get_json()
        if status["state"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["state"] == "done", status
    pdf = client.get(status["download"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    return page, pdf.data
