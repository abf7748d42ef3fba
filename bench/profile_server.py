"""Where the workers' time goes under load: the ingest benchmark's two servers under gunicorn
with every worker thread profiled (cProfile), then each server's own time by package and its
busiest functions, per request.

    .venv/bin/python bench/profile_server.py [--requests 3000] [--threads 8] [--top 25]

Profiling slows the servers down; compare the two servers' shares, not the rates. Times
are each thread's CPU time (time.thread_time), so waiting on the database counts nothing.
Needs PostgreSQL at INTEGRITY_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1/test).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.ingest import BIN, _bodies, _database, _drop, _free_port, _load, _url, _wait  # noqa: E402
from bench.profile_filing import _by_package  # noqa: E402

# A gunicorn config: the deployment's settings, plus a profiler in every thread of a worker.
CONFIG = '''
import cProfile, os, threading, time
from integrity.gunicorn_conf import *  # noqa: F403

_profiles = []

def _start(*_args):
    profile = cProfile.Profile(time.thread_time)  # CPU time, not time spent waiting
    _profiles.append(profile)
    profile.enable()  # replaces this hook for the thread

def post_worker_init(worker):
    threading.setprofile(_start)
    _start()

def worker_exit(server, worker):
    for n, profile in enumerate(_profiles):
        profile.disable()
        profile.dump_stats(os.path.join(os.environ["BENCH_PROFILE_DIR"], f"{os.getpid()}-{n}"))
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--callers", default="", help="print the callers of functions matching")
    args = parser.parse_args()

    app_db, base_db = _database(), _database()
    data = Path(tempfile.mkdtemp(prefix="integrity-profile-"))
    (data / "bench_profiled_conf.py").write_text(CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")}
    env.update({"INTEGRITY_DATA_DIR": str(data), "INTEGRITY_DATABASE_URL": _url(app_db),
                "INTEGRITY_POW_BITS": "0", "INTEGRITY_KDF_OPSLIMIT": "1",
                "INTEGRITY_KDF_MEMLIMIT": "65536",
                "INTEGRITY_RATELIMIT_REPORTS": "10000000 per hour",
                "BENCH_DATABASE_URL": _url(base_db).replace("postgresql://",
                                                            "postgresql+psycopg://", 1),
                "PYTHONPATH": os.pathsep.join([str(data), str(ROOT)])})
    servers: dict[str, subprocess.Popen[bytes]] = {}
    folders = {name: data / name for name in ("api", "baseline")}
    try:
        for command in (["init"], ["demo"]):
            subprocess.run([str(BIN / "integrity"), *command], env=env, check=True,
                           capture_output=True)
        with psycopg.connect(_url(base_db), autocommit=True) as conn:
            conn.execute("CREATE TABLE baseline_rows (id SERIAL PRIMARY KEY, body BYTEA)")
        ports = {"api": _free_port(), "baseline": _free_port()}
        for name, target in (("api", "wsgi:app"), ("baseline", "bench.baseline_app:app")):
            folders[name].mkdir()
            servers[name] = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "python:bench_profiled_conf", "--workers", "2",
                 "--bind", f"127.0.0.1:{ports[name]}", target],
                env={**env, "BENCH_PROFILE_DIR": str(folders[name])}, cwd=ROOT,
                stdout=subprocess.DEVNULL, stderr=open(data / f"{name}.log", "w"))
        for port in ports.values():
            _wait(port)
        connection = http.client.HTTPConnection("127.0.0.1", ports["api"])
        connection.request("GET", "/api/v1/config")
        config = json.loads(connection.getresponse().read())
        bodies = _bodies(config, args.requests)
        for name, port in ports.items():
            rate, failures = _load(port, bodies, args.threads)
            assert failures == 0, f"{name}: {failures} failed requests"
            print(f"{name}: {rate:.0f} requests per second while profiled")
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=60)
        _drop(app_db)
        _drop(base_db)
    for name, folder in folders.items():
        files = sorted(str(path) for path in folder.iterdir())
        if not files:
            continue
        stats = pstats.Stats(*files)
        stats.files = []  # type: ignore[attr-defined]  # not the list of files, please
        print(f"\n== {name}: {len(files)} threads profiled")
        print(f"== {name}: own CPU time by package, ms per request")
        for package, seconds in sorted(_by_package(stats).items(), key=lambda kv: -kv[1])[:15]:
            print(f"  {seconds * 1000 / args.requests:6.3f}  {package}")
        stats.sort_stats(args.sort).print_stats(args.top)
        if args.callers:
            stats.print_callers(args.callers)


if __name__ == "__main__":
    main()
