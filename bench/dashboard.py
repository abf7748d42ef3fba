"""Dashboard benchmark on PostgreSQL: 1,000,000 survey answers (four waves) and 100,000 cases.

    .venv/bin/python bench/dashboard.py [--answers 1000000] [--cases 100000] [--repeat 20]

1. Server time of the dashboard pages (a Flask test client in this process: no network, no
   browser): cold, the first request of a new application (empty in-process caches, new
   connections), and warm, the median of the following requests. Goals: cold under 1 s, warm
   under 100 ms. The first computation of the survey trends, which reads every closed wave
   through the results service and stores its summary under the data folder, is printed
   apart: it happens once per closed wave, not once per process.
2. The report figures' aggregation (integrity.dashboard.kpis, uncached) beside hand-written
   SQL computing the same aggregates over the same rows, alternated in the same run.
   Goal: at most 2 times the hand-written SQL.

Data are bulk-loaded with COPY. Needs PostgreSQL at INTEGRITY_TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test); the database is made and dropped by the run.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import crypto  # noqa: E402
from integrity.app import create_app  # noqa: E402
from integrity.auth.services import create_user  # noqa: E402
from integrity.dashboard import kpis  # noqa: E402
from integrity.dashboard.kpis import Dimension, Granularity, KpiQuery  # noqa: E402
from integrity.dashboard.units import UnitTree  # noqa: E402
from integrity.db import dispose, new_session  # noqa: E402
from integrity.demo import load_channel, load_organisation  # noqa: E402
from integrity.migrate import upgrade  # noqa: E402
from integrity.models import Campaign, Category, OrgUnit, Role  # noqa: E402
from surveys.bank import load_template  # noqa: E402
from surveys.definitions import QuestionType  # noqa: E402
from surveys.models import Wave, WaveState  # noqa: E402
from surveys.services import create_survey  # noqa: E402

POSTGRES = os.environ.get("INTEGRITY_TEST_POSTGRES_URL",
                          "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "benchmark passphrase"
EMAIL = "manager@bench.example"
TODAY = date.today()

# The same aggregates as the report figures, written by hand for PostgreSQL: per quarter,
# and per unit over the whole range (dates in SQL, medians with percentile_cont).
HAND_SQL = [f"""
WITH r AS (
  SELECT *, COALESCE(acknowledged_on, created_on + 7) AS start,
         id IN (SELECT report_id FROM messages WHERE sender = 'reporter') AS came_back
  FROM reports WHERE created_on BETWEEN %(start)s AND %(end)s)
SELECT {group}, count(*),
  count(*) FILTER (WHERE acknowledged_on IS NOT NULL OR created_on < %(today)s - 7),
  count(*) FILTER (WHERE acknowledged_on <= created_on + 7),
  count(*) FILTER (WHERE feedback_on IS NOT NULL
                   OR (start + interval '3 months')::date < %(today)s),
  count(*) FILTER (WHERE feedback_on <= (start + interval '3 months')::date),
  count(*) FILTER (WHERE status = 'closed'),
  count(*) FILTER (WHERE came_back),
  count(*) FILTER (WHERE status <> 'closed'),
  count(*) FILTER (WHERE status <> 'closed' AND (
      (acknowledged_on IS NULL AND created_on < %(today)s - 7)
      OR (feedback_on IS NULL AND (start + interval '3 months')::date < %(today)s))),
  count(*) FILTER (WHERE outcome = 'substantiated'),
  count(*) FILTER (WHERE outcome = 'partly_substantiated'),
  count(*) FILTER (WHERE outcome = 'unsubstantiated'),
  count(*) FILTER (WHERE outcome = 'not_in_scope'),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY acknowledged_on - created_on),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY closed_on - created_on)
      FILTER (WHERE status = 'closed')
