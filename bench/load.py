"""Load and crash run: sealed reports filed through the protocol API by concurrent clients
against `integrity serve --workers 2` (gunicorn) on PostgreSQL, every receipt's mailbox opened
and every report opened with the inspector's key; optionally with the workers killed
(`kill -9`) during the run, to show that no report answered 201 is lost.

    .venv/bin/python bench/load.py [--reports 10000] [--clients 50] [--kill K]
                                   [--attachment-bytes B] [--keep]

Each client files as a real one does: /config once, then per report the receipt's keys, its
attachment (with --attachment-bytes), the sealed report, a proof of work from /pow, and the
filing. On a connection error it sends the same sealed request again (with a fresh proof of
work when the server says the old one is spent). When such a retry is refused with 409 (the
lookup is taken) or 400 (the attachments are claimed), the client opens the mailbox: if it
opens, the attempt that got no answer was stored. Exit status 1 when a report answered 201 (or
found stored so) is missing or does not open, 2 when a client gave up on a filing.

Needs PostgreSQL at INTEGRITY_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1/test).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import crypto  # noqa: E402
from bench.ingest import BIN, _database, _drop, _free_port, _url, _wait  # noqa: E402
from crypto import pow as work  # noqa: E402
from integrity.demo import DEMO_INSPECTOR_KEY  # noqa: E402
from tests.protocol_client import ReporterClient, Upload  # noqa: E402

# Cheap receipt derivation, proof of work and staff hashing (as in tests/conftest.py), and
# rate limits no run reaches: every client of the run shares one address.
UNLIMITED = "10000000 per hour"
SETTINGS = {
    "INTEGRITY_KDF_OPSLIMIT": "1", "INTEGRITY_KDF_MEMLIMIT": "65536", "INTEGRITY_POW_BITS": "4",
    "INTEGRITY_ARGON2_TIME_COST": "1", "INTEGRITY_ARGON2_MEMORY_COST": "8",
    "INTEGRITY_ARGON2_PARALLELISM": "1",
    **{f"INTEGRITY_RATELIMIT_{name}": UNLIMITED
       for name in ("REPORTS", "UPLOADS", "MESSAGES", "MAILBOX_FAILURES", "MAILBOX_OPENS",
                    "POW")},
}
# What a client treats as "the server went away": it tries again.
CONNECTION_ERRORS = (OSError, http.client.HTTPException)
GIVE_UP_SECONDS = 300


class GaveUp(Exception):
    """A request that got no answer before GIVE_UP_SECONDS."""


class Errors:
    """What clients saw instead of the answer they wanted, counted by kind."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, kind: str) -> None:
        with self._lock:
            self.counts[kind] += 1


def _kind(error: BaseException) -> str:
    return f"connection: {type(error).__name__}"


@dataclass
class Answer:
    """A response, with the test client's interface that ReporterClient expects."""

    status_code: int
    body: bytes

    def get_json(self) -> Any:
        return json.loads(self.body)

    def get_data(self, as_text: bool = False) -> Any:
        return self.body.decode() if as_text else self.body


class Http:
    """One request per connection to the server on ``port``; connection errors and 5xx
    answers are counted in ``errors`` and the request is sent again."""

    def __init__(self, port: int, errors: Errors) -> None:
        self.port, self.errors = port, errors

    def once(self, method: str, path: str, body: bytes | None = None,
             content_type: str | None = None) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            headers = {"Content-Type": content_type} if content_type else {}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Answer(response.status, response.read())
        finally:
            connection.close()

    def retrying(self, send: Callable[[], Answer]) -> Answer:
        deadline = time.monotonic() + GIVE_UP_SECONDS
        pause = 0.05
        while True:
            try:
                answer = send()
                if answer.status_code < 500:
                    return answer
                self.errors.add(f"HTTP {answer.status_code}")
            except CONNECTION_ERRORS as error:
                self.errors.add(_kind(error))
            if time.monotonic() > deadline:
                raise GaveUp
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def get(self, path: str) -> Answer:
        return self.retrying(lambda: self.once("GET", path))

    def post(self, path: str, json: Any = None, data: bytes | None = None,
             content_type: str | None = None) -> Answer:
        if json is not None:
            data, content_type = _json_bytes(json), "application/json"
        return self.retrying(lambda: self.once("POST", path, data, content_type))


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


