"""Who can read a protocol 2 case, as its reporter sees it (docs/protocol.md#visible-readers):
a share through the case page is recorded in the thread; a reader added, an exclusion
removed or a key substituted by a database write is flagged."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select

import crypto
from crypto.certificates import OrgKey, sign_inspector_key
from integrity.models import Channel, Role, User
from integrity.reporting.models import report_exclusions, report_readers
from tests.conftest import csrf_token
from tests.helpers.reports import filed_report_id
from tests.protocol2_client import Reporter2Client, mailbox_reader_changes, share_body

ORG = OrgKey.from_seed(bytes(range(64, 96)))


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"org_public_key": crypto.b64encode(ORG.public_key)}


@pytest.fixture
def people(db, make_account, channel):
    """Inspectors a, b (the channel's recipients) and c (outside it), each with a certified
    key; the channel lets reporters leave inspectors out."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    ch.recipients.clear()
    ch.allow_exclusion = True
    found = {}
    for name in ("a", "b", "c"):
        account = make_account(Role.INSPECTOR)
        pair = crypto.KeyPair.generate()
        user = db.get(User, account.id)
        user.public_key = pair.public_key
        user.key_certificate = sign_inspector_key(ORG, str(user.id), pair.public_key)
        if name != "c":
            ch.recipients.append(user)
        found[name] = (account, pair)
    db.commit()
    return found


@pytest.fixture
def case(app, channel, people):
    """A protocol 2 report leaving b out: (reporter, receipt, report id)."""
    reporter = Reporter2Client(app.test_client(), ORG.public_key, check_floors=False)
    filed = reporter.file(channel.slug, {"what": "Duty waived for a relative's lorries"},
                          excluded=[str(people["b"][0].id)])
    return reporter, filed.receipt, filed_report_id(app, filed)


def _changes(case) -> list[tuple[str, str, bool]]:
    reporter, receipt, _ = case
    box = reporter.mailbox(receipt)
    return [(c.kind, c.reader, c.alarm)
            for c in mailbox_reader_changes(box, ORG.public_key, None)]


def _share(client, case, people, target: str, **changes):
    """Inspector a (signed in) shares the case with ``target``."""
    account, pair = people["a"]
    report_id = case[2]
    sealed = client.get(f"/cases/{report_id}/sealed").get_json()
    target_account, target_pair = people[target]
    body = share_body(sealed, pair.secret_key, str(account.id), str(target_account.id),
                      target_pair.public_key)
    body.update(changes)
    headers = {"X-CSRFToken": csrf_token(client, f"/cases/{report_id}")}
    return client.post(f"/cases/{report_id}/share", json=body, headers=headers)


def test_as_reported_nothing_changed_and_a_share_is_shown_as_such(
    client, login, case, people
) -> None:
    assert _changes(case) == []
    login(people["a"][0])
    answer = _share(client, case, people, "c")
    assert answer.status_code == 201, answer.get_json()
    c_id = str(people["c"][0].id)
    assert _changes(case) == [("shared", c_id, False)]
    box = case[0].mailbox(case[1])
    assert all(check.intact for check in box["checks"])
    assert box["messages"][-1]["document"]["share"]["id"] == c_id


def test_a_share_without_its_message_or_to_an_uncertified_key_is_refused(
    db, client, login, case, people
) -> None:
    login(people["a"][0])
    answer = _share(client, case, people, "c", message=None)
    assert answer.status_code == 400 and "share message" in answer.get_json()["error"]
    c_user = db.get(User, people["c"][0].id)
    c_user.key_certificate = None
    db.commit()
    answer = _share(client, case, people, "c")
    assert answer.status_code == 400
    readers = set(db.scalars(select(report_readers.c.user_id).where(
        report_readers.c.report_id == case[2])))
    assert readers == {people["a"][0].id}


def test_a_reader_added_by_a_database_write_is_flagged(db, case, people) -> None:
    c_id = people["c"][0].id
    db.execute(insert(report_readers).values(report_id=case[2], user_id=c_id))
    db.commit()
    assert _changes(case) == [("unrecorded", str(c_id), True)]


def test_an_exclusion_removed_by_a_database_write_is_flagged(db, case, people) -> None:
    b_id = people["b"][0].id
    db.execute(delete(report_exclusions).where(report_exclusions.c.report_id == case[2]))
    db.execute(insert(report_readers).values(report_id=case[2], user_id=b_id))
    db.commit()
    assert _changes(case) == [("excluded_reader", str(b_id), True)]


def test_a_substituted_inspector_key_is_flagged(db, case, people) -> None:
    a_user = db.get(User, people["a"][0].id)
    certificate = a_user.key_certificate
    a_user.public_key = crypto.KeyPair.generate().public_key
    a_user.key_certificate = certificate  # the old certificate, kept by the writer
    db.commit()
    assert _changes(case) == [("uncertified", str(a_user.id), True)]
