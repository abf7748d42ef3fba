"""The inbox: what is new for whom, the two orders, the filters, keyset pages, going to a case
by its reference, and what each row shows."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select, update

import crypto
from integrity.cases.inbox import Cursor, InboxFilters, Position, Sort, inbox
from integrity.formatting import day
from integrity.models import Channel, Role, User
from integrity.reporting.models import Report, report_readers
from tests.conftest import csrf_token
from tests.helpers.pages import signed_in
from tests.helpers.reports import filed_report_id, seal_item
from tests.protocol_client import ReporterClient

ANSWERS = {"what": "A shift supervisor waves one haulier's lorries through at night."}


@pytest.fixture
def keyed_inspectors(db, make_account, channel):
    """Two inspectors who sign in, each with a key pair, recipients of the channel."""
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    result = []
    for _ in range(2):
        account = make_account(Role.INSPECTOR)
        pair = crypto.KeyPair.generate()
        db.get(User, account.id).public_key = pair.public_key
        ch.recipients.append(db.get(User, account.id))
        result.append((account, pair))
    db.commit()
    return result


def _file(app, channel, **kwargs):
    """File a report as a reporter would; its receipt and the case's id."""
    filed = ReporterClient(app.test_client()).file(channel.slug, ANSWERS, **kwargs)
    return filed.receipt, filed_report_id(app, filed)


def _marked(client, report_id: int) -> bool:
    """Whether the signed-in inspector's inbox marks the case as having new activity."""
    html = client.get("/cases/").get_data(as_text=True)
    row = re.search(rf'href="/cases/{report_id}">[^<]*</a>(.*?)</th>', html, re.S)
    assert row, f"case {report_id} is not in the inbox"
    return "New activity" in row.group(1)


def _listed(client, url: str) -> list[int]:
    """The cases of an inbox page, in the order shown."""
    return [int(i) for i in re.findall(r'href="/cases/(\d+)"', client.get(url).get_data(
        as_text=True))]


def test_new_activity_is_marked_for_each_inspector_until_they_open_the_case(
    app, channel, keyed_inspectors, db
) -> None:
    (first, _), (second, _) = keyed_inspectors
    receipt, report_id = _file(app, channel)
    one, two = signed_in(app, first), signed_in(app, second)
    assert _marked(one, report_id) and _marked(two, report_id)
    # Opening the case clears the marker for the one who opened it, and only for them.
    assert one.get(f"/cases/{report_id}").status_code == 200
    assert not _marked(one, report_id) and _marked(two, report_id)
    two.get(f"/cases/{report_id}")
    assert not _marked(two, report_id)
    # A reporter's message is new again for every reader.
    assert ReporterClient(app.test_client()).reply(receipt, "It happens on Tuesdays.")\
        .status_code == 201
    assert _marked(one, report_id) and _marked(two, report_id)
    one.get(f"/cases/{report_id}")
    two.get(f"/cases/{report_id}")
    # An inspector's own message is new for the other readers, not for its author.
    data = one.get(f"/cases/{report_id}/sealed").get_json()
    reply = seal_item(data, {"text": "Which lane?", "attachments": []}, note=False)
    assert one.post(f"/cases/{report_id}/messages", json=reply, headers={
        "X-CSRFToken": csrf_token(one, f"/cases/{report_id}")}).status_code == 201
    assert not _marked(one, report_id) and _marked(two, report_id)
    assert 'class="badge badge-new"' in two.get("/cases/").get_data(as_text=True)


def test_new_and_overdue_filters(app, channel, keyed_inspectors, db) -> None:
    (first, _), _ = keyed_inspectors
    ids = [_file(app, channel)[1] for _ in range(3)]
    db.execute(update(Report).where(Report.id == ids[0])
               .values(created_on=date.today() - timedelta(days=10)))  # acknowledge overdue
    db.commit()
    client = signed_in(app, first)
    client.get(f"/cases/{ids[1]}")  # seen
    assert sorted(_listed(client, "/cases/?new=1")) == sorted([ids[0], ids[2]])
    assert _listed(client, "/cases/?deadline=overdue") == [ids[0]]
    assert _listed(client, "/cases/?deadline=overdue&new=1") == [ids[0]]
    client.get(f"/cases/{ids[0]}")
    assert _listed(client, "/cases/?deadline=overdue&new=1") == []
    page = client.get("/cases/?new=1").get_data(as_text=True)
    assert "1 case with new activity" in page and 'name="new" value="1" checked' in page


