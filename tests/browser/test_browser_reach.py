"""The reporting pages on a poor link, in real Chromium: an upload cut off in the middle resumes
where the server stopped and the report files with the file intact; pressing send shows the
busy state in the press's own task, with the worker already on its way; the mode line never
says JavaScript is off while it is on; and a second visit fetches nothing but what changes."""

from __future__ import annotations

import io
import os
from typing import Any

from flask import Flask

import crypto
from crypto import stream
from tests.conftest import ChannelSetup
from tests.helpers.browser import WHAT, WORKER_SCRIPT, RecordingApp
from tests.protocol_client import ReporterClient

PHOTO = os.urandom(5 * 1024 * 1024)


def _fill(page: Any) -> None:
    page.fill("#q-what", WHAT)
    page.check("input[name=q-ongoing][value=yes]")


def test_an_upload_cut_off_in_the_middle_resumes_and_the_file_arrives_intact(
    page, base_url: str, app: Flask, recorder: RecordingApp, channel: ChannelSetup, tmp_path
) -> None:
    from playwright.sync_api import expect

    appends: list[dict[str, str]] = []

    def cut_the_first(route: Any) -> None:
        request = route.request
        if request.method != "PATCH":
            route.continue_()
            return
        appends.append(request.headers)
        if len(appends) > 1:
            route.continue_()
            return
        # The server gets the first half of the body; then the link drops.
        body = request.post_data_buffer
        route.fetch(post_data=body[: len(body) // 2])
        route.abort("connectionreset")

    page.route("**/api/v1/uploads/*", cut_the_first)
    page.goto(f"{base_url}/report/{channel.slug}")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    _fill(page)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(PHOTO)
    page.set_input_files("#files", str(photo))
    page.get_by_role("button", name="Send the report").click()
    expect(page.locator("#progress-label")).to_contain_text("Connection lost: trying again in 1 s")
    expect(page.locator("#receipt-panel")).to_be_visible(timeout=60_000)
    receipt = crypto.normalise_receipt(page.locator("#receipt").inner_text())

    # The second append went on from where the server stopped: half of the sealed file.
    sealed_length = stream.sealed_length(len(PHOTO))
    assert len(appends) == 2
    assert appends[0]["upload-offset"] == "0"
    assert int(appends[1]["upload-offset"]) == sealed_length // 2
    # The file opens to the very bytes chosen.
    reporter = ReporterClient(app.test_client())
    entry = reporter.mailbox(receipt)["report"]["document"]["attachments"][0]
    sealed = reporter.download(receipt, entry["id"])
    plain = io.BytesIO()
    crypto.open_file(io.BytesIO(sealed), plain, crypto.b64decode(entry["key"]), entry["size"])
    assert plain.getvalue() == PHOTO
    assert page.console_errors == [] or all("ERR_CONNECTION_RESET" in e or "Failed to load" in e
                                            for e in page.console_errors)


def test_the_press_shows_at_once_and_the_worker_was_on_its_way_before_it(
    page, base_url: str, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    held: list[Any] = []
    page.route(WORKER_SCRIPT, lambda route: held.append(route))  # the worker: still arriving
    # Requested as soon as the page script runs, before any press.
    with page.expect_request(WORKER_SCRIPT):
        page.goto(f"{base_url}/report/{channel.slug}", wait_until="domcontentloaded")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "loading")
    assert "JavaScript is off" not in page.inner_text("main")
    _fill(page)
    # Busy and disabled in the press's own task: nothing awaited between the two.
    at_press = page.evaluate("""() => {
      const form = document.getElementById('report-form');
      form.querySelector('button[type=submit]').click();
      const button = form.querySelector('button[type=submit]');
      return [form.getAttribute('aria-busy'), button.disabled, getComputedStyle(button).cursor];
    }""")
    assert at_press == ["true", True, "progress"]
    for route in held:
        route.continue_()
    expect(page.locator("#receipt-panel")).to_be_visible(timeout=60_000)
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")


def test_the_mode_line_never_says_javascript_is_off_while_it_is_on(
    page, base_url: str, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    page.route(WORKER_SCRIPT, lambda route: route.fulfill(status=404, body="gone"))
    for path in (f"/report/{channel.slug}", "/mailbox"):
        page.goto(f"{base_url}{path}")
        expect(page.locator("#mode")).to_have_attribute("data-mode", "plain")
        expect(page.locator("#mode")).to_contain_text("Basic mode.")
        expect(page.locator("#mode-warning")).to_be_visible()
        assert "JavaScript is off" not in page.inner_text("main"), path


def test_a_second_visit_fetches_only_the_page(
    page, base_url: str, recorder: RecordingApp, channel: ChannelSetup
) -> None:
    from playwright.sync_api import expect

    for visit in (1, 2):
        before = len(recorder.received)
        page.goto(f"{base_url}/report/{channel.slug}")
        expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
        static = [r.path for r in recorder.received[before:] if r.path.startswith("/static/")]
        if visit == 1:
            assert any("/dist/worker." in path for path in static)
        else:
            assert static == []  # scripts, worker, stylesheet, icon: all kept from the first visit
