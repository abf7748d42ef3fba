"""Reach benchmark: the reporting pages on a poor link and a cheap phone, in headless Chromium
with network emulation (400 ms round trip, 50 kB/s each way) and the CPU slowed four times, on
a cold cache and then a warm one, beside the no-JavaScript path on the same link.

    .venv/bin/python bench/reach.py [--rtt-ms 400] [--kbps 50] [--cpu 4] [--photo-kb 1024]

Prints: bytes on the wire for the report page and everything needed to file; the time until
the form can be typed in and until protection is ready; the time from pressing send to the
receipt after 8 s of typing (text only, and with a photo) and for a press 1.5 s after opening;
the time to open the mailbox with a receipt; and the same page filed without JavaScript.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from integrity.app import create_app  # noqa: E402
from integrity.db import new_session  # noqa: E402
from integrity.migrate import upgrade  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CHANNEL = "integrity"
WHAT = "The duty officer asked a driver for 50 euros to skip the queue at lane 4."
GOALS = {"wire": 250_000, "usable": 2.0, "text": 3.0, "mailbox": 4.0}


class Link:
    """A page on the emulated link, counting the bytes that cross it."""

    def __init__(self, context: Any, args: argparse.Namespace, own_context: bool = False) -> None:
        self.page = context.new_page()
        self.own_context = own_context
        self.bytes = 0
        cdp = context.new_cdp_session(self.page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": args.rtt_ms,
            "downloadThroughput": args.kbps * 1000, "uploadThroughput": args.kbps * 1000})
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.cpu})
        cdp.on("Network.loadingFinished", self._finished)
        self.cdp = cdp

    def _finished(self, event: dict[str, Any]) -> None:
        self.bytes += int(event.get("encodedDataLength", 0))

    def close(self) -> None:
        """Close the page (and its profile, when it had one of its own)."""
        self.page.close()
        if self.own_context:
            self.page.context.close()

    def open(self, url: str) -> float:
        """Open ``url``; the seconds until the page's content is there (DOMContentLoaded)."""
        started = time.perf_counter()
        self.page.goto(url, wait_until="domcontentloaded")
        return time.perf_counter() - started


def _fill(page: Any) -> None:
    page.fill("#q-what", WHAT)
    page.check("input[name=q-ongoing][value=yes]")


def _file(link: Link, base: str, *, typing_s: float, photo: Path | None = None) -> dict[str, float]:
    """Open the form, type for ``typing_s`` seconds, press send: the times it took."""
    page = link.page
    started = time.perf_counter()
    usable = link.open(f"{base}/report/{CHANNEL}")
    page.wait_for_selector("#q-what")
    typed_until = started + typing_s
    _fill(page)
    if photo is not None:
        page.set_input_files("#files", str(photo))
    protected_at = None
    while time.perf_counter() < typed_until:
        if protected_at is None and page.get_attribute("#mode", "data-mode") == "browser":
            protected_at = time.perf_counter() - started
        time.sleep(0.05)
    mode = page.get_attribute("#mode", "data-mode")
    pressed = time.perf_counter()
    page.get_by_role("button", name="Send the report").click()
    # The receipt in the page (protected) or on the page the server answers (basic mode).
    page.wait_for_selector("#receipt", state="visible", timeout=180_000)
    done = time.perf_counter()
    if protected_at is None:
        protected_at = pressed - started  # not yet ready at the press
    return {"usable": usable, "protected": protected_at, "receipt": done - pressed, "mode": mode}


def _mailbox(link: Link, base: str, receipt: str) -> dict[str, float]:
    page = link.page
    usable = link.open(f"{base}/mailbox")
    page.wait_for_selector('#mode[data-mode="browser"]', timeout=180_000)
    page.fill("#receipt-input", receipt)
    pressed = time.perf_counter()
    page.get_by_role("button", name="Open", exact=True).click()
    page.wait_for_selector("#mailbox-view:not([hidden])", timeout=180_000)
    return {"usable": usable, "open": time.perf_counter() - pressed}


def _receipt(page: Any) -> str:
    return "".join(ch for ch in page.inner_text("#receipt") if ch.isdigit())


