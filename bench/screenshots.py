"""Screenshots of the Arabic pages at a phone's width (360 px), for the documentation: the report
form and the managers' dashboard, right to left, with the demo data. Needs Chromium.

    .venv/bin/python bench/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from integrity.app import create_app  # noqa: E402
from integrity.config import Settings  # noqa: E402
from integrity.db import dispose, new_session  # noqa: E402
from integrity.migrate import upgrade  # noqa: E402

CHROMIUM = os.environ.get("INTEGRITY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 360, "height": 740}
# Each picture: its file name, the page, and how much of the page's height to keep (a whole
# dashboard at a phone's width is many screens long).
SHOTS = (
    ("report-form-ar-360.png", "/report/integrity", 1600),
    ("dashboard-ar-360.png", "/dashboard/", 1600),
)


def _serve(folder: Path) -> tuple[str, object]:
    """The demo data served in English and Arabic; returns the address and the server."""
    from werkzeug.serving import make_server

    from integrity import demo

    database = f"sqlite:///{folder / 'integrity.db'}"
    upgrade(database)
    app = create_app(Settings.from_env(environ={}, data_dir=folder, database_url=database,
                                       secret_key="screenshots", languages=("en", "ar")))
    with app.app_context():
        session = new_session(app)
        demo.load(session, app.extensions["integrity.hasher"])
        session.commit()
        session.close()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.app_ref = app  # type: ignore[attr-defined]
    return f"http://127.0.0.1:{server.server_port}", server


def main() -> None:
    from playwright.sync_api import sync_playwright

    from integrity.demo import DEMO_ACCOUNTS
    from integrity.models import Role

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    manager = next(a for a in DEMO_ACCOUNTS if a.role is Role.MANAGER)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        url, server = _serve(Path(folder))
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="ar", viewport=PHONE,
                                      extra_http_headers={"Accept-Language": "ar"})
        page = context.new_page()
        page.goto(f"{url}/staff/login")
        page.wait_for_selector('#login-form[data-ready="1"]')
        page.fill("#email", manager.email)
        page.fill("#passphrase", manager.password)
        page.click("#login-form button[type=submit]")
        page.wait_for_url("**/dashboard/")
        for name, path, height in SHOTS:
            page.goto(url + path)
            page.wait_for_load_state("networkidle")
            full = page.evaluate("document.scrollingElement.scrollHeight")
            clip = {"x": 0, "y": 0, "width": PHONE["width"], "height": min(full, height)}
            page.screenshot(path=args.out / name, clip=clip, full_page=True)
            print(f"{args.out / name}: {(args.out / name).stat().st_size // 1024} kB")
        browser.close()
        server.shutdown()  # type: ignore[attr-defined]
        dispose(server.app_ref)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
