"""The reporter closes the mailbox opened without JavaScript: its mailbox token opens nothing
any more and the empty mailbox form comes back. And the receipt says when to come back: within
the acknowledgement deadline, and again for the feedback."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_token
from tests.helpers.reports import RECEIPT, file_plain_form, hidden_fields

REPORT_TEXT = "Officer at lane 4 asks 20 EUR per car."
EXPIRED = "This mailbox page has expired"


def _opened(client, channel) -> tuple[str, str]:
    """A report filed and its mailbox opened in basic mode: (receipt, the page)."""
    receipt = RECEIPT.search(file_plain_form(client, channel).get_data(as_text=True)).group(1)
    page = client.post("/mailbox", data={"csrf_token": csrf_token(client, "/mailbox"),
                                         "receipt": receipt})
    assert page.status_code == 200
    return receipt, page.get_data(as_text=True)


def test_the_opened_mailbox_offers_to_close_it_and_says_why(client, channel) -> None:
    _, page = _opened(client, channel)
    assert "Close the mailbox" in page
    assert "On a shared device, close the mailbox when you are done" in page
    (fields,) = hidden_fields(page, "/mailbox/close")
    assert set(fields) == {"csrf_token", "mailbox_token"}


def test_closing_the_plain_mailbox_ends_its_token_and_shows_the_empty_form(
        client, channel) -> None:
    receipt, page = _opened(client, channel)
    (close,) = hidden_fields(page, "/mailbox/close")
    (reply,) = hidden_fields(page, "/mailbox/reply")
    (download,) = hidden_fields(page, "/mailbox/file") or [None]
    closed = client.post("/mailbox/close", data=close)
    assert closed.status_code == 200
    text = closed.get_data(as_text=True)
    assert 'id="mailbox-form"' in text and 'id="receipt-input"' in text
    assert "The mailbox is closed." in text
    assert "close this browser window too" in text
    assert REPORT_TEXT not in text and close["mailbox_token"] not in text
    assert receipt not in text and receipt.replace(" ", "") not in text
    assert closed.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in closed.headers
    # The token opens nothing any more: neither a reply nor a download.
    again = client.post("/mailbox/reply", data={**reply, "text": "Still there?"})
    assert again.status_code == 400 and EXPIRED in again.get_data(as_text=True)
    assert REPORT_TEXT not in again.get_data(as_text=True)
    if download is not None:
        assert EXPIRED in client.post("/mailbox/file", data=download).get_data(as_text=True)


def test_another_mailbox_token_stays_open_when_one_is_closed(client, channel) -> None:
    _, first = _opened(client, channel)
    _, second = _opened(client, channel)
    (close,) = hidden_fields(first, "/mailbox/close")
    assert client.post("/mailbox/close", data=close).status_code == 200
    (reply,) = hidden_fields(second, "/mailbox/reply")
    answer = client.post("/mailbox/reply", data={**reply, "text": "Another visit."})
    assert answer.status_code == 200 and "Your message was sent." in answer.get_data(as_text=True)


def test_a_close_without_the_pages_form_token_is_refused(client, channel) -> None:
    _, page = _opened(client, channel)
    (close,) = hidden_fields(page, "/mailbox/close")
    refused = client.post("/mailbox/close", data={"mailbox_token": close["mailbox_token"]})
    assert refused.status_code == 400
    (reply,) = hidden_fields(page, "/mailbox/reply")
    assert client.post("/mailbox/reply", data={**reply, "text": "Hi"}).status_code == 200


def test_the_receipt_says_when_to_come_back(client, channel) -> None:
    html = file_plain_form(client, channel).get_data(as_text=True)
    assert "The inspectors acknowledge a report within 7 days" in html
    assert "give you feedback on it within 3 months" in html
    assert "come back with your receipt after a few days, and again later" in html
    # The page the script shows the receipt in says the same (static/js/report.mjs).
    form = client.get(f"/report/{channel.slug}").get_data(as_text=True)
    panel = form[form.index('id="receipt-panel"'):]
    assert "The inspectors acknowledge a report within 7 days" in panel
    assert "within 3 months" in panel


def test_the_days_named_are_the_deadline_the_cases_keep(
        client, channel, monkeypatch: pytest.MonkeyPatch) -> None:
    import integrity.reporting.views as views

    monkeypatch.setattr(views, "ACKNOWLEDGE_DAYS", 5)
    form = client.get(f"/report/{channel.slug}").get_data(as_text=True)
    assert "acknowledge a report within 5 days" in form
