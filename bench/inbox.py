"""The inbox with 100,000 cases on SQLite and PostgreSQL: OFFSET against keyset pages, and
the pages' server time (goal: every inbox page under 50 ms).

    .venv/bin/python bench/inbox.py [--cases 100000] [--backend sqlite|postgresql|both]

PostgreSQL is reached at INTEGRITY_TEST_POSTGRES_URL (postgresql://postgres@127.0.0.1:5432/test
by default), where a scratch database is created and dropped. One inspector reads every case
(1 % of them with unseen activity); a second reads 1 % of them.

- Queries: the first, a middle and the last page of both orders and of the "new" filter,
  with OFFSET (the query the inbox used before keyset pages: readers joined to reports,
  sorted, rows skipped) and with keyset pages (``integrity.cases.inbox.inbox``, count and
  row details included), the median of 15 runs each, and their ratio.
- Pages: the server time of a request (a Flask test client in this process: no network, no
  browser), cold (first request of a new application) and warm (median of 20).

SQLite is measured without ANALYZE statistics (an installation rarely runs it); PostgreSQL
after VACUUM ANALYZE, as autovacuum would leave it.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pyotp
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import crypto  # noqa: E402
from integrity.app import create_app  # noqa: E402
from integrity.auth.services import create_user  # noqa: E402
from integrity.cases.deadlines import next_due  # noqa: E402
from integrity.cases.inbox import (  # noqa: E402
    Cursor,
    InboxFilters,
    Position,
    Sort,
    inbox,
)
from integrity.db import dispose, new_session  # noqa: E402
from integrity.demo import load_channel, load_organisation  # noqa: E402
from integrity.migrate import upgrade  # noqa: E402
from integrity.models import Category, Channel, OrgUnit, Role, User  # noqa: E402
from integrity.reporting.models import Report, report_readers  # noqa: E402

POSTGRES = os.environ.get("INTEGRITY_TEST_POSTGRES_URL",
                          "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "benchmark passphrase"
PER_PAGE = 25
GOAL_MS = 50


def _inspector(app, session: Session, email: str, name: str, channel) -> tuple[User, str]:
    secret = pyotp.random_base32()
    user = create_user(session, app.extensions["integrity.hasher"], email=email, name=name,
                       role=Role.INSPECTOR, password=PASSWORD, totp_secret=secret)
    user.public_key = os.urandom(32)
    channel.recipients.append(user)
    return user, secret


def _case(rng: random.Random, today: date, channel_id: int, categories: list[int],
          units: list[int]) -> dict[str, Any]:
    created = today - timedelta(days=rng.randrange(0, 1500))
    status = rng.choice(["new", "acknowledged", "in_progress", "closed"])
    acknowledged = created + timedelta(days=3) if status != "new" else None
    # Feedback given on every closed case and on half of those in progress: no deadline left.
    feedback = (created + timedelta(days=40)
                if status == "closed" or (status == "in_progress" and rng.random() < 0.5)
                else None)
    return {
        "channel_id": channel_id, "category_id": rng.choice(categories),
        "org_unit_id": rng.choice(units), "created_on": created,
        "lookup_hash": os.urandom(32), "reporter_public_key": os.urandom(32),
        "payload": os.urandom(1064), "status": status, "acknowledged_on": acknowledged,
        "feedback_on": feedback, "closed_on": created + timedelta(days=60)
        if status == "closed" else None,
        "outcome": "unsubstantiated" if status == "closed" else None,
        "last_activity_on": created + timedelta(days=rng.randrange(0, 60)),
        "next_due_on": next_due(created, acknowledged, feedback),
    }


def _fill(app, cases: int) -> tuple[str, str, int]:
    """``cases`` cases, all read by the bench inspector (1 % unseen), 1 % by a colleague."""
    session = new_session(app)
    load_organisation(session)
    channel = load_channel(session)
    user, secret = _inspector(app, session, "bench@example.org", "Bench Inspector", channel)
    colleague, _ = _inspector(app, session, "colleague@example.org", "Colleague", channel)
    session.commit()
    categories = list(session.scalars(select(Category.id)))
    units = list(session.scalars(select(OrgUnit.id)))
    rng = random.Random(7)
    today = date.today()
    for start in range(0, cases, 5000):
        rows = [_case(rng, today, channel.id, categories, units)
                for _ in range(min(5000, cases - start))]
        ids = session.execute(insert(Report).returning(Report.id), rows).scalars().all()
        readers = [{"report_id": i, "user_id": user.id, "unseen": rng.random() < 0.01}
                   for i in ids]
        readers += [{"report_id": i, "user_id": colleague.id, "unseen": rng.random() < 0.2}
                    for i in ids if rng.random() < 0.01]
        session.execute(insert(report_readers), readers)
        session.commit()
    last = session.scalar(select(Report.id).order_by(Report.id.desc()))
    session.close()
    return "bench@example.org", secret, int(last or 0)


def _offset_page(session: Session, user: User, filters: InboxFilters, page: int,
                 count: bool = True) -> list[int]:
    """A page as the inbox read it before keyset pages: its count, then the sorted join with
    rows skipped."""
    order = ((Report.created_on.desc(), Report.id.desc()) if filters.sort is Sort.NEWEST
             else (Report.next_due_on.is_(None), Report.next_due_on, Report.id))
    query = (select(Report.id, Report.created_on, Report.status, Channel.name, Category.name,
                    OrgUnit.name)
             .join(report_readers, report_readers.c.report_id == Report.id)
             .join(Channel, Channel.id == Report.channel_id)
             .outerjoin(Category, Category.id == Report.category_id)
             .outerjoin(OrgUnit, OrgUnit.id == Report.org_unit_id)
             .where(report_readers.c.user_id == user.id))
    if filters.new:
        query = query.where(report_readers.c.unseen.is_(True))
    if count:
        session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(*order).limit(PER_PAGE)
                           .offset((page - 1) * PER_PAGE))
    return [row[0] for row in rows]


def _median_ms(action: Callable[[], object], runs: int = 15) -> float:
    action()  # warm the caches once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _best_ms(action: Callable[[], object], runs: int = 15) -> float:
    """The fastest of ``runs``: on a shared machine, the closest to the work itself."""
    action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def _compare(app, email: str) -> None:
    """OFFSET against keyset, first, middle and last page, for each order and "new"."""
    today = date.today()
    session = new_session(app)
    user = session.scalar(select(User).where(User.email == email))
    assert user is not None
    print(f"{'':39s} {'median of 15':^28s} {'best of 15':^28s}")
    print(f"{'query':32s} {'page':>6s}" + f" {'OFFSET':>9s} {'keyset':>9s} {'ratio':>7s}" * 2)
    views = {"newest first": InboxFilters(), "next deadline first": InboxFilters(sort=Sort.DUE),
             "new, newest first": InboxFilters(new=True)}
    with app.test_request_context():
        for label, filters in views.items():
            first = inbox(session, user, filters, Position(), today)
            pages = max(1, -(-(first.total or 0) // PER_PAGE))
            middle = pages // 2
            # The cursor a reader reaches the middle page with: the row just before it.
            before = (_offset_page(session, user, filters, middle - 1, count=False)[-1]
                      if middle > 1 else None)
            cursor = _cursor_of(session, filters.sort, before)
            for name, page, position in (("first", 1, Position()),
                                         (f"{middle}", middle, Position(after=cursor)),
                                         (f"{pages}", pages, Position(last=True))):
                old = lambda p=page, f=filters: _offset_page(session, user, f, p)  # noqa: E731
                new = lambda p=position, f=filters: inbox(session, user, f, p, today)  # noqa: E731
                line = f"{label:32s} {name:>6s}"
                for measure in (_median_ms, _best_ms):
                    offset, keyset = measure(old), measure(new)
                    line += f" {offset:6.1f} ms {keyset:6.1f} ms {offset / keyset:6.1f}×"
                print(line)
    session.close()


def _cursor_of(session: Session, sort: Sort, report_id: int | None) -> Cursor | None:
    if report_id is None:
        return None
    report = session.get(Report, report_id)
    assert report is not None
    return Cursor(report.created_on if sort is Sort.NEWEST else report.next_due_on, report.id)


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


def _pages(settings: dict[str, Any], email: str, secret: str, last: int) -> None:
    """The server time of the inbox's pages and of a case page."""
    paths = {"inbox, first page": "/cases/",
             "inbox, last page": "/cases/?page=last",
             "inbox, next deadline first": "/cases/?sort=due",
             "inbox, next deadline, last": "/cases/?sort=due&page=last",
             "inbox, new activity": "/cases/?new=1",
             "inbox, overdue filter": "/cases/?deadline=overdue",
             "case page": f"/cases/{last}"}
    for label, path in paths.items():
        fresh = create_app(settings)
        client = _signed_in(fresh, email, secret)
        cold = _time(client, path)
        warm = statistics.median(_time(client, path) for _ in range(20))
        print(f"{label:28s} cold {cold:6.1f} ms   warm {warm:6.1f} ms   (goal < {GOAL_MS} ms)")
        dispose(fresh)


@contextmanager
def _database(backend: str) -> Iterator[str]:
    """A scratch database's URL: a file in a temporary folder, or a PostgreSQL database."""
    if backend == "sqlite":
        folder = tempfile.TemporaryDirectory()
        with folder:
            yield f"sqlite:///{Path(folder.name) / 'bench.db'}"
        return
    name = f"integrity_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield POSTGRES.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run(backend: str, cases: int) -> None:
    """Fill a scratch database of ``backend`` and measure it."""
    print(f"\n## {backend}")
    with _database(backend) as url:
        upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
        settings = {"data_dir": Path(tempfile.mkdtemp()), "database_url": url,
                    "secret_key": "bench", "argon2_time_cost": 1, "argon2_memory_cost": 8}
        app = create_app(settings)
        started = time.perf_counter()
        email, secret, last = _fill(app, cases)
        print(f"{cases} cases written in {time.perf_counter() - started:.0f} s")
        if backend == "postgresql":
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
        _compare(app, email)
        dispose(app)
        _pages(settings, email, secret, last)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql"):
        if args.backend in (backend, "both"):
            run(backend, args.cases)


if __name__ == "__main__":
    main()
