"""Ingest benchmark: sealed reports per second through the real API under gunicorn (2 workers)
on PostgreSQL, beside a bare Flask JSON endpoint on the same stack, in the same run; and the
server's memory while it receives a 50 MB attachment.

    .venv/bin/python bench/ingest.py [--requests 6000] [--rounds 6] [--threads 8] [--cpu]
                                     [--server-threads N]

With --cpu it also prints the CPU time each request costs the server's workers, their
PostgreSQL backends and the load-generating client: on a small machine where all three share
the cores, these figures are steadier than the rates.

Needs PostgreSQL at INTEGRITY_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1/test).
"""

from __future__ import annotations

import argparse
import functools
import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import crypto  # noqa: E402

BIN = Path(sys.executable).parent
POSTGRES = os.environ.get("INTEGRITY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def _database() -> str:
    name = f"integrity_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return name


def _drop(name: str) -> None:
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _url(name: str) -> str:
    return POSTGRES.rsplit("/", 1)[0] + "/" + name


def _bodies(config: dict, count: int) -> list[bytes]:
    """Sealed reports as a browser would send them (the client-side work is done up front)."""
    channel = next(c for c in config["channels"] if c["slug"] == "integrity")
    readers = {r["id"]: crypto.b64decode(r["public_key"]) for r in channel["recipients"]}
    bodies = []
    for _ in range(count):
        reporter = crypto.KeyPair.generate()
        lookup = os.urandom(32)
        sealed = crypto.seal_document(
            {"answers": {"what": "x" * 600}, "attachments": []},
            {**readers, "reporter": reporter.public_key}, config["pad_block"])
        bodies.append(json.dumps({
            "protocol": 1, "channel": "integrity", "category": "bribery", "org_unit": None,
            "lookup": crypto.b64encode(lookup),
            "reporter_public_key": crypto.b64encode(reporter.public_key),
            "payload": crypto.b64encode(sealed.payload),
            "key_slots": {k: crypto.b64encode(v) for k, v in sealed.key_slots.items()},
            "excluded": [], "attachments": []}).encode())
    return bodies


def _load(port: int, bodies: list[bytes], threads: int) -> tuple[float, int]:
    """Send every body once over keep-alive connections; returns (requests/s, failures)."""
    chunks = [bodies[i::threads] for i in range(threads)]
    failures = [0] * threads

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for body in chunks[index]:
            connection.request("POST", "/api/v1/reports", body=body,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 201:
                failures[index] += 1
        connection.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return len(bodies) / (time.perf_counter() - started), sum(failures)


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def _workers(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time so far of ``pids`` (processes that have ended count nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _backends(database: str) -> list[int]:
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                            (database,)).fetchall()
    return [pid for (pid,) in rows]


class CpuMeter:
    """CPU milliseconds per request of the workers, their database backends and the client."""

    def __init__(self, master: int, database: str) -> None:
        self.master, self.database = master, database
        self.totals = {"workers": 0.0, "postgres": 0.0, "client": 0.0}
        self.requests = 0

    def _snapshot(self) -> dict[str, float]:
        times = os.times()
        return {"workers": _cpu_seconds(_workers(self.master)),
                "postgres": _cpu_seconds(_backends(self.database)),
                "client": times.user + times.system}

    def measure(self, run: Callable[[], tuple[float, int]], requests: int) -> tuple[float, int]:
        before = self._snapshot()
        result = run()
        after = self._snapshot()
        for name in self.totals:
            self.totals[name] += after[name] - before[name]
        self.requests += requests
        return result

    def summary(self) -> str:
        parts = [f"{name} {seconds * 1000 / self.requests:.2f}"
                 for name, seconds in self.totals.items()]
        return ", ".join(parts) + f", total {sum(self.totals.values()) * 1000 / self.requests:.2f}"


def _upload_memory(port: int, master: int) -> tuple[float, float]:
    """Peak resident memory growth of the workers while one 50 MB attachment arrives."""
    sealed = io.BytesIO()
    crypto.seal_file(io.BytesIO(os.urandom(50_000_000)), sealed)  # under the 50 MiB limit
    body = sealed.getvalue()
    workers = _workers(master)
    # Warm each worker with a small upload so that first-request imports are not counted.
    small = io.BytesIO()
    crypto.seal_file(io.BytesIO(b"warm"), small)
    for _ in range(4):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("POST", "/api/v1/attachments", body=small.getvalue(),
                           headers={"Content-Type": "application/octet-stream"})
        connection.getresponse().read()
        connection.close()
    before = {pid: _rss_kib(pid, "VmRSS:") for pid in workers}
    for pid in workers:  # reset the high-water mark so VmHWM shows this upload's peak
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("POST", "/api/v1/attachments", body=body,
                       headers={"Content-Type": "application/octet-stream"})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 201, response.status
    growth = max(_rss_kib(pid, "VmHWM:") - before[pid] for pid in workers) / 1024
    return len(body) / 1024 / 1024, growth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=6,
                        help="alternations of the two servers (the requests are split among them)")
    parser.add_argument("--server-threads", type=int, default=None,
                        help="threads per worker for both servers (default: the deployment's)")
    parser.add_argument("--cpu", action="store_true",
                        help="also print CPU milliseconds per request, by process")
    args = parser.parse_args()

    app_db, base_db = _database(), _database()
    data = Path(tempfile.mkdtemp(prefix="integrity-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")}
    env.update({"INTEGRITY_DATA_DIR": str(data), "INTEGRITY_DATABASE_URL": _url(app_db),
                "INTEGRITY_POW_BITS": "0", "INTEGRITY_KDF_OPSLIMIT": "1",
                "INTEGRITY_KDF_MEMLIMIT": "65536",
                "INTEGRITY_RATELIMIT_REPORTS": "10000000 per hour",
                "INTEGRITY_RATELIMIT_UPLOADS": "10000000 per hour",
                "BENCH_DATABASE_URL": _url(base_db).replace("postgresql://",
                                                            "postgresql+psycopg://", 1)})
    # Both servers run with the same gunicorn settings: the deployment's, or these threads.
    threads = ["--threads", str(args.server_threads)] if args.server_threads else []
    servers = []
    try:
        for command in (["init"], ["demo"]):
            subprocess.run([str(BIN / "integrity"), *command], env=env, check=True,
                           capture_output=True)
        with psycopg.connect(_url(base_db), autocommit=True) as conn:
            conn.execute("CREATE TABLE baseline_rows (id SERIAL PRIMARY KEY, body BYTEA)")
        app_port, base_port = _free_port(), _free_port()
        servers.append(subprocess.Popen(
            [str(BIN / "integrity"), "serve", "--port", str(app_port), "--workers", "2",
             *threads],
            env=env, stdout=subprocess.DEVNULL, stderr=open(data / "server.log", "w")))
        servers.append(subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "python:integrity.gunicorn_conf", "--workers", "2",
             *threads, "--bind", f"127.0.0.1:{base_port}", "bench.baseline_app:app"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=open(data / "baseline.log", "w")))
        _wait(app_port)
        _wait(base_port)
        connection = http.client.HTTPConnection("127.0.0.1", app_port)
        connection.request("GET", "/api/v1/config")
        config = json.loads(connection.getresponse().read())
        bodies = _bodies(config, args.requests)
        warm = args.requests // 10
        _load(app_port, _bodies(config, warm), args.threads)
        _load(base_port, bodies[:warm], args.threads)
        # Alternate the two, in rounds, each round starting with the other one, so that
        # neither gets a quieter machine; the ratio is the median of the rounds' ratios.
        results: dict[str, list[float]] = {"api": [], "baseline": []}
        meters = {"api": CpuMeter(servers[0].pid, app_db),
                  "baseline": CpuMeter(servers[1].pid, base_db)}
        size = len(bodies) // args.rounds
        order = [("api", app_port), ("baseline", base_port)]
        for round_ in range(args.rounds):
            part = bodies[round_ * size:(round_ + 1) * size]
            for name, port in order if round_ % 2 == 0 else order[::-1]:
                rate, failures = meters[name].measure(
                    functools.partial(_load, port, part, args.threads), len(part))
                assert failures == 0, f"{name}: {failures} failed requests"
                results[name].append(rate)
        ratios = [a / b for a, b in zip(results["api"], results["baseline"], strict=True)]
        api = statistics.median(results["api"])
        baseline = statistics.median(results["baseline"])
        size, growth = _upload_memory(app_port, servers[0].pid)
        print(f"reports filed through /api/v1/reports : {api:8.1f} per second (median)")
        print(f"bare Flask JSON endpoint, same stack   : {baseline:8.1f} per second (median)")
        print(f"ratio api / baseline, median of rounds : {statistics.median(ratios):8.2f}  "
              "(goal >= 0.7)")
        print("  each round: " + " ".join(f"{ratio:.2f}" for ratio in ratios))
        if args.cpu:
            print(f"CPU ms per report filed   : {meters['api'].summary()}")
            print(f"CPU ms per baseline request: {meters['baseline'].summary()}")
        print(f"attachment upload of {size:.1f} MB: worker peak memory grew {growth:.1f} MB "
              "(goal < 10)")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        if os.environ.get("BENCH_DEBUG"):
            print((data / "server.log").read_text()[-3000:], (data / "baseline.log").read_text())
        _drop(app_db)
        _drop(base_db)


if __name__ == "__main__":
    main()
