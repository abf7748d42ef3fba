"""Driving real Chromium: where it is and how it starts, the app under a real HTTP server,
pages that note their errors and requests, and the steps several browser tests take."""

from __future__ import annotations

import contextlib
import io
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

import crypto
from integrity.config import Settings
from tests.conftest import ChannelSetup, make_settings, totp_now

CHROMIUM = os.environ.get("INTEGRITY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


# The reporter pages refuse an Argon2id cost or a pad block below the floors built into them
# (static/js/floors.mjs), so the apps the browser tests serve ask for exactly the floors. The
# tests outside tests/browser keep the cheap costs of tests/conftest.py.
FLOOR_PROTOCOL = {"kdf_opslimit": 3, "kdf_memlimit": 67108864, "pad_block": 1024}


def browser_settings(tmp_path: Any, database_url: str, **overrides: object) -> Settings:
    """``make_settings`` at the floors; ``overrides`` still win (a test of the refusal)."""
    return make_settings(tmp_path, database_url, **{**FLOOR_PROTOCOL, **overrides})


# --- the server, with every request body it receives recorded ---------------------------


@dataclass
class Received:
    """A request as the server received it."""

    method: str
    path: str
    query: str
    body: bytes


class RecordingApp:
    """WSGI middleware that keeps each request's method, path, query and body."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.received: list[Received] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        with self._lock:
            self.received.append(Received(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                                          environ.get("QUERY_STRING", ""), body))
        return self.app(environ, start_response)

    def posts(self, path: str) -> list[Received]:
        return [r for r in self.received if r.method == "POST" and r.path == path]

    def appends(self) -> list[Received]:
        """The bodies of resumable uploads (``PATCH /api/v1/uploads/<id>``), in order."""
        return [r for r in self.received
                if r.method == "PATCH" and r.path.startswith("/api/v1/uploads/")]


_BODY = "tests.body"


class _Body:
    """What the application returned, closed once however many times it is asked to be."""

    def __init__(self, body: Any) -> None:
        self.body = body
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if hasattr(self.body, "close"):
                self.body.close()


class _ClosingHandler(WSGIRequestHandler):
    """Werkzeug's request handler, closing the application's answer even when the client hung
    up while the server drained the request: werkzeug then skips the close, and a file being
    sent stays open until the garbage collector finds it (a ResourceWarning in a later test)."""

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            environ = getattr(self, "environ", None)
            body = environ.pop(_BODY, None) if environ is not None else None
            if body is not None:
                body.close()


def make_test_server(app: Any, port: int = 0) -> BaseWSGIServer:
    """A threaded werkzeug server for ``app`` on loopback that closes every answer."""

    def remembering(environ: dict[str, Any], start_response: Any) -> _Body:
        body = environ[_BODY] = _Body(app(environ, start_response))
        return body

    return make_server("127.0.0.1", port, remembering, threaded=True,
                       request_handler=_ClosingHandler)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` (any WSGI application) under a real HTTP server on a free loopback port."""
    server = make_test_server(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


# --- pages ---------------------------------------------------------------------------------


@dataclass
class Sent:
    """What the page sent, as Chromium saw it."""

    url: str
    method: str
    body: bytes | None


def watched_page(context: Any) -> Any:
    """A new page of ``context`` that notes its console errors, uncaught errors and requests
    (``page.console_errors``, ``page.sent``)."""
    page = context.new_page()
    page.console_errors = []
    page.sent = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    page.on("request", lambda r: page.sent.append(Sent(r.url, r.method, r.post_data_buffer)))
    return page


def sign_in_in_browser(page: Any, base_url: str, account: Any) -> None:
    """Both sign-in steps, typed into the pages as a person would."""
    page.goto(f"{base_url}/staff/login")
    page.wait_for_selector('#login-form[data-ready="1"]')
    page.get_by_label("E-mail address").fill(account.email)
    page.get_by_label("Passphrase").fill(account.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/staff/login/code")
    page.get_by_label("Six-digit code from your authenticator app").fill(
        totp_now(account.totp_secret))
    page.get_by_role("button", name="Sign in").click()


def staff_wrapping_key(app: Flask, user: Any, passphrase: str, scheme: int = 2) -> bytes:
    """The key an inspector's private key is wrapped under: what the passphrase gives, completed
    with the server's share for scheme 2 (docs/inspector-keys.md)."""
    own = crypto.derive_staff_keys(passphrase, user.login_salt, user.login_opslimit,
                                   user.login_memlimit).wrapping_key
    if scheme == 1:
        return own
    return crypto.shared_wrapping_key(
        own, crypto.wrap_share(app.extensions["integrity.installation_secret"], user.id))


def inspector_with_a_case(app: Flask, db: Any, make_account: Any, channel: ChannelSetup, text: str,
                          scheme: int = 2) -> tuple[Any, crypto.KeyPair]:
    """An inspector whose key was made in the browser (wrapped under ``scheme``), receiving
    ``channel``, and one report filed there saying ``text``."""
    from argon2 import PasswordHasher
    from sqlalchemy import select

    from integrity.models import Channel, Role, User
    from tests.protocol_client import ReporterClient

    account = make_account(Role.INSPECTOR, key=False)
    user = db.get(User, account.id)
    pair = crypto.KeyPair.generate()
    user.public_key = pair.public_key
    user.wrapped_secret_key = crypto.wrap_private_key(
        pair.secret_key, staff_wrapping_key(app, user, account.password, scheme))
    user.key_scheme = scheme
    if scheme == 1:
        # The sign-in hash as stored before the pepper: of the login value itself.
        keys = crypto.derive_staff_keys(account.password, user.login_salt, user.login_opslimit,
                                        user.login_memlimit)
        user.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(
            crypto.login_value(keys))
    row = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    assert row is not None
    row.recipients.append(user)  # the channel held in a name until the commit
    db.commit()
    ReporterClient(app.test_client()).file(channel.slug, {"what": text})
    return account, pair


# The reporting worker's address: its name carries the content's version (asset_url).
WORKER_SCRIPT = re.compile(r"/static/dist/worker\.[0-9a-f]{16}\.js$")


# The keyring as a page would reach it (static/js/keyring-client.mjs): one call, its answer.
_KEYRING_CALL = """async ([op, args]) => {
  const worker = new SharedWorker(document.body.dataset.keyring,
    { name: "integrity-keyring", extendedLifetime: true });
  return new Promise((resolve, reject) => {
    worker.port.onmessage = (event) => {
      if ("progress" in event.data) return;
      const { error, result } = event.data;
      if (error) reject(new Error(`${error.name}: ${error.message}`));
      else resolve(result);
    };
    worker.port.postMessage({ ...args, id: 1, op });
  });
}"""


def keyring_call(page: Any, op: str, args: dict[str, Any] | None = None) -> Any:
    """Call ``op`` in the keyring of ``page``'s browser context (the page must be a staff page,
    whose ``<body>`` names the keyring) and return its answer."""
    return page.evaluate(_KEYRING_CALL, [op, args or {}])


# Every text and byte string a page's globals reach, three properties deep, as base64url: a page
# that held a key in a global, or in an object a global leads to, would show it here.
PAGE_GLOBALS = """() => {
  const found = [];
  const seen = new Set();
  const b64 = (bytes) => btoa(String.fromCharCode(...bytes))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const visit = (value, depth) => {
    if (typeof value === "string") { found.push(value); return; }
    if (ArrayBuffer.isView(value)) {
      found.push(b64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)));
      return;
    }
    if (value instanceof ArrayBuffer) { found.push(b64(new Uint8Array(value))); return; }
    // Functions (the platform's constructors and their prototypes) hold no page data.
    if (depth > 3 || value === null || typeof value !== "object" || seen.has(value)) return;
    if (value instanceof Node) return;
    seen.add(value);
    let names = [];
    try { names = Object.getOwnPropertyNames(value); } catch { return; }
    for (const name of names) {
      let item;
      try { item = value[name]; } catch { continue; }
      if (item instanceof Promise) item.catch(() => {});
      visit(item, depth + 1);
    }
  };
  visit(window, 0);
  return found;
}"""


def stored_in_page(page: Any) -> dict[str, Any]:
    """What the page's origin keeps on the device: localStorage, sessionStorage, the names of
    its IndexedDB databases, and its cookies readable from script."""
    return page.evaluate("""async () => ({
      local: Object.fromEntries(Object.entries(localStorage)),
      session: Object.fromEntries(Object.entries(sessionStorage)),
      indexedDB: (await indexedDB.databases()).map((db) => db.name),
      cookies: document.cookie,
    })""")


# --- a report filed in the page ------------------------------------------------------------

RECEIPT_TEXT = re.compile(r"^\d{4} \d{4} \d{4} \d{4} \d{4}$")
REPORT_MARKER = "MARKER-REPORT-7f3a9c"
FILE_MARKER = b"MARKER-FILE-CONTENT-51d0e2"


def file_payload(marker: bytes, size: int = 150 * 1024) -> bytes:
    """``size`` bytes of a known pattern with ``marker`` in the middle."""
    pattern = bytes((i * 31 + 7) % 251 for i in range(size))
    middle = size // 2
    return pattern[:middle] + marker + pattern[middle + len(marker):]


EVIDENCE = file_payload(FILE_MARKER)
WHAT = f"  The officer on lane 4 took cash to wave lorries through. {REPORT_MARKER}  "
EXPECTED_ANSWERS = {
    "what": WHAT.strip(),
    "when": "2024-05-17",
    "where": "Lane 4, night shift",
    "ongoing": "yes",
    "how_known": "I saw it myself",
    "evidence": ["Documents", "Messages"],
}


def fill_report_form(page: Any, slug: str) -> None:
    """One answer of each kind (one question left empty), a category and a file."""
    page.fill("#q-what", WHAT)
    page.fill("#q-when", "2024-05-17")
    page.fill("#q-where", "  Lane 4, night shift ")
    page.check("input[name=q-ongoing][value=yes]")
    page.check("input[name=q-how_known][value='I saw it myself']")
    page.check("input[name=q-evidence][value=Documents]")
    page.check("input[name=q-evidence][value=Messages]")
    page.select_option("#category", "bribery")
    page.set_input_files("#files", files=[
        {"name": "evidence.bin", "mimeType": "application/octet-stream", "buffer": EVIDENCE},
    ])


def file_with_javascript(page: Any, base_url: str, channel: ChannelSetup, exclude: str) -> str:
    """File the report in protected mode; returns the receipt the page shows."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/report/{channel.slug}")
    mode = page.locator("#mode")
    expect(mode).to_have_attribute("data-mode", "browser")
    expect(mode).to_contain_text("Protected mode")
    expect(page.locator("#mode-warning")).to_be_hidden()
    fill_report_form(page, channel.slug)
    page.check(f"input[name=exclude][value='{exclude}']")
    page.get_by_role("button", name="Send the report").click()
    panel = page.locator("#receipt-panel")
    expect(panel).to_be_visible()
    expect(panel).to_be_focused()
    expect(page.locator("#report-form")).to_be_hidden()
    expect(page.locator("#copy-receipt")).to_be_visible()
    expect(page.locator("#print-receipt")).to_be_visible()
    text = page.locator("#receipt").inner_text().strip()
    assert RECEIPT_TEXT.match(text), text
    return crypto.normalise_receipt(text)
