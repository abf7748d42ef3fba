"""Where a filing's time goes, in one process: the Flask test client on PostgreSQL, under
cProfile (CPU time), with the SQL statements of one request listed and their round trips timed.

    .venv/bin/python bench/profile_filing.py [--requests 2000] [--top 40] [--sort tottime]

Needs PostgreSQL at INTEGRITY_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1/test).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bench.ingest import BIN, _bodies, _database, _drop, _url  # noqa: E402


def _by_package(stats: pstats.Stats) -> dict[str, float]:
    totals: dict[str, float] = {}
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        tottime = row[2]
        if "site-packages/" in filename:
            package = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        elif str(ROOT) in filename:
            package = filename.split(str(ROOT) + "/", 1)[1].split("/", 1)[0]
        elif filename.startswith("~") or filename.startswith("<"):
            package = "builtins"
        else:
            package = "stdlib:" + Path(filename).stem
        totals[package] = totals.get(package, 0.0) + tottime
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--callers", default="", help="print the callers of functions matching")
    parser.add_argument("--callees", default="", help="print what functions matching call")
    args = parser.parse_args()

    name = _database()
    data = Path(tempfile.mkdtemp(prefix="integrity-profile-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")}
    env.update({"INTEGRITY_DATA_DIR": str(data), "INTEGRITY_DATABASE_URL": _url(name),
                "INTEGRITY_POW_BITS": "0", "INTEGRITY_KDF_OPSLIMIT": "1",
                "INTEGRITY_KDF_MEMLIMIT": "65536",
                "INTEGRITY_RATELIMIT_REPORTS": "10000000 per hour"})
    try:
        for command in (["init"], ["demo"]):
            subprocess.run([str(BIN / "integrity"), *command], env=env, check=True,
                           capture_output=True)
        os.environ.update({k: v for k, v in env.items() if k.startswith("INTEGRITY_")})
        from integrity.app import create_app

        app = create_app()
        client = app.test_client()
        config = client.get("/api/v1/config").get_json()
        bodies = _bodies(config, args.requests + 201)
        for body in bodies[:200]:  # warm caches and the connection pool
            assert client.post("/api/v1/reports", data=body,
                               content_type="application/json").status_code == 201

        statements: list[tuple[str, float]] = []
        engine = app.extensions["integrity.engine"]

        def before(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
            context._started = time.perf_counter()

        def after(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
            statements.append((statement.split("\n")[0][:90],
                               time.perf_counter() - context._started))

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        client.post("/api/v1/reports", data=bodies[200], content_type="application/json")
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        print("statements of one filing:")
        for text, seconds in statements:
            print(f"  {seconds * 1000:6.2f} ms  {text}")

        profile = cProfile.Profile(time.process_time)  # CPU time: waiting on PostgreSQL is free
        started = time.perf_counter()
        profile.enable()
        for body in bodies[201:201 + args.requests]:
            client.post("/api/v1/reports", data=body, content_type="application/json")
        profile.disable()
        elapsed = time.perf_counter() - started
        print(f"{args.requests / elapsed:.1f} filings per second in one thread, under cProfile")
        stats = pstats.Stats(profile)
        stats.sort_stats(args.sort).print_stats(args.top)
        if args.callers:
            stats.print_callers(args.callers)
        if args.callees:
            stats.print_callees(args.callees)
        print("own time by package, ms per filing:")
        for package, seconds in sorted(_by_package(stats).items(), key=lambda kv: -kv[1]):
            print(f"  {seconds * 1000 / args.requests:6.3f}  {package}")

        unprofiled = _bodies(config, 500)
        started = time.perf_counter()
        for body in unprofiled:
            client.post("/api/v1/reports", data=body, content_type="application/json")
        print(f"{500 / (time.perf_counter() - started):.1f} filings per second, unprofiled")
    finally:
        _drop(name)


if __name__ == "__main__":
    main()