FROM r GROUP BY {group}"""
            for group in ("date_trunc('quarter', created_on)", "org_unit_id")]


def _url(name: str) -> str:
    return POSTGRES.rsplit("/", 1)[0] + "/" + name


def _fill(app, url: str, answers: int, cases: int) -> None:
    session = new_session(app)
    load_organisation(session)
    channel = load_channel(session)
    create_user(session, app.extensions["integrity.hasher"], email=EMAIL, name="Bench Manager",
                role=Role.MANAGER, password=PASSWORD)
    definition = load_template("border-integrity-perception")
    survey = create_survey(session, definition)
    waves = []
    for number, age in enumerate((540, 360, 180, 40), start=1):
        opens = TODAY - timedelta(days=age)
        wave = Wave(survey_id=survey.id, number=number, opens_on=opens,
                    closes_on=opens + timedelta(days=20), state=WaveState.CLOSED)
        session.add(wave)
        waves.append(wave)
    org_units = list(session.scalars(select(OrgUnit).where(OrgUnit.headcount > 0)))
    north = [u for u in session.scalars(select(OrgUnit).where(OrgUnit.name.like("Northern%")))]
    session.add(Campaign(name="Posters", kind="posters", starts_on=TODAY - timedelta(300),
                         ends_on=TODAY - timedelta(250), org_units=north))
    session.add(Campaign(name="E-learning", kind="e_learning", starts_on=TODAY - timedelta(120),
                         ends_on=TODAY - timedelta(90), org_units=north[:1]))
    session.commit()
    wave_ids = [w.id for w in waves]
    org_unit_ids = [u.id for u in org_units]
    categories = list(session.scalars(select(Category.id)))
    channel_id = channel.id
    session.close()
    rng = random.Random(7)
    questions = [q for q in definition.questions if q.type is not QuestionType.TEXT]
    per_wave = answers // len(wave_ids)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for wave_id in wave_ids:
            written = 0
            responses, rows = [], []
            while written < per_wave:
                rid = secrets.token_hex(16)
                responses.append((rid, wave_id, rng.choice(org_unit_ids)))
                for q in questions:
                    if written >= per_wave:
                        break
                    if q.type is QuestionType.MULTIPLE:
                        option = rng.randint(1, len(q.options))
                        rows.append((rid, q.key, option, option, None))
                    elif q.type is QuestionType.NUMBER:
                        rows.append((rid, q.key, 0, None, float(rng.randint(0, 30))))
                    else:
                        choices = len(q.form_values()) or 5
                        rows.append((rid, q.key, 0, rng.randint(1, choices), None))
                    written += 1
            with cur.copy("COPY survey_responses (id, wave_id, org_unit_id) FROM STDIN") as copy:
                for row in responses:
                    copy.write_row(row)
            with cur.copy("COPY survey_answers (response_id, question, item, choice, number) "
                          "FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            with cur.copy("COPY survey_access_codes (code_hash, wave_id, org_unit_id, used) "
                          "FROM STDIN") as codes:
                for org_unit_id in org_unit_ids:
                    for n in range(rng.randint(300, 900)):
                        codes.write_row((os.urandom(32), wave_id, org_unit_id, n % 3 != 0))
        with cur.copy("COPY reports (channel_id, category_id, org_unit_id, created_on, "
                      "lookup_hash, reporter_public_key, payload, status, acknowledged_on, "
                      "feedback_on, closed_on, outcome) FROM STDIN") as copy:
            for _ in range(cases):
                created = TODAY - timedelta(days=rng.randrange(0, 1500))
                acknowledged = created + timedelta(days=rng.randrange(0, 15))
                acknowledged = acknowledged if acknowledged <= TODAY else None
                feedback = (acknowledged + timedelta(days=rng.randrange(10, 120))
                            if acknowledged else None)
                feedback = feedback if feedback and feedback <= TODAY else None
                closed = (feedback + timedelta(days=rng.randrange(0, 90))
                          if feedback and rng.random() < 0.7 else None)
                closed = closed if closed and closed <= TODAY else None
                status = "closed" if closed else "in_progress" if acknowledged else "new"
                copy.write_row((channel_id, rng.choice(categories), rng.choice(org_unit_ids),
                                created, os.urandom(32), os.urandom(32), os.urandom(64), status,
                                acknowledged, feedback, closed,
                                rng.choice(["substantiated", "unsubstantiated",
                                            "not_in_scope"]) if closed else None))
        cur.execute("INSERT INTO messages (report_id, sender, sent_on, payload) "
                    "SELECT id, 'reporter', created_on + 3, '\\x00'::bytea FROM reports "
                    "WHERE id % 3 = 0")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _signed_in(app):
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    params = client.post("/staff/login/params", json={"email": EMAIL},
                         headers={"X-CSRFToken": token}).get_json()
    keys = crypto.derive_staff_keys(PASSWORD, crypto.b64decode(params["salt"]),
                                    params["opslimit"], params["memlimit"])
    answer = client.post("/staff/login", data={"csrf_token": token, "email": EMAIL,
                                               "password": crypto.login_value(keys),
                                               "derived": "1"})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def _time(client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, response.status_code)
    return elapsed


def _pages(settings: dict, repeat: int) -> None:
    paths = {"report figures (/dashboard/)": "/dashboard/",
             "report figures by month": "/dashboard/?granularity=month&dimension=category",
             "survey trends (/dashboard/trends)": "/dashboard/trends",
             "campaign effect": "/dashboard/campaigns/1",
             "trend chart (SVG)": "/dashboard/charts/trend.svg?series=reporting_climate"}
    # The very first look at the trends reads every closed wave through the results service
    # and stores each wave's summary under the data folder; later processes read those.
    app = create_app(settings)
    first = _time(_signed_in(app), "/dashboard/trends")
    dispose(app)
    print(f"survey trends, first computation of the four closed waves: {first:.0f} ms")
    print(f"{'page':36s} {'cold':>9s} {'warm':>9s}   goals: cold < 1000 ms, warm < 100 ms")
    for label, path in paths.items():
        app = create_app(settings)
        client = _signed_in(app)
        cold = _time(client, path)
        warm = statistics.median(_time(client, path) for _ in range(repeat))
        verdict = "ok" if cold < 1000 and warm < 100 else "MISSED"
        print(f"{label:36s} {cold:7.0f} ms {warm:7.1f} ms   {verdict}")
        dispose(app)


def _aggregation(settings: dict, url: str, repeat: int) -> None:
    app = create_app(settings)
    query = KpiQuery.recent(TODAY, Granularity.QUARTER, 16)
    params = {"start": query.start, "end": query.end, "today": TODAY}

    def ours() -> None:
        session = new_session(app)
        try:
            org_units = UnitTree.load(session)
            kpis.period_table(session, query, TODAY, 10, org_units)
            kpis.breakdown(session, query, Dimension.UNIT, TODAY, 10, org_units)
        finally:
            session.close()

    def hand() -> None:
        with psycopg.connect(url) as conn:
            for sql in HAND_SQL:
                conn.execute(sql, params).fetchall()

    def timed(call) -> float:
        started = time.perf_counter()
        call()
        return (time.perf_counter() - started) * 1000

    hand_first, ours_first = timed(hand), timed(ours)
    hand_runs, ours_runs = [], []
    for _ in range(repeat):
        hand_runs.append(timed(hand))
        ours_runs.append(timed(ours))
    hand_median, ours_median = statistics.median(hand_runs), statistics.median(ours_runs)
    print(f"report figures, 16 quarters by quarter and by unit over {query.start} - {query.end}:")
    print(f"  integrity.dashboard.kpis: first {ours_first:.0f} ms, median {ours_median:.0f} ms")
    print(f"  hand-written SQL:         first {hand_first:.0f} ms, median {hand_median:.0f} ms")
    ratio = ours_median / hand_median
    print(f"  ratio (ours / hand SQL, medians): {ratio:.2f}   goal: at most 2   "
          f"{'ok' if ratio <= 2 else 'MISSED'}")
    dispose(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    name = f"integrity_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = _url(name)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
            settings = {"data_dir": Path(tmp), "database_url": url, "secret_key": "bench",
                        "argon2_time_cost": 1, "argon2_memory_cost": 8}
            app = create_app(settings)
            started = time.perf_counter()
            _fill(app, url, args.answers, args.cases)
            dispose(app)
            print(f"{args.answers:,} survey answers (4 waves) and {args.cases:,} cases written "
                  f"in {time.perf_counter() - started:.0f} s")
            _pages(settings, args.repeat)
            _aggregation(settings, url, args.repeat)
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