@dataclass
class Filing:
    """One report of the run, from the client's side."""

    index: int
    marker: str
    receipt: str = ""
    keys: crypto.ReporterKeys | None = None
    attachments: dict[str, str] = field(default_factory=dict)  # id -> SHA-256 of the plain file
    # "201", "stored by an earlier attempt", "gave up", "HTTP <status>"
    outcome: str = "not sent"
    filing_ms: float = 0.0
    mailbox_ms: float = 0.0
    opened: bool = False  # the mailbox answered and the reporter's copy opened

    @property
    def received(self) -> bool:
        """The server said it has the report."""
        return self.outcome in ("201", "stored by an earlier attempt")


@dataclass
class Server:
    port: int
    master: int
    database: str


@contextlib.contextmanager
def installation(keep: bool) -> Iterator[Server]:
    """A fresh database and data folder, `integrity init` and `integrity demo`, served by
    gunicorn with two workers; all removed afterwards unless ``keep``."""
    database = _database()
    data = Path(tempfile.mkdtemp(prefix="integrity-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRITY_")}
    env.update({"INTEGRITY_DATA_DIR": str(data), "INTEGRITY_DATABASE_URL": _url(database),
                **SETTINGS})
    server = None
    try:
        for command in ("init", "demo"):
            done = subprocess.run([str(BIN / "integrity"), command], env=env,
                                  capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"integrity {command} failed:\n{done.stderr}")
        port = _free_port()
        server = subprocess.Popen(
            [str(BIN / "integrity"), "serve", "--port", str(port), "--workers", "2"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(data / "server.log", "w"))
        _wait(port)
        yield Server(port, server.pid, database)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        if keep:
            print(f"kept: database {database}, data folder {data}")
        else:
            _drop(database)
            shutil.rmtree(data, ignore_errors=True)


def workers(master: int) -> set[int]:
    """The gunicorn workers: the master's child processes."""
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        children = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:  # the parent's pid
                children.add(int(entry.name))
        return children
    return {child.pid for child in psutil.Process(master).children()}


class Killer(threading.Thread):
    """Kills every worker (`kill -9`) ``times`` times, after 1/(times+1), 2/(times+1) ... of
    the filings have their answer, and waits for the master to start new ones each time."""

    def __init__(self, master: int, times: int, total: int) -> None:
        super().__init__(daemon=True)
        self.master, self.total = master, total
        self.thresholds = [total * n // (times + 1) for n in range(1, times + 1)]
        self.done = 0
        self.killed: list[int] = []
        self._changed = threading.Condition()

    def progress(self) -> None:
        with self._changed:
            self.done += 1
            self._changed.notify()

    def run(self) -> None:
        for threshold in self.thresholds:
            with self._changed:
                self._changed.wait_for(lambda t=threshold: self.done >= t)
            victims = self._live_workers(set())
            for pid in victims:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.killed.extend(victims)
            self._live_workers(victims)

    def _live_workers(self, gone: set[int]) -> set[int]:
        """The master's two workers, none of ``gone`` (waits up to a minute for them)."""
        deadline = time.monotonic() + 60
        while True:
            found = workers(self.master) - gone
            if len(found) >= 2 or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def file_reports(port: int, channel: str, filings: list[Filing], attachment_bytes: int,
                 errors: Errors, progress: Callable[[], None]) -> None:
    """One client: files ``filings`` one after the other (it reads /config once)."""
    http = Http(port, errors)
    client = ReporterClient(http)
    for filing in filings:
        try:
            uploads = []
            if attachment_bytes:
                data = os.urandom(attachment_bytes)
                uploads.append(Upload("evidence.bin", "application/octet-stream", data))
            sealed = client.report_body(channel, {"what": filing.marker}, uploads=uploads)
            filing.receipt, filing.keys = sealed.receipt, sealed.keys
            for attachment_id, upload in zip(sealed.attachment_ids, uploads, strict=True):
                filing.attachments[attachment_id] = hashlib.sha256(upload.data).hexdigest()
            started = time.perf_counter()
            filing.outcome = _send(http, client, sealed.body, errors)
            filing.filing_ms = (time.perf_counter() - started) * 1000
        except GaveUp:
            filing.outcome = "gave up"
        progress()


def _send(http: Http, client: ReporterClient, body: dict[str, Any], errors: Errors) -> str:
    """File ``body`` until the server answers; the outcome."""
    body = dict(body)
    retried = False
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        if client.config["pow_bits"] and "pow" not in body:
            challenge = http.get("/api/v1/pow").get_json()
            nonce = work.solve_pow(crypto.b64decode(challenge["challenge"]), challenge["bits"])
            body["pow"] = {"challenge": challenge["challenge"], "nonce": nonce}
        try:
            answer = http.once("POST", "/api/v1/reports", _json_bytes(body), "application/json")
        except CONNECTION_ERRORS as error:
            errors.add(_kind(error))
            retried = True
            time.sleep(0.05)
            continue
        if answer.status_code == 201:
            return "201"
        if answer.status_code in (400, 409) and retried and _stored(http, body):
            # An attempt that got no answer was stored: its lookup is taken (409), or, checked
            # first, its attachments are claimed (400). The mailbox tells which it is.
            errors.add(f"{answer.status_code} after retry, stored by an earlier attempt")
            return "stored by an earlier attempt"
        if answer.status_code == 429 and retried:
            # The attempt that got no answer spent this proof of work: a fresh one.
            errors.add("429 proof of work spent by an earlier attempt")
            del body["pow"]
            continue
        if answer.status_code >= 500:
            errors.add(f"HTTP {answer.status_code}")
            retried = True
            time.sleep(0.05)
            continue
        errors.add(f"HTTP {answer.status_code} {answer.body[:80]!r}")
        return f"HTTP {answer.status_code}"
    raise GaveUp


def _stored(http: Http, body: dict[str, Any]) -> bool:
    """Whether the report with this body's lookup is stored (its mailbox opens)."""
    return http.post("/api/v1/mailbox", json={"lookup": body["lookup"]}).status_code == 200


def open_mailboxes(port: int, pad_block: int, filings: list[Filing], errors: Errors) -> None:
    """One client: opens each receipt's mailbox, the report in it and its attachments."""
    http = Http(port, errors)
    for filing in filings:
        assert filing.keys is not None
        lookup = {"lookup": crypto.b64encode(filing.keys.lookup)}
        started = time.perf_counter()
        try:
            answer = http.post("/api/v1/mailbox", json=lookup)
        except GaveUp:
            continue
        filing.mailbox_ms = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            errors.add(f"mailbox HTTP {answer.status_code}")
            continue
        report = answer.get_json()["report"]
        try:
            document = crypto.open_document(
                crypto.b64decode(report["payload"]), crypto.b64decode(report["key_slot"]),
                filing.keys.secret_key, pad_block)
            filing.opened = (document["answers"]["what"] == filing.marker
                             and _attachments_open(http, lookup, document, filing))
        except (crypto.CryptoError, KeyError, ValueError, GaveUp):
            filing.opened = False


def _attachments_open(http: Http, lookup: dict[str, str], document: dict[str, Any],
                      filing: Filing) -> bool:
    """Every attachment of the report downloads and opens to the file that was sent."""
    entries = document["attachments"]
    if {entry["id"] for entry in entries} != set(filing.attachments):
        return False
    for entry in entries:
        answer = http.post("/api/v1/mailbox/attachment", json={**lookup, "id": entry["id"]})
        plain = io.BytesIO()
        crypto.open_file(io.BytesIO(answer.body), plain, crypto.b64decode(entry["key"]),
                         entry["size"])
        if hashlib.sha256(plain.getvalue()).hexdigest() != filing.attachments[entry["id"]]:
            return False
    return True


def stored_reports(database: str) -> int:
    with psycopg.connect(_url(database)) as conn:
        row = conn.execute("SELECT count(*) FROM reports").fetchone()
    return int(row[0]) if row else 0


def inspector_markers(database: str, reader: str, pad_block: int) -> Counter[str]:
    """The markers of the stored reports that the inspector's key opens."""
    markers: Counter[str] = Counter()
    with psycopg.connect(_url(database)) as conn:
        rows = conn.execute(
            "SELECT r.payload, k.slot FROM reports r JOIN key_slots k ON k.report_id = r.id "
            "WHERE k.message_id IS NULL AND k.reader = %s", (reader,))
        for payload, slot in rows:
            with contextlib.suppress(crypto.CryptoError, KeyError, ValueError):
                document = crypto.open_document(bytes(payload), bytes(slot),
                                                DEMO_INSPECTOR_KEY.secret_key, pad_block)
                markers[str(document["answers"].get("what"))] += 1
    return markers


def in_parallel(target: Callable[[list[Filing]], None], shares: list[list[Filing]]) -> float:
    """Run ``target(share)`` for each share on a thread of its own; the seconds it took."""
    started = time.perf_counter()
    threads = [threading.Thread(target=target, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def table(rows: list[tuple[str, list[float], float]]) -> str:
    lines = [f"{'':18} {'count':>7} {'per second':>11} {'p50 ms':>9} {'p99 ms':>9}"]
    for name, latencies, seconds in rows:
        lines.append(f"{name:18} {len(latencies):7d} {len(latencies) / seconds:11.1f} "
                     f"{percentile(latencies, 0.50):9.1f} {percentile(latencies, 0.99):9.1f}")
    return "\n".join(lines)


def run(args: argparse.Namespace, server: Server) -> int:
    errors = Errors()
    config = Http(server.port, errors).get("/api/v1/config").get_json()
    inspector_key = crypto.b64encode(DEMO_INSPECTOR_KEY.public_key)
    channel, reader = next(
        (c["slug"], r["id"]) for c in config["channels"] for r in c["recipients"]
        if r["public_key"] == inspector_key)
    filings = [Filing(n, f"load run report {n} {os.urandom(8).hex()}")
               for n in range(args.reports)]
    shares = [filings[n::args.clients] for n in range(args.clients)]
    demo_reports = stored_reports(server.database)
    killer = Killer(server.master, args.kill, args.reports)
    killer.start()
    filing_seconds = in_parallel(
        lambda share: file_reports(server.port, channel, share, args.attachment_bytes, errors,
                                   killer.progress), shares)
    killer.join()
    received = [f for f in filings if f.received]
    pad_block = config["pad_block"]
    mailbox_seconds = in_parallel(
        lambda share: open_mailboxes(server.port, pad_block, share, errors),
        [received[n::args.clients] for n in range(args.clients)])
    stored = stored_reports(server.database) - demo_reports
    markers = inspector_markers(server.database, reader, pad_block)
    lost = [f for f in received if not f.opened or markers[f.marker] != 1]
    outcomes = Counter(f.outcome for f in filings)
    print(table([("filing", [f.filing_ms for f in received], filing_seconds),
                 ("mailbox opening", [f.mailbox_ms for f in received if f.mailbox_ms],
                  mailbox_seconds)]))
    print(f"clients {args.clients}, attachment bytes {args.attachment_bytes}, "
          f"kill -9 rounds {len(killer.thresholds)}, workers killed {len(killer.killed)}")
    print("outcomes: " + ", ".join(f"{kind} {count}" for kind, count in sorted(outcomes.items())))
    opened = sum(markers[f.marker] for f in filings)
    print(f"reports stored by the run {stored}, opened with the inspector's key {opened}")
    print(f"answered 201 but missing or unreadable: {len(lost)}")
    print("client errors: " + (", ".join(f"{kind} {count}" for kind, count in
                                         sorted(errors.counts.items())) or "none"))
    if lost:
        return 1
    return 2 if outcomes["gave up"] else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--kill", type=int, default=0, metavar="K",
                        help="kill -9 the gunicorn workers K times spread over the filings")
    parser.add_argument("--attachment-bytes", type=int, default=0, metavar="B",
                        help="one attachment of B random bytes with each report")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database and the data folder")
    args = parser.parse_args()
    with installation(args.keep) as server:
        status = run(args, server)
    sys.exit(status)


if __name__ == "__main__":
    main()
