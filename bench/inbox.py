"""Inbox and case page server time with 100,000 cases on PostgreSQL (goal: under 100 ms).

    .venv/bin/python bench/inbox.py [--cases 100000]

Server time is the time the application takes for the request (a Flask test client in this
process: no network, no browser), cold (first request of a new application) and warm
(median of 20).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pyotp
from sqlalchemy import insert, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import crypto  # noqa: E402
from integrity.app import create_app  # noqa: E402
from integrity.auth.services import create_user  # noqa: E402
from integrity.db import dispose, new_session  # noqa: E402
from integrity.demo import load_channel, load_organisation  # noqa: E402
from integrity.migrate import upgrade  # noqa: E402
from integrity.models import Category, OrgUnit, Role, User  # noqa: E402
from integrity.reporting.models import Report, report_readers  # noqa: E402

POSTGRES = os.environ.get("INTEGRITY_TEST_POSTGRES_URL",
                          "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "benchmark passphrase"


def _fill(app, cases: int) -> tuple[str, str, int]:
    session = new_session(app)
    load_organisation(session)
    channel = load_channel(session)
    secret = pyotp.random_base32()
    user = create_user(session, app.extensions["integrity.hasher"], email="bench@example.org",
                       name="Bench Inspector", role=Role.INSPECTOR, password=PASSWORD,
                       totp_secret=secret)
    user.public_key = os.urandom(32)
    channel.recipients.append(user)
    session.commit()
    categories = list(session.scalars(select(Category.id)))
    org_unit_ids = list(session.scalars(select(OrgUnit.id)))
    rng = random.Random(7)
    today = date.today()
    statuses = ["new", "acknowledged", "in_progress", "closed"]
    for start in range(0, cases, 5000):
        rows = []
        for _ in range(min(5000, cases - start)):
            created = today - timedelta(days=rng.randrange(0, 1500))
            status = rng.choice(statuses)
            rows.append({
                "channel_id": channel.id, "category_id": rng.choice(categories),
                "org_unit_id": rng.choice(org_unit_ids), "created_on": created,
                "lookup_hash": os.urandom(32), "reporter_public_key": os.urandom(32),
                "payload": os.urandom(1064), "status": status,
                "acknowledged_on": created + timedelta(days=3) if status != "new" else None,
                "closed_on": created + timedelta(days=60) if status == "closed" else None,
                "outcome": "unsubstantiated" if status == "closed" else None,
            })
        ids = session.execute(insert(Report).returning(Report.id), rows).scalars().all()
        session.execute(insert(report_readers), [{"report_id": i, "user_id": user.id}
                                                 for i in ids])
        session.commit()
    last = session.scalar(select(Report.id).order_by(Report.id.desc()))
    session.close()
    return "bench@example.org", secret, int(last or 0)


def _signed_in(app, email: str, secret: str):
    # A code is accepted once; the benchmark signs in several times within one time step.
    session = new_session(app)
    session.execute(update(User).where(User.email == email).values(totp_last_step=None))
    session.commit()
    session.close()
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    params = client.post("/staff/login/params", json={"email": email},
                         headers={"X-CSRFToken": token}).get_json()
    keys = crypto.derive_staff_keys(PASSWORD, crypto.b64decode(params["salt"]),
                                    params["opslimit"], params["memlimit"])
    client.post("/staff/login", data={"csrf_token": token, "email": email,
                                      "password": crypto.login_value(keys), "derived": "1"})
    page = client.get("/staff/login/code").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    answer = client.post("/staff/login/code",
                         data={"csrf_token": token, "code": pyotp.TOTP(secret).now()})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def _time(client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, response.status_code)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    name = f"integrity_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = POSTGRES.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
        settings = {"data_dir": Path(tempfile.mkdtemp()), "database_url": url,
                    "secret_key": "bench", "argon2_time_cost": 1, "argon2_memory_cost": 8}
        app = create_app(settings)
        started = time.perf_counter()
        email, secret, last = _fill(app, args.cases)
        print(f"{args.cases} cases written in {time.perf_counter() - started:.0f} s")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        dispose(app)
        paths = {"inbox, first page": "/cases/",
                 "inbox, overdue filter": "/cases/?deadline=overdue",
                 "inbox, page 2000": "/cases/?page=2000",
                 "case page": f"/cases/{last}"}
        for label, path in paths.items():
            fresh = create_app(settings)
            client = _signed_in(fresh, email, secret)
            cold = _time(client, path)
            warm = statistics.median(_time(client, path) for _ in range(20))
            print(f"{label:24s} cold {cold:6.1f} ms   warm {warm:6.1f} ms   (goal < 100 ms)")
            dispose(fresh)
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
