"""The mailbox without JavaScript: after the receipt opens it, the page carries a mailbox token
(never the receipt), kept in memory or Redis only, sealed, for a quarter of an hour; successful
openings are limited per address. On SQLite and PostgreSQL, in memory and in Redis."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from sqlalchemy import select

import crypto
from integrity import current
from integrity.installation import get_installation
from integrity.reporting import mailbox_tokens
from integrity.reporting.models import Message
from integrity.schema import metadata
from tests.conftest import REDIS_URL, csrf_token
from tests.helpers.reports import (
    MAILBOX_TOKEN,
    RECEIPT,
    file_plain_form,
    hidden_fields,
    plain_mailbox_token,
)

STORES = pytest.mark.parametrize("settings_overrides", [{}, {"redis_url": REDIS_URL}],
                                 ids=["memory", "redis"])
EXPIRED = "This mailbox page has expired: enter your receipt again to open the mailbox."
TOO_MANY = ("The mailbox was opened too many times from this network: please wait a while "
            "and try again.")


def _filed(client, channel) -> str:
    html = file_plain_form(client, channel).get_data(as_text=True)
    return RECEIPT.search(html).group(1)


def _kept(app: Flask) -> dict[str, bytes]:
    """Everything the token store holds now, by name."""
    store = current.mailbox_tokens(app)
    if isinstance(store, mailbox_tokens.RedisTokens):
        names = store.client.keys(mailbox_tokens.KEY_PREFIX + "*")
        return {name.decode(): store.client.get(name) for name in names}
    assert isinstance(store, mailbox_tokens.MemoryTokens)
    return {name: value for name, (_, value) in store.entries.items()}


def _clear(app: Flask) -> None:
    store = current.mailbox_tokens(app)
    if isinstance(store, mailbox_tokens.RedisTokens):
        for name in store.client.keys(mailbox_tokens.KEY_PREFIX + "*"):
            store.client.delete(name)


def _scan_database(app: Flask, needles: dict[str, bytes]) -> None:
    engine = current.engine(app)
    with engine.connect() as connection:
        for table in metadata().sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    data = value if isinstance(value, bytes) else str(value).encode()
                    for name, needle in needles.items():
                        assert needle not in data, f"{name} found in table {table.name}"


@STORES
def test_the_opened_page_carries_a_token_and_the_server_keeps_nothing_readable(
    app, client, channel, db, settings_overrides
) -> None:
    _clear(app)
    receipt = _filed(client, channel)
    page = client.post("/mailbox", data={"csrf_token": csrf_token(client, "/mailbox"),
                                         "receipt": receipt}).get_data(as_text=True)
    token = MAILBOX_TOKEN.search(page).group(1)
    assert len(crypto.b64decode(token, 32)) == 32
    installation = get_installation(db, current.settings(app))
    keys = crypto.derive_reporter_keys(crypto.normalise_receipt(receipt), installation.kdf_salt,
                                       installation.kdf_opslimit, installation.kdf_memlimit)
    # The page: the token in every form that follows, and nothing of the receipt.
    for secret in (receipt, receipt.replace(" ", ""), crypto.b64encode(keys.lookup),
                   crypto.b64encode(keys.secret_key)):
        assert secret not in page
    forms = hidden_fields(page, "/mailbox/reply") + hidden_fields(page, "/mailbox/file")
    assert forms and all(form["mailbox_token"] == token for form in forms)
    # The store: one entry, named by a hash of the token, whose value opens nothing alone.
    ((name, value),) = _kept(app).items()
    needles = {"token": token.encode(), "token bytes": crypto.b64decode(token),
               "receipt": receipt.replace(" ", "").encode(), "lookup": keys.lookup,
               "lookup hash": keys.lookup_hash, "secret key": keys.secret_key}
    for label, needle in needles.items():
        assert needle not in name.encode() and needle not in value, label
    kept = mailbox_tokens.redeem(current.mailbox_tokens(app), token)
    assert kept is not None and kept.secret_key == keys.secret_key
    # Nor in the database, after a reply and a download made with the token.
    reply = client.post("/mailbox/reply", data={**hidden_fields(page, "/mailbox/reply")[0],
                                                "text": "Night shifts."})
    assert reply.status_code == 200 and "Your message was sent." in reply.get_data(as_text=True)
    assert db.scalar(select(Message.id)) is not None
    needles.pop("lookup hash")  # the report's row holds it, by design
    _scan_database(app, {**needles, "name": name.encode(), "kept": value})


@STORES
def test_a_token_lasts_a_quarter_of_an_hour_then_the_receipt_form_comes_back(
    app, client, channel, db, settings_overrides, monkeypatch
) -> None:
    _clear(app)
    receipt = _filed(client, channel)
    token = plain_mailbox_token(client, receipt)
    store = current.mailbox_tokens(app)
    if isinstance(store, mailbox_tokens.RedisTokens):
        # Redis expires it: check the time it was given, then let it go as Redis would.
        ((name, _),) = _kept(app).items()
        assert 14 * 60 < store.client.ttl(name) <= 15 * 60
        late = lambda: store.client.delete(name)  # noqa: E731
    else:
        started = time.time()
        monkeypatch.setattr(mailbox_tokens, "clock", lambda: started + 14 * 60)
        late = lambda: monkeypatch.setattr(  # noqa: E731
            mailbox_tokens, "clock", lambda: started + 15 * 60 + 1)

    def reply(text: str):
        return client.post("/mailbox/reply", data={
            "csrf_token": csrf_token(client, "/mailbox"), "mailbox_token": token, "text": text})

    assert reply("Within the quarter of an hour.").status_code == 200
    late()
    expired = reply("A long message, written slowly.")
    page = expired.get_data(as_text=True)
    assert expired.status_code == 400 and EXPIRED in page
    assert 'name="receipt"' in page and "mailbox_token" not in page
    assert '<input type="hidden" name="text" value="A long message, written slowly.">' in page
    assert db.scalar(select(Message.id).where(Message.position > 1)) is None
    download = client.post("/mailbox/file", data={
        "csrf_token": csrf_token(client, "/mailbox"), "mailbox_token": token, "attachment": "x"})
    assert download.status_code == 400 and EXPIRED in download.get_data(as_text=True)
    # The receipt opens it again, with the message back in its box and a new token.
    (fields,) = hidden_fields(page, "/mailbox")
    again = client.post("/mailbox", data={**fields, "receipt": receipt})
    text = again.get_data(as_text=True)
    assert again.status_code == 200
    assert ">A long message, written slowly.</textarea>" in text
    assert MAILBOX_TOKEN.search(text).group(1) != token


@pytest.mark.parametrize("settings_overrides", [
    {"ratelimit_mailbox_opens": "2 per hour"},
    {"ratelimit_mailbox_opens": "2 per hour", "redis_url": REDIS_URL},
], ids=["memory", "redis"])
def test_successful_openings_are_limited_per_address(
    app, channel, settings_overrides
) -> None:
    from integrity.extensions import limiter

    if "redis_url" in settings_overrides:
        limiter.storage.reset()  # counters left by an earlier run in the same hour
    reporter = app.test_client()
    reporter.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    receipt = _filed(reporter, channel)

    def open_with(client, receipt: str, token: str | None = None):
        return client.post("/mailbox", data={
            "csrf_token": token or csrf_token(client, "/mailbox"), "receipt": receipt})

    assert open_with(reporter, receipt).status_code == 200
    # Refusals do not count here (wrong receipts have their own budget).
    assert open_with(reporter, receipt, token="forged").status_code == 400
    assert open_with(reporter, "1234 5678 9012 3456 7890").status_code == 404
    opened = open_with(reporter, receipt)
    assert opened.status_code == 200
    refused = open_with(reporter, receipt)
    assert refused.status_code == 429 and TOO_MANY in refused.get_data(as_text=True)
    assert "Set-Cookie" not in refused.headers
    # The mailbox already open still takes replies; another address still opens it.
    (fields,) = hidden_fields(opened.get_data(as_text=True), "/mailbox/reply")
    assert reporter.post("/mailbox/reply", data={**fields, "text": "More."}).status_code == 200
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert open_with(other, receipt).status_code == 200


def test_a_token_opens_only_what_it_was_issued_for() -> None:
    store = mailbox_tokens.MemoryTokens()
    opened = mailbox_tokens.OpenMailbox(7, bytes(range(32)))
    token = mailbox_tokens.issue(store, opened, 15)
    assert mailbox_tokens.redeem(store, token) == opened
    assert mailbox_tokens.redeem(store, token) == opened  # good for every form of the page
    other = crypto.b64encode(bytes(32))
    for text in (other, token[:-1], token + "A", "", "!" * 43):
        assert mailbox_tokens.redeem(store, text) is None
    # A value under the right name but sealed with another key opens nothing.
    ((name, (expires_at, value)),) = store.entries.items()
    store.entries[name] = (expires_at, value[:-1] + bytes([value[-1] ^ 1]))
    assert mailbox_tokens.redeem(store, token) is None
