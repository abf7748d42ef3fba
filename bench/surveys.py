"""Survey benchmark on PostgreSQL:

1. responses stored through the HTTP path: the served application (gunicorn, 2 workers) takes
   the code, serves the questionnaire and stores the answers, as a respondent's browser
   without JavaScript would do it;
2. a wave's full results (surveys.results.wave_results) over 1,000,000 answers, beside
   hand-written SQL GROUP BY queries computing the same aggregates, in the same run.

    .venv/bin/python bench/surveys.py [--responses 10000] [--answers 1000000] [--threads 8]

Needs PostgreSQL at INTEGRITY_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1/test).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import _database, _drop, _free_port, _url, _wait  # noqa: E402
from integrity.app import create_app  # noqa: E402
from integrity.config import Settings  # noqa: E402
from integrity.db import dispose, new_session  # noqa: E402
from integrity.demo import load_organisation  # noqa: E402
from integrity.migrate import upgrade  # noqa: E402
from integrity.models import OrgUnit  # noqa: E402
from surveys.bank import load_template  # noqa: E402
from surveys.codes import code_hash, generate_code  # noqa: E402
from surveys.definitions import QuestionType  # noqa: E402
from surveys.models import AccessCode, Wave, WaveState  # noqa: E402
from surveys.results import wave_results  # noqa: E402
from surveys.services import create_survey  # noqa: E402

SECRET = "survey-benchmark-secret"
BIN = Path(sys.executable).parent
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                   r'type="hidden" name="csrf_token" value="([^"]+)"')


def _settings(data_dir: Path, url: str) -> Settings:
    return Settings.from_env(environ={}, data_dir=data_dir, database_url=url,
                             secret_key=SECRET)


def _answers(definition, rng: random.Random) -> list[tuple[str, str]]:
    """Form fields of one respondent: every question answered the way its type allows."""
    fields = []
    for q in definition.questions:
        key = f"q-{q.key}"
        if q.type in (QuestionType.AGREEMENT, QuestionType.FREQUENCY):
            fields.append((key, str(rng.randint(1, 5))))
        elif q.type is QuestionType.SINGLE:
            fields.append((key, str(rng.randint(1, len(q.options)))))
        elif q.type is QuestionType.MULTIPLE:
            fields.extend((key, str(n)) for n in range(1, len(q.options) + 1)
                          if rng.random() < 0.4)
        elif q.type is QuestionType.YESNO:
            fields.append((key, rng.choice(["yes", "no", "prefer_not"])))
        elif q.type is QuestionType.NUMBER:
            low, high = int(q.minimum or 0), int(q.maximum or 10)
            fields.append((key, str(rng.randint(low, high))))
        elif q.type is QuestionType.CROSSWISE:
            fields.append((key, rng.choice(["same", "different"])))
        elif q.type is QuestionType.FORCED_RESPONSE:
            fields.append((key, rng.choice(["yes", "no"])))
    return fields


# --- 1. responses through HTTP --------------------------------------------------------------


def _setup_wave(app, codes: int) -> tuple[list[str], object]:
    session = new_session(app)
    load_organisation(session)
    definition = load_template("border-integrity-perception")
    survey = create_survey(session, definition)
    wave = Wave(survey_id=survey.id, number=1, opens_on=date.today() - timedelta(days=1),
                closes_on=date.today() + timedelta(days=30), state=WaveState.OPEN)
    session.add(wave)
    session.flush()
    org_unit_ids = list(session.scalars(select(OrgUnit.id)))
    plain = [generate_code() for _ in range(codes)]
    session.execute(insert(AccessCode), [
        {"code_hash": code_hash(SECRET.encode(), code), "wave_id": wave.id,
         "org_unit_id": org_unit_ids[i % len(org_unit_ids)], "used": False}
        for i, code in enumerate(plain)])
    session.commit()
    session.close()
    return plain, definition


def _respond(port: int, code: str, fields: list[tuple[str, str]]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", f"/survey?code={code}")
        page = conn.getresponse()
        html = page.read().decode()
        cookie = page.getheader("Set-Cookie", "").split(";", 1)[0]
        match = TOKEN.search(html)
        assert page.status == 200 and match, (page.status, html[:300])
        token = next(g for g in match.groups() if g)
        body = urlencode([("csrf_token", token), ("code", code), *fields])
        conn.request("POST", "/survey/answers", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 200, answer.status
    finally:
        conn.close()


def bench_http(responses: int, threads: int) -> None:
    name = _database()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = _url(name)
            settings = _settings(Path(tmp), url)
            upgrade(settings.database_url)
            app = create_app(settings)
            codes, definition = _setup_wave(app, responses)
            dispose(app)
            port = _free_port()
            env = {**{k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")},
                   "INTEGRITY_DATA_DIR": tmp, "INTEGRITY_DATABASE_URL": url,
                   "INTEGRITY_SECRET_KEY": SECRET,
                   # Wrong codes are what this limit counts; none are sent here.
                   "INTEGRITY_LOG_LEVEL": "WARNING"}
            server = subprocess.Popen(
                [str(BIN / "integrity"), "serve", "--port", str(port), "--workers", "2",
                 "--no-scheduler"], env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            try:
                _wait(port)
                rng = random.Random(1)
                forms = [_answers(definition, rng) for _ in range(responses)]
                _respond(port, codes[0], forms[0])  # warm both sides once
                queue = list(range(1, responses))
                lock = threading.Lock()

                def work() -> None:
                    while True:
                        with lock:
                            if not queue:
                                return
                            index = queue.pop()
                        _respond(port, codes[index], forms[index])

                started = time.perf_counter()
                workers = [threading.Thread(target=work) for _ in range(threads)]
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join()
                elapsed = time.perf_counter() - started
            finally:
                server.terminate()
                server.wait(timeout=30)
            with psycopg.connect(url) as conn:
                stored = conn.execute("SELECT count(*) FROM survey_responses").fetchone()[0]
                answers = conn.execute("SELECT count(*) FROM survey_answers").fetchone()[0]
            print(f"HTTP path: {responses - 1} responses in {elapsed:.1f} s = "
                  f"{(responses - 1) / elapsed:.0f} responses/s "
                  f"({threads} client threads, gunicorn 2 workers; each response is a GET of "
                  f"the questionnaire and a POST of the answers); stored {stored} responses, "
                  f"{answers} answers")
    finally:
        _drop(name)


# --- 2. results over a million answers -----------------------------------------------------

HAND_SQL = [
    # Counts per question, unit, item and answer: every distribution and scale index.
    """SELECT a.question, r.org_unit_id, a.item, a.choice, count(*)
       FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id
       WHERE r.wave_id = %(wave)s AND a.choice IS NOT NULL
       GROUP BY a.question, r.org_unit_id, a.item, a.choice""",
    # Respondents per multiple-choice question and unit.
    """SELECT a.question, r.org_unit_id, count(DISTINCT a.response_id)
       FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id
       WHERE r.wave_id = %(wave)s AND a.question = ANY(%(multiple)s)
       GROUP BY a.question, r.org_unit_id""",
    # Number questions: n, sum, sum of squares per unit.
    """SELECT a.question, r.org_unit_id, count(*), sum(a.number), sum(a.number * a.number)
       FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id
       WHERE r.wave_id = %(wave)s AND a.question = ANY(%(numbers)s) AND a.number IS NOT NULL
       GROUP BY a.question, r.org_unit_id""",
    # Indices: each respondent's mean item score, then moments per index and unit.
    """SELECT name, unit, count(*), sum(score), sum(score * score) FROM (
         SELECT idx.name, r.org_unit_id AS unit, avg(
           CASE WHEN idx.reverse THEN 5 - a.choice ELSE a.choice - 1 END * 25.0) AS score
         FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id
         JOIN unnest(%(items)s::text[], %(names)s::text[], %(reverse)s::bool[])
           AS idx(question, name, reverse) ON idx.question = a.question
         WHERE r.wave_id = %(wave)s
         GROUP BY a.response_id, r.org_unit_id, idx.name) per_respondent
       GROUP BY name, unit""",
    """SELECT org_unit_id, count(*) FROM survey_responses WHERE wave_id = %(wave)s
       GROUP BY org_unit_id""",
]


def _fill_answers(url: str, app, target: int) -> tuple[int, int, object]:
    """Responses with every question answered, bulk-loaded with COPY, until ``target``
    answers; returns the wave id, the number of responses and the definition."""
    session = new_session(app)
    load_organisation(session)
    definition = load_template("border-integrity-perception")
    survey = create_survey(session, definition)
    wave = Wave(survey_id=survey.id, number=1, opens_on=date(2027, 1, 1),
                closes_on=date(2027, 1, 21), state=WaveState.CLOSED)
    session.add(wave)
    session.commit()
    wave_id = wave.id
    org_unit_ids = list(session.scalars(select(OrgUnit.id)))
    session.close()
    rng = random.Random(2)
    response_rows: list[tuple[str, int, int]] = []
    answer_rows: list[tuple[str, str, int, int | None, float | None]] = []
    while len(answer_rows) < target:
        rid = secrets.token_hex(16)
        response_rows.append((rid, wave_id, rng.choice(org_unit_ids)))
        for key, value in _answers(definition, rng):
            question = definition.question(key[2:])
            if question.type is QuestionType.MULTIPLE:
                answer_rows.append((rid, question.key, int(value), int(value), None))
            elif question.type is QuestionType.NUMBER:
                answer_rows.append((rid, question.key, 0, None, float(value)))
            else:
                answer_rows.append((rid, question.key, 0, question.choice_code(value), None))
    answer_rows = answer_rows[:target]
    responses = len(response_rows)
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY survey_responses (id, wave_id, org_unit_id) FROM STDIN") as copy:
                for row in response_rows:
                    copy.write_row(row)
            with cur.copy("COPY survey_answers (response_id, question, item, choice, number) "
                          "FROM STDIN") as copy:
                for answer in answer_rows:
                    copy.write_row(answer)
        conn.execute("ANALYZE survey_answers")
        conn.execute("ANALYZE survey_responses")
    return wave_id, responses, definition


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def bench_results(target: int, repeat: int) -> None:
    name = _database()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = _url(name)
            settings = _settings(Path(tmp), url)
            upgrade(settings.database_url)
            app = create_app(settings)
            wave_id, responses, definition = _fill_answers(url, app, target)
            items = [q for q in definition.questions if q.index and q.type in (
                QuestionType.AGREEMENT, QuestionType.FREQUENCY)]
            params = {
                "wave": wave_id,
                "multiple": [q.key for q in definition.questions
                             if q.type is QuestionType.MULTIPLE],
                "numbers": [q.key for q in definition.questions
                            if q.type is QuestionType.NUMBER],
                "items": [q.key for q in items], "names": [q.index for q in items],
                "reverse": [q.reverse for q in items],
            }

            def ours() -> None:
                session = new_session(app)
                try:
                    wave_results(session, session.get(Wave, wave_id))
                finally:
                    session.close()

            def hand() -> None:
                with psycopg.connect(url) as conn:
                    for sql in HAND_SQL:
                        conn.execute(sql, params).fetchall()

            # The first run of each, then the two alternated so neither always runs on a
            # warmer cache.
            hand_cold = _timed(hand)
            ours_cold = _timed(ours)
            hand_runs, ours_runs = [], []
            for _ in range(repeat):
                hand_runs.append(_timed(hand))
                ours_runs.append(_timed(ours))
            hand_warm, ours_warm = statistics.median(hand_runs), statistics.median(ours_runs)
            print(f"Results over {target:,} answers ({responses:,} responses, "
                  f"{len(definition.questions)} questions):")
            print(f"  wave_results: first {ours_cold * 1000:.0f} ms, median "
                  f"{ours_warm * 1000:.0f} ms")
            print(f"  hand-written SQL (same aggregates): first {hand_cold * 1000:.0f} ms, "
                  f"median {hand_warm * 1000:.0f} ms")
            print(f"  ratio (wave_results / hand SQL, medians): {ours_warm / hand_warm:.2f} "
                  f"(goal: at most 2)")
            dispose(app)
    finally:
        _drop(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    if not args.skip_http:
        bench_http(args.responses, args.threads)
    bench_results(args.answers, args.repeat)


if __name__ == "__main__":
    main()