def _serve() -> tuple[Any, str, Any]:
    from werkzeug.serving import make_server

    from integrity import demo

    folder = Path(tempfile.mkdtemp(prefix="integrity-reach-"))
    url = f"sqlite:///{folder / 'integrity.db'}"
    config = {"data_dir": folder, "database_url": url, "secret_key": "bench"}
    upgrade(url)
    setup = create_app(config)
    session = new_session(setup)
    demo.load(session, setup.extensions["integrity.hasher"])
    demo.load_demo_org_key(session, setup.extensions["integrity.settings"])
    session.commit()
    session.close()
    app = create_app(config)  # reads the pinned organisation key at start
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}", folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtt-ms", type=int, default=400)
    parser.add_argument("--kbps", type=int, default=50, help="kB/s each way")
    parser.add_argument("--cpu", type=float, default=4, help="CPU slowdown")
    parser.add_argument("--photo-kb", type=int, default=1024)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server, base, folder = _serve()
    photo = folder / "photo.jpg"
    photo.write_bytes(os.urandom(args.photo_kb * 1024))
    results: dict[str, Any] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=CHROMIUM_ARGS)
            # Cold: a fresh profile (empty cache) for each measurement; warm: one profile that
            # has filed a report once already.
            warm = browser.new_context()
            warmup = Link(warm, args)
            _file(warmup, base, typing_s=8)
            warmup.page.close()
            for cache in ("cold", "warm"):
                def link_for(cold: bool = cache == "cold") -> Link:
                    return Link(browser.new_context() if cold else warm, args, own_context=cold)

                link = link_for()
                results[f"{cache} text"] = _file(link, base, typing_s=8)
                results[f"{cache} wire"] = link.bytes
                receipt = _receipt(link.page)
                link.close()
                # One page at a time: a page left open would keep its worker busy meanwhile.
                for name, measure in (
                        ("photo", lambda link: _file(link, base, typing_s=8, photo=photo)),
                        ("early", lambda link: _file(link, base, typing_s=1.5)),
                        ("mailbox", lambda link, receipt=receipt: _mailbox(link, base, receipt))):
                    link = link_for()
                    results[f"{cache} {name}"] = measure(link)
                    link.close()
            context = browser.new_context(java_script_enabled=False)
            link = Link(context, args)
            started = time.perf_counter()
            link.open(f"{base}/report/{CHANNEL}")
            _fill(link.page)
            pressed = time.perf_counter()
            link.page.get_by_role("button", name="Send the report").click()
            link.page.wait_for_selector("#receipt", state="visible")
            results["plain"] = {"usable": pressed - started,
                                "receipt": time.perf_counter() - pressed, "wire": link.bytes}
            context.close()
            browser.close()
    finally:
        server.shutdown()
    _print(results, args)


def _print(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"Link: {args.rtt_ms} ms round trip, {args.kbps} kB/s each way; CPU slowed x{args.cpu}.")
    for cache in ("cold", "warm"):
        text, photo = results[f"{cache} text"], results[f"{cache} photo"]
        early, mailbox = results[f"{cache} early"], results[f"{cache} mailbox"]
        wire = results[f"{cache} wire"]
        print(f"{cache} cache:")
        print(f"  received, report page and filing    : {wire / 1000:8.1f} kB"
              + (f"  (goal <= {GOALS['wire'] / 1000:.0f} kB)" if cache == "cold" else ""))
        print(f"  form shown (DOMContentLoaded)       : {text['usable']:8.2f} s"
              f"  (goal <= {GOALS['usable']:.0f} s)")
        print(f"  protection ready                    : {text['protected']:8.2f} s")
        print(f"  press to receipt, text, 8 s typing  : {text['receipt']:8.2f} s"
              f"  (goal <= {GOALS['text']:.0f} s)")
        print(f"  press to receipt, {args.photo_kb} kB photo       : {photo['receipt']:8.2f} s")
        print(f"  press to receipt, pressed at 1.5 s  : {early['receipt']:8.2f} s"
              f"  (the page was in {early['mode']} mode at the press)")
        print(f"  mailbox: press to open              : {mailbox['open']:8.2f} s"
              f"  (goal <= {GOALS['mailbox']:.0f} s)")
    plain = results["plain"]
    cold = results["cold text"]
    print("without JavaScript (basic mode), cold cache:")
    print(f"  received                            : {plain['wire'] / 1000:8.1f} kB")
    print(f"  press to receipt                    : {plain['receipt']:8.2f} s")
    print(f"  protected / basic, press to receipt : {cold['receipt'] / plain['receipt']:8.2f}")


if __name__ == "__main__":
    main()
