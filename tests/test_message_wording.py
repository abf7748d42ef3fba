"""English messages that translate well: a context for words with several meanings, plural
forms for every count, whole sentences instead of fragments, one word ("seal") for one act."""

from __future__ import annotations

import html
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from flask import Flask
from sqlalchemy import select

from crypto import KeyPair
from integrity.audit import record, verify
from integrity.models import Channel, Role, User
from tests.protocol_client import ReporterClient

ROOT = Path(__file__).resolve().parent.parent
PYBABEL = str(Path(sys.executable).with_name("pybabel"))
COUNTED = re.compile(r"%\((count|n|num|hours|days|months)\)d")
# A position among a total ("Part 2 of 5"), not a number of things: no plural noun follows.
NOT_A_COUNT = {"Part %(number)d of %(count)d"}
FRAGMENTS = {"higher", "lower", "an improvement", "a deterioration", "Scan the QR code, or open",
             "and type the code.", "by %(names)s", "Rose by %(points)s points more in the target "
             "units than elsewhere", "Substan-\ntiated", "Came\nback"}
LOCK = re.compile(r"\b(un|re-?)?lock(s|ed|ing)?\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The messages as `make babel-extract` finds them, with the Makefile's own keywords."""
    makefile = (ROOT / "Makefile").read_text()
    found = re.search(r"pybabel extract -F babel\.cfg (.*?) -o ", makefile)
    assert found, "the Makefile has no babel-extract command"
    target = tmp_path_factory.mktemp("extract") / "messages.pot"
    subprocess.run([PYBABEL, "extract", "-F", "babel.cfg", *shlex.split(found.group(1)),  # noqa: S603
                    "-o", str(target), "--no-location", "--sort-output", "."],
                   cwd=ROOT, check=True, capture_output=True)
    with target.open("rb") as pot:
        return read_po(pot)


def _ids(catalog: Catalog) -> list[str]:
    return [m.id for m in catalog if m.id and isinstance(m.id, str)]


def test_words_with_several_meanings_are_extracted_with_their_context(catalog) -> None:
    contexts = {word: {m.context for m in catalog if m.id == word}
                for word in ("Open", "Closed", "Share")}
    assert contexts == {"Open": {"button", "channel state"},
                        "Closed": {"case status", "channel state"},
                        "Share": {"button"}}
    for distinct in ("Open cases", "Closed cases", "Opens – closes", "Share of answers",
                     "Received on", "Not assigned", "Mail server user name", "Interpretation"):
        assert catalog.get(distinct) is not None, distinct
    for gone in ("Received", "Nobody", "Signs in as", "Reading"):
        assert catalog.get(gone) is None, gone


def test_every_count_in_a_message_has_plural_forms(catalog) -> None:
    singular_counts = [i for i in _ids(catalog) if COUNTED.search(i) and i not in NOT_A_COUNT]
    assert singular_counts == []
    plural = {m.id[0] for m in catalog if m.id and not isinstance(m.id, str)}
    # Lazy plurals in Python (validation messages) reach the catalog too.
    assert "Keep the name under %(count)d character." in plural
    assert "%(count)d code was sent." in plural and "%(num)d answer" in plural


def test_sentences_are_whole_and_show_no_pretend_tags(catalog) -> None:
    ids = _ids(catalog)
    assert FRAGMENTS.isdisjoint(ids)
    assert [i for i in ids if "-\n" in i or "%(role)s" in i] == []
    assert [i for i in ids if re.search(r"<(?!/?strong>)[^>]*>", i)] == []
    assert "Rose by %(points)s points more in the target units than elsewhere: an " \
           "improvement." in ids


def test_reporter_pages_speak_of_sealing_never_of_locking(client, channel) -> None:
    for url in ("/", f"/report/{channel.slug}", "/mailbox"):
        page = client.get(url).get_data(as_text=True)
        assert LOCK.findall(page) == [], url
    report = client.get(f"/report/{channel.slug}").get_data(as_text=True)
    strings = json.loads(html.unescape(re.search(r"data-strings='([^']*)'", report).group(1)))
    assert strings["sealing"] == "Sealing your report…"
    assert all(not LOCK.search(text) for text in strings.values())
    assert "Your report is sealed on this device before it is sent." in report


def test_the_audit_check_counts_one_entry_in_the_singular(app: Flask, db) -> None:
    record(db, actor=None, actor_label="cli", action="status_changed", subject="report:7",
           details={"from": "new", "to": "acknowledged"})
    db.commit()
    with app.test_request_context():
        assert str(verify(db).reason) == "The chain holds across its 1 entry."
        record(db, actor=None, actor_label="cli", action="status_changed", subject="report:7",
               details={"from": "acknowledged", "to": "in_progress"})
        db.commit()
        assert str(verify(db).reason) == "The chain holds across all 2 entries."


def test_inspector_pages_name_the_role_the_date_and_an_unassigned_case(
        client, login, channel, make_account, db) -> None:
    account = make_account(Role.INSPECTOR)
    user = db.get(User, account.id)
    user.public_key = KeyPair.generate().public_key
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    ch.recipients.append(user)
    db.commit()
    ReporterClient(client).file(channel.slug, {"what": "Lane 3 is waved through."},
                                category="waving-through")
    login(account)
    inbox = client.get("/cases/").get_data(as_text=True)
    assert "Signed in as Test inspector (inspector)." in inbox
    assert '<th scope="col">Received on</th>' in inbox
    case_url = re.search(r'href="(/cases/\d+)"', inbox).group(1)
    case = client.get(case_url).get_data(as_text=True)
    assert re.search(r'<option[^>]*value=""[^>]*>Not assigned</option>', case)


def test_admin_pages_show_an_example_address_and_the_mail_user_name(
        client, login, make_account) -> None:
    login(make_account(Role.ADMIN))
    new_channel = client.get("/admin/channels/new").get_data(as_text=True)
    assert "for example /report/integrity" in new_channel
    assert "&lt;short name&gt;" not in new_channel
    settings = client.get("/admin/settings").get_data(as_text=True)
    assert "<dt>Mail server user name</dt>" in settings
