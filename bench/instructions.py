"""Instructions per filing, counted by valgrind: the app and the bare Flask baseline served in
one process through the Flask test client, on PostgreSQL.

    .venv/bin/python bench/instructions.py [--requests 150]

Rates and CPU times swing with whatever else the machine runs; instruction counts do not (to
well under 1 %), so this tells whether a change to the request path helps. It counts the Python
process only (PostgreSQL's share is in bench/ingest.py --cpu), and each count is the difference
between a run with ``--requests`` filings after the warm-up and one without, so start-up and
warm-up cancel out. Needs valgrind, and PostgreSQL at INTEGRITY_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.ingest import BIN, _bodies, _database, _drop, _url  # noqa: E402

WARM_UP = 100


def _serve(server: str, count: int, bodies_file: str) -> None:
    """The measured process: warm up, then file ``count`` more bodies."""
    with open(bodies_file, "rb") as handle:
        bodies = iter(pickle.load(handle))  # noqa: S301 (written by this script)
    if server == "api":
        from integrity.app import create_app

        client = create_app().test_client()
    else:
        from bench.baseline_app import app

        client = app.test_client()
    for _ in range(WARM_UP + count):
        response = client.post("/api/v1/reports", data=next(bodies),
                               content_type="application/json")
        assert response.status_code == 201, response.get_data(as_text=True)


def _instructions(server: str, count: int, bodies_file: str, env: dict[str, str]) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--serve", server, str(count), bodies_file],
        env=env, capture_output=True, text=True, check=True)
    match = re.search(r"Collected : (\d+)", out.stderr)
    assert match, out.stderr[-2000:]
    return int(match.group(1))


def _empty(app_db: str, base_db: str) -> None:
    # Every run files the same bodies, so each starts from empty tables.
    for name, statement in ((app_db, "TRUNCATE reports CASCADE"),
                            (base_db, "TRUNCATE baseline_rows")):
        with psycopg.connect(_url(name), autocommit=True) as conn:
            conn.execute(statement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve[0], int(args.serve[1]), args.serve[2])
        return

    app_db, base_db = _database(), _database()
    data = Path(tempfile.mkdtemp(prefix="integrity-instructions-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")}
    env.update({"INTEGRITY_DATA_DIR": str(data), "INTEGRITY_DATABASE_URL": _url(app_db),
                "INTEGRITY_POW_BITS": "0", "INTEGRITY_KDF_OPSLIMIT": "1",
                "INTEGRITY_KDF_MEMLIMIT": "65536",
                "INTEGRITY_RATELIMIT_REPORTS": "10000000 per hour",
                "BENCH_DATABASE_URL": _url(base_db).replace("postgresql://",
                                                            "postgresql+psycopg://", 1)})
    try:
        for command in (["init"], ["demo"]):
            subprocess.run([str(BIN / "integrity"), *command], env=env, check=True,
                           capture_output=True)
        with psycopg.connect(_url(base_db), autocommit=True) as conn:
            conn.execute("CREATE TABLE baseline_rows (id SERIAL PRIMARY KEY, body BYTEA)")
        os.environ.update(env)
        from integrity.app import create_app

        config = create_app().test_client().get("/api/v1/config").get_json()
        bodies_file = str(data / "bodies.pickle")
        with open(bodies_file, "wb") as handle:
            pickle.dump(_bodies(config, WARM_UP + args.requests), handle)
        per_request = {}
        for server in ("baseline", "api"):
            counts = []
            for count in (0, args.requests):
                _empty(app_db, base_db)
                counts.append(_instructions(server, count, bodies_file, env))
            per_request[server] = (counts[1] - counts[0]) / args.requests
        print(f"bare Flask JSON endpoint   : {per_request['baseline'] / 1e6:6.3f} M instructions "
              "per request")
        print(f"reports through the API    : {per_request['api'] / 1e6:6.3f} M instructions "
              "per report")
        print(f"ratio baseline / api       : {per_request['baseline'] / per_request['api']:6.2f}"
              "  (the Python process only)")
    finally:
        _drop(app_db)
        _drop(base_db)


if __name__ == "__main__":
    main()
