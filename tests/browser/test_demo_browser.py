"""The demo installation in real Chromium: the demo inspector signs in and opens a demo case
(the newest: a generated one, or one of those that show the case features)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from integrity.demo import WHAT
from integrity.demo_cases import TEXTS
from tests.conftest import DEMO_INSPECTOR as INSPECTOR
from tests.helpers.browser import serving, sign_in_in_browser


@pytest.fixture
def demo_url(demo_app: Flask) -> Iterator[str]:
    with serving(demo_app) as url:
        yield url


def test_the_demo_inspector_opens_a_demo_case_in_chromium(
        page, demo_url: str) -> None:
    bodies: list[str] = []
    page.on("request", lambda request: bodies.append(request.post_data or ""))
    sign_in_in_browser(page, demo_url, INSPECTOR)
    page.wait_for_url("**/cases/")
    page.locator("table a").first.click()
    page.wait_for_selector('#case-content[data-opened="1"]')
    assert page.inner_text("#case-answers").strip()
    assert any(what in page.inner_text("#case-answers") for what in (*WHAT, *TEXTS))
    assert page.locator("#key-file-form").is_hidden()
    assert not any(INSPECTOR.password in body for body in bodies)
    assert page.console_errors == []


INTACT = "Authentic: every message is as its writer sent it, in its place."


def test_the_demo_feature_cases_open_as_authentic_on_both_sides_in_chromium(
        open_page, demo_app: Flask, demo_url: str) -> None:
    """The published receipts open the closed case's mailbox with its check-in, its report of
    retaliation and the deleted message in an authentic thread, and the oral report's, whose
    record its reporter agrees; the inspector sees the case's persons, and the report of
    retaliation's protection and request for a call."""
    from playwright.sync_api import expect
    from sqlalchemy import select

    import crypto
    from integrity import demo_cases
    from integrity.db import new_session
    from integrity.reporting.models import Report

    with new_session(demo_app) as session:
        ids = {reference: session.scalar(select(Report.id).where(Report.reference == reference))
               for reference in (demo_cases.CLOSED_CASE, demo_cases.RETALIATION_CASE)}
    reporter = open_page()
    reporter.goto(f"{demo_url}/mailbox")
    expect(reporter.locator("#mode")).to_have_attribute("data-mode", "browser")
    reporter.fill("#receipt-input", crypto.format_receipt(
        demo_cases.RECEIPTS[demo_cases.CLOSED_CASE]))
    reporter.get_by_role("button", name="Open").click()
    expect(reporter.locator("#mailbox-view")).to_be_visible()
    expect(reporter.locator("#report-answers")).to_contain_text(demo_cases.CLOSED_REPORT)
    expect(reporter.locator("#thread-status")).to_have_text(INTACT)
    expect(reporter.locator("#readers-alarm")).to_have_count(0)
    expect(reporter.locator("#check-ins li")).to_have_count(1)
    expect(reporter.locator("#linked-cases li")).to_have_count(1)
    expect(reporter.locator("#thread")).to_contain_text(demo_cases.CLOSED_NOTICE)
    # The oral report's reporter agrees its record.
    oral = open_page()
    oral.goto(f"{demo_url}/mailbox")
    expect(oral.locator("#mode")).to_have_attribute("data-mode", "browser")
    oral.fill("#receipt-input", crypto.format_receipt(
        demo_cases.RECEIPTS[demo_cases.ORAL_AWAITING]))
    oral.get_by_role("button", name="Open").click()
    expect(oral.locator("#thread")).to_contain_text(demo_cases.ORAL_MINUTES[0])
    oral.get_by_role("button", name="I agree").click()
    expect(oral.locator("#thread")).to_contain_text("that this record is accurate.")

    inspector = open_page()
    sign_in_in_browser(inspector, demo_url, INSPECTOR)
    inspector.wait_for_url("**/cases/")
    inspector.goto(f"{demo_url}/cases/{ids[demo_cases.CLOSED_CASE]}")
    inspector.wait_for_selector('#case-content[data-opened="1"]')
    expect(inspector.locator("#case-thread-status")).to_have_text(INTACT)
    expect(inspector.locator("#case-readers-alarm")).to_have_count(0)
    expect(inspector.locator("#persons-list li.person")).to_have_count(3)
    expect(inspector.locator("#persons-list")).to_contain_text(demo_cases.STATEMENT)
    expect(inspector.locator("#case-thread")).to_contain_text(demo_cases.DELETION_REASON)
    expect(inspector.locator("#case-kept")).to_contain_text("On legal hold")
    inspector.goto(f"{demo_url}/cases/{ids[demo_cases.RETALIATION_CASE]}")
    inspector.wait_for_selector('#case-content[data-opened="1"]')
    expect(inspector.locator("#case-thread-status")).to_have_text(INTACT)
    expect(inspector.locator("#protection-records > li")).to_have_count(2)
    expect(inspector.locator("#protection-records")).to_contain_text(demo_cases.MEASURE)
    expect(inspector.locator("#case-meeting")).to_be_visible()
    expect(inspector.locator("#case-linked")).to_contain_text(demo_cases.CLOSED_CASE)
    assert reporter.console_errors == oral.console_errors == inspector.console_errors == []
