"""Browser benchmark: receipt derivation in headless Chromium through the page's real code
path (the Web Worker, started from a Blob URL under the page's Content-Security-Policy)
beside PyNaCl native, and attachment sealing throughput in the worker, for a file picked in
the page's file input (read from disk, as a reporter's photo is).

    .venv/bin/python bench/browser.py [--rounds 7] [--megabytes 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import crypto  # noqa: E402
from integrity.app import create_app  # noqa: E402
from integrity.db import new_session  # noqa: E402
from integrity.migrate import upgrade  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Runs in the page: start the worker as the page does, then time one operation.
START_WORKER = """async () => {
  const form = document.querySelector('[data-worker]');
  const url = form.dataset.worker, integrity = form.dataset.workerIntegrity;
  const response = await fetch(url, integrity ? {integrity} : {});
  const blobUrl = URL.createObjectURL(await response.blob());
  window.benchWorker = new Worker(blobUrl);
  window.benchCall = (message, transfer = []) => new Promise((resolve, reject) => {
    const id = Math.random();
    const listener = (event) => {
      if (event.data.id !== id || event.data.progress !== undefined) return;
      window.benchWorker.removeEventListener('message', listener);
      event.data.error ? reject(new Error(event.data.error.message)) : resolve(event.data.result);
    };
    window.benchWorker.addEventListener('message', listener);
    window.benchWorker.postMessage({...message, id}, transfer);
  });
  await window.benchCall({op: 'ping'}).catch(() => null);
}"""

DERIVE = """async ([receipt, salt, opslimit, memlimit]) => {
  const started = performance.now();
  await window.benchCall({op: 'derive', receipt, salt, opslimit, memlimit});
  return performance.now() - started;
}"""

# The file a reporter picks: read from disk through the page's own file input.
SEAL_FILE = """async () => {
  const file = document.querySelector('input[type=file]').files[0];
  const started = performance.now();
  const result = await window.benchCall({op: 'seal', file});
  return [performance.now() - started, result.blob.size];
}"""

# The same bytes as a Blob made in the page just before: Chromium is still handing it to the
# browser process when sealing starts, so the first read waits for that.
SEAL_BLOB = """async (megabytes) => {
  const bytes = new Uint8Array(megabytes * 1024 * 1024);
  for (let i = 0; i < bytes.length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, i + 65536));
  }
  const file = new Blob([bytes]);
  const started = performance.now();
  const result = await window.benchCall({op: 'seal', file});
  return [performance.now() - started, result.blob.size];
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--megabytes", type=int, default=50)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from integrity import demo

    folder = Path(tempfile.mkdtemp(prefix="integrity-bench-"))
    url = f"sqlite:///{folder / 'integrity.db'}"
    upgrade(url)
    app = create_app({"data_dir": folder, "database_url": url, "secret_key": "bench"})
    session = new_session(app)
    demo.load(session, app.extensions["integrity.hasher"])
    session.commit()
    session.close()
    settings = app.extensions["integrity.settings"]
    salt = bytes(range(16))
    receipt = "12345678901234567890"
    ops, mem = settings.kdf_opslimit, settings.kdf_memlimit

    def derive_native() -> float:
        started = time.perf_counter()
        crypto.derive_reporter_keys(receipt, salt, ops, mem)
        return (time.perf_counter() - started) * 1000

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/report/integrity")
            page.evaluate(START_WORKER)
            derive_args = [receipt, crypto.b64encode(salt), ops, mem]
            page.evaluate(DERIVE, derive_args)  # warm-up
            derive_native()
            # Native and browser side by side in each round, so that both meet the same
            # machine; the ratio is the median of the rounds' ratios.
            native, browser_ms = [], []
            for _ in range(args.rounds):
                native.append(derive_native())
                browser_ms.append(page.evaluate(DERIVE, derive_args))
            picked = folder / "photo.jpg"
            picked.write_bytes(os.urandom(args.megabytes * 1024 * 1024))
            page.set_input_files("input[type=file]", str(picked))
            seals = [page.evaluate(SEAL_FILE) for _ in range(args.rounds)]
            blobs = [page.evaluate(SEAL_BLOB, args.megabytes) for _ in range(args.rounds)]
            seal_ms = statistics.median(ms for ms, _ in seals)
            blob_ms = statistics.median(ms for ms, _ in blobs)
            sealed_size = seals[0][1]
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    n, b = statistics.median(native), statistics.median(browser_ms)
    ratios = [browser / native for native, browser in zip(native, browser_ms, strict=True)]
    print(f"Argon2id derivation (ops {ops}, {mem // 1048576} MiB), median of {args.rounds}:")
    print(f"  PyNaCl native            : {n:8.1f} ms")
    print(f"  Chromium, page worker    : {b:8.1f} ms")
    print(f"  ratio browser / native   : {statistics.median(ratios):8.2f}  (goal <= 3; "
          "median of the rounds' ratios)")
    print("    each round: " + " ".join(f"{ratio:.2f}" for ratio in ratios))
    rate = args.megabytes / (seal_ms / 1000)
    print(f"Sealing a {args.megabytes} MiB file in the worker, median of {args.rounds}: "
          f"{seal_ms:.0f} ms, {rate:.0f} MiB/s = {rate * 1.048576:.0f} MB/s "
          f"(sealed {sealed_size} bytes; goal >= 150 MB/s)")
    print("    each round, MB/s: " + " ".join(
        f"{args.megabytes * 1.048576 / (ms / 1000):.0f}" for ms, _ in seals))
    rate = args.megabytes / (blob_ms / 1000)
    print(f"  the same from a Blob made in the page just before: {blob_ms:.0f} ms, "
          f"{rate * 1.048576:.0f} MB/s")


if __name__ == "__main__":
    main()
