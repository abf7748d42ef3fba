"""The inspectors' inbox and case pages: who sees what, filters, workflow through the pages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from crypto import KeyPair
from integrity.audit import AuditEntry, verify
from integrity.cases.deadlines import add_months
from integrity.cases.inbox import feedback_start_cutoff
from integrity.models import Channel, Role, User
from integrity.reporting.models import Report
from tests.conftest import csrf_token
from tests.helpers.reports import CASE_ANSWERS, file_report


@pytest.fixture
def inspectors(db, make_account, channel):
    """Two inspectors who sign in, both recipients of the channel."""
    accounts = []
    ch = db.scalar(select(Channel).where(Channel.slug == channel.slug))
    for _ in range(2):
        account = make_account(Role.INSPECTOR)
        user = db.get(User, account.id)
        user.public_key = KeyPair.generate().public_key
        ch.recipients.append(user)
        accounts.append(account)
    db.commit()
    return accounts


def test_inspector_sees_only_the_cases_sealed_to_them(app, client, login, channel, inspectors,
                                                      db) -> None:
    first, second = inspectors
    shared = file_report(client, channel)
    excluded = file_report(client, channel, excluded=[str(second.id)])
    login(second)
    page = client.get("/cases/").get_data(as_text=True)
    assert f"/cases/{shared}" in page and f"/cases/{excluded}" not in page
    assert "1 case" in page
    # The excluded inspector does not even learn the case exists.
    assert client.get(f"/cases/{excluded}").status_code == 404
    assert client.get("/cases/999999").status_code == 404
    assert client.post(f"/cases/{excluded}/status", data={
        "csrf_token": csrf_token(client, "/cases/"), "status": "acknowledged"}).status_code == 404
    other = app.test_client()
    from tests.helpers.pages import sign_in

    sign_in(other, first)
    assert f"/cases/{excluded}" in other.get("/cases/").get_data(as_text=True)
    assert "Waving through without checks" in other.get(f"/cases/{excluded}").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_and_admins_get_403_on_every_case_route(app, make_account, role, channel,
                                                         client) -> None:
    from tests.helpers.pages import sign_in

    report_id = file_report(client, channel)
    other = app.test_client()
    sign_in(other, make_account(role))
    token = csrf_token(other, "/staff/account")
    # Any other part of a case (a message, a person concerned) by a number of its own.
    values = {"report_id": report_id, "attachment_id": "a" * 32}
    routes = [(method, rule.rule, {k: values.get(k, "1") for k in rule.arguments})
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("cases.")
              for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert len(routes) >= 9  # every route of the blueprint, as the URL map lists them
    for method, rule, arguments in routes:
        path = rule
        for name, value in arguments.items():
            for form in (f"<int:{name}>", f"<row_id:{name}>", f"<{name}>"):
                path = path.replace(form, str(value))
        response = other.open(path, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (method, path)
        assert CASE_ANSWERS["what"] not in response.get_data(as_text=True)


def test_status_and_assignment_through_the_case_page_are_audited(client, login, channel,
                                                                  inspectors, db) -> None:
    first, second = inspectors
    report_id = file_report(client, channel)
    login(first)
    assert client.get(f"/cases/{report_id}").status_code == 200
    token = csrf_token(client, f"/cases/{report_id}")
    refused = client.post(f"/cases/{report_id}/status",
                          data={"csrf_token": token, "status": "closed", "outcome": ""})
    assert refused.status_code == 302
    client.post(f"/cases/{report_id}/status",
                data={"csrf_token": token, "status": "acknowledged", "outcome": ""})
    client.post(f"/cases/{report_id}/assign", data={"csrf_token": token,
                                                    "assignee": str(second.id)})
    close = {"csrf_token": token, "status": "closed", "outcome": "substantiated"}
    # No final notice was sent to the reporter yet: the close is refused, with the reason.
    client.post(f"/cases/{report_id}/status", data=close)
    page = client.get(f"/cases/{report_id}").get_data(as_text=True)
    assert "Send the reporter a final notice (the outcome and its grounds) before" in page
    assert db.get(Report, report_id).status == "acknowledged"
    db.execute(update(Report).where(Report.id == report_id)
               .values(final_notice_on=date.today()))  # as sending one does (test_case_thread)
    db.commit()
    client.post(f"/cases/{report_id}/status", data=close)
    db.expire_all()
    report = db.get(Report, report_id)
    assert (report.status, report.outcome, report.assignee_id) == ("closed", "substantiated",
                                                                   second.id)
    actions = [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.seq))
               if e.subject == f"report:{report_id}"]
    assert actions.count("case_opened") >= 1
    changes = [a for a in actions if a != "case_opened"]
    assert changes == ["status_changed", "assigned", "status_changed"]
    assert verify(db).ok


def test_deadline_filters_find_overdue_cases(client, login, channel, inspectors, db) -> None:
    first, _ = inspectors
    today = date.today()
    ids = [file_report(client, channel) for _ in range(3)]
    db.execute(update(Report).where(Report.id == ids[0])
               .values(created_on=today - timedelta(days=8)))            # acknowledge overdue
    db.execute(update(Report).where(Report.id == ids[1])
               .values(created_on=today - timedelta(days=200),
                       acknowledged_on=today - timedelta(days=199)))   # feedback overdue
    db.commit()
    login(first)

    def listed(deadline: str) -> set[int]:
        html = client.get(f"/cases/?deadline={deadline}").get_data(as_text=True)
        return {i for i in ids if f"/cases/{i}\"" in html}

    assert listed("acknowledge_overdue") == {ids[0]}
    assert listed("feedback_overdue") == {ids[1]}
    assert listed("overdue") == {ids[0], ids[1]}
    assert "Overdue: acknowledge by" in client.get("/cases/").get_data(as_text=True)


@pytest.mark.parametrize("today", [date(2026, 5, 31), date(2027, 3, 1), date(2028, 2, 29),
                                   date(2028, 5, 31), date(2026, 12, 1)])
def test_feedback_cutoff_matches_the_deadline_rule(today: date) -> None:
    cutoff = feedback_start_cutoff(today)
    assert add_months(cutoff, 3) >= today
    assert add_months(cutoff - timedelta(days=1), 3) < today