def test_next_deadline_first_puts_cases_without_a_pending_deadline_last(
    app, channel, keyed_inspectors, db
) -> None:
    (first, _), _ = keyed_inspectors
    ids = [_file(app, channel)[1] for _ in range(4)]
    soon, later = date.today() + timedelta(days=2), date.today() + timedelta(days=30)
    for report_id, due in zip(ids, [later, None, soon, soon], strict=True):
        db.execute(update(Report).where(Report.id == report_id).values(next_due_on=due))
    db.commit()
    client = signed_in(app, first)
    assert _listed(client, "/cases/?sort=due") == [*sorted(ids[2:]), ids[0], ids[1]]
    # Newest first, ties by id: random, so the order of filing within a day does not show.
    assert _listed(client, "/cases/") == sorted(ids, reverse=True)


def _many_cases(db, channel_slug: str, user: User, count: int) -> None:
    """``count`` cases read by ``user``, many on the same day or due on the same day."""
    channel_id = db.scalar(select(Channel.id).where(Channel.slug == channel_slug))
    today = date.today()
    rows = [{"channel_id": channel_id, "created_on": today - timedelta(days=n % 4),
             "lookup_hash": os.urandom(32), "payload": b"x", "status": "new",
             "next_due_on": None if n % 5 == 0 else today + timedelta(days=n % 3)}
            for n in range(count)]
    ids = db.execute(insert(Report).returning(Report.id), rows).scalars().all()
    db.execute(insert(report_readers), [{"report_id": i, "user_id": user.id,
                                         "unseen": i % 2 == 0} for i in ids])
    db.commit()


def _expected(db, user: User, sort: Sort, new: bool) -> list[int]:
    rows = db.execute(select(Report.id, Report.created_on, Report.next_due_on,
                             report_readers.c.unseen)
                      .join(report_readers, report_readers.c.report_id == Report.id)
                      .where(report_readers.c.user_id == user.id)).all()
    rows = [row for row in rows if row.unseen or not new]
    if sort is Sort.NEWEST:
        return [row.id for row in sorted(rows, key=lambda r: (r.created_on, r.id), reverse=True)]
    return [row.id for row in sorted(rows, key=lambda r: (r.next_due_on is None,
                                                          r.next_due_on or date.min, r.id))]


@pytest.mark.parametrize("gather_limit", [0, 1000], ids=["walk", "gather"])
@pytest.mark.parametrize("sort", list(Sort))
@pytest.mark.parametrize("new", [False, True], ids=["all", "new"])
def test_keyset_pages_visit_every_case_once_in_order_forward_and_back(
    app, db, make_account, channel, sort, new, gather_limit
) -> None:
    user = db.get(User, make_account(Role.INSPECTOR).id)
    _many_cases(db, channel.slug, user, 23)
    expected = _expected(db, user, sort, new)
    filters, today = InboxFilters(new=new, sort=sort), date.today()
    with app.test_request_context():
        def page(position: Position):
            return inbox(db, user, filters, position, today, per_page=4,
                         gather_limit=gather_limit)

        forward, current = [], page(Position())
        first = current
        assert first.previous is None and first.total == len(expected)
        while True:
            forward.append([row.id for row in current.rows])
            if current.next is None:
                break
            current = page(Position(after=current.next))
        assert [i for rows in forward for i in rows] == expected
        last = page(Position(last=True))
        # The last page is the last four rows: pages walked back from it line up at the end.
        assert [row.id for row in last.rows] == expected[-4:] and last.next is None
        backward, current = [], last
        while True:
            backward.append([row.id for row in current.rows])
            if current.previous is None:
                break
            current = page(Position(before=current.previous))
        assert [i for rows in reversed(backward) for i in rows] == expected
        assert all(0 < len(rows) <= 4 for rows in forward + backward)


@pytest.mark.parametrize("cursor", ["garbage", "2026-13-45.1", "none.abc", ".", "2026-01-01.",
                                    "2026-01-01.-4", "2026-01-01." + "9" * 40, "0001-01-01.1",
                                    "none." + "9" * 17, "२०२६-०१-०१.१", "2026-01-01.1' OR 1=1"])
def test_a_tampered_or_malformed_cursor_gives_the_first_page(
    app, db, make_account, channel, cursor
) -> None:
    account = make_account(Role.INSPECTOR)
    _many_cases(db, channel.slug, db.get(User, account.id), 3)
    ids = list(db.scalars(select(Report.id)))
    client = signed_in(app, account)
    for name in ("after", "before"):
        response = client.get("/cases/", query_string={name: cursor, "sort": "due"})
        assert response.status_code == 200
        found = [int(i) for i in re.findall(r'href="/cases/(\d+)"',
                                            response.get_data(as_text=True))]
        assert sorted(found) == sorted(ids)
    assert Position.parse({"after": cursor}).after in (None, Cursor.parse(cursor))


def test_pager_links_walk_the_inbox(app, db, make_account, channel) -> None:
    account = make_account(Role.INSPECTOR)
    _many_cases(db, channel.slug, db.get(User, account.id), 30)
    client = signed_in(app, account)
    html = client.get("/cases/").get_data(as_text=True)
    assert "30 cases" in html and 'rel="prev"' not in html
    following = re.search(r'href="([^"]+)" rel="next"', html)
    assert following, "no link to the next page"
    second = client.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert 'rel="next"' not in second and 'rel="prev"' in second
    assert len(re.findall(r'href="/cases/\d+"', second)) == 5


def _go(client, reference: str):
    return client.post("/cases/go", data={"csrf_token": csrf_token(client, "/cases/"),
                                          "reference": reference}, follow_redirects=True)


def test_go_to_a_case_by_its_reference(app, channel, keyed_inspectors, db) -> None:
    (first, _), (second, _) = keyed_inspectors
    _, shared = _file(app, channel)
    _, excluded = _file(app, channel, excluded=[str(second.id)])
    references = dict(db.execute(select(Report.id, Report.reference)).all())
    client = signed_in(app, second)
    # As read aloud: lower case, without the hyphen, with spaces.
    typed = references[shared].lower().replace("-", " ")
    response = client.post("/cases/go", data={"csrf_token": csrf_token(client, "/cases/"),
                                              "reference": typed})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/cases/{shared}")
    # Another inspector's case and no case at all get the same answer.
    refused = _go(client, references[excluded]).get_data(as_text=True)
    unknown = _go(client, "ZZZZ-ZZZZ" if "ZZZZ-ZZZZ" not in references.values()
                  else "YYYY-YYYY").get_data(as_text=True)
    assert "No case of yours has this reference." in refused
    assert "No case of yours has this reference." in unknown
    assert f"/cases/{excluded}\"" not in refused
    malformed = _go(client, "K7QX-2M4").get_data(as_text=True)
    assert "A case reference has eight letters and digits" in malformed
    assert "A case reference has eight letters and digits" in _go(client, "O1IL-0000").get_data(
        as_text=True)


def test_each_row_shows_the_reference_and_the_day_of_the_last_activity(
    app, channel, keyed_inspectors, db
) -> None:
    (first, _), _ = keyed_inspectors
    _, report_id = _file(app, channel)
    db.execute(update(Report).where(Report.id == report_id)
               .values(last_activity_on=date(2026, 3, 14)))
    db.commit()
    reference = db.scalar(select(Report.reference).where(Report.id == report_id))
    html = signed_in(app, first).get("/cases/").get_data(as_text=True)
    assert f'class="reference" translate="no" href="/cases/{report_id}">{reference}</a>' in html
    with app.test_request_context():
        assert f"<td>{day(date(2026, 3, 14))}</td>" in html
