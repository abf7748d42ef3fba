"""Walking the site in Chromium, role by role, as the axe, right-to-left and pseudo-language
tests do: the demo data served on a free port, the people who sign in, and each role's walk
through every page it reaches (``PAGES``)."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask, template_rendered
from sqlalchemy import select

import crypto
from integrity.auth.services import create_user
from integrity.db import dispose, new_session
from tests.conftest import totp_now
from tests.helpers.browser import keyring_call, make_test_server
from tests.helpers.catalogs import ROOT

AXE_SOURCE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Every rule axe runs by default: WCAG 2.x A and AA, and its best practices.
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    rule: v.id, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary.replace(/\\s+/g, " ")),
  }));
}"""

# Every .table-wrap (a table that may scroll sideways) must be a region reached with Tab and
# named, whether or not it overflows at this width.
UNREACHABLE_TABLES = """() => [...document.querySelectorAll(".table-wrap")]
  .filter((wrap) => {
    const names = (wrap.getAttribute("aria-labelledby") || "").split(/\\s+/)
      .map((id) => document.getElementById(id)?.textContent.trim());
    const named = wrap.getAttribute("aria-label") || names.some(Boolean);
    const region = wrap.getAttribute("tabindex") === "0" && wrap.getAttribute("role") === "region";
    return !(region && named);
  })
  .map((wrap) => wrap.outerHTML.slice(0, 120))"""
PHONE = {"width": 360, "height": 740}
# What a browser without JavaScript shows: the <noscript> notices, parsed as such (a browser
# that runs scripts keeps their content as text).
SHOW_NOSCRIPT = """() => document.querySelectorAll("body noscript").forEach((notice) => {
  const shown = document.createElement("template");
  shown.innerHTML = notice.textContent;
  notice.replaceWith(shown.content);
})"""

# The page templates each role's walk shows (and axe checks); together, every page there is.
PAGES = {
    "reporter": {
        "reporting/index.html", "reporting/choose.html", "reporting/form.html",
        "reporting/receipt.html", "reporting/mailbox.html", "reporting/rights.html",
        "errors/error.html", "admin/setup_invalid.html",
    },
    "respondent": {"surveys/start.html", "surveys/form.html", "surveys/done.html"},
    "inspector": {
        "auth/login.html", "auth/code.html", "cases/inbox.html", "cases/case.html",
        "cases/oral.html", "cases/history.html", "auth/account.html", "auth/password.html",
        "auth/key.html", "auth/key_unlock.html",
    },
    "manager": {
        "dashboard/index.html", "dashboard/trends.html", "dashboard/surveys.html",
        "dashboard/wave.html", "dashboard/campaigns.html", "dashboard/campaign.html",
        "dashboard/campaign_form.html", "dashboard/posters.html", "dashboard/report.html",
        "dashboard/report_progress.html", "dashboard/campaign_translations.html",
        "auth/enrol.html",
    },
    "admin": {
        "admin/index.html", "admin/audit.html", "admin/audit_head.html", "admin/channels.html",
        "admin/channel.html",
        "admin/channel_new.html", "admin/categories.html", "admin/category.html",
        "admin/confirm_category.html", "admin/questions.html", "admin/question.html",
        "admin/confirm_question.html", "admin/preview.html", "admin/confirm_state.html",
        "admin/settings.html", "admin/units.html", "admin/unit.html", "admin/unit_import.html",
        "admin/users.html", "admin/user.html", "admin/invite.html", "admin/link.html",
        "admin/setup.html", "admin/confirm_link.html", "admin/confirm_user.html",
        "admin/confirm_role.html", "admin/reset.html", "admin/reset_done.html",
        "admin/translations.html", "admin/questionnaire_import.html", "admin/rights.html",
        "survey_admin/index.html", "survey_admin/edit.html", "survey_admin/preview.html",
        "survey_admin/question.html", "survey_admin/confirm.html", "survey_admin/waves.html",
        "survey_admin/translations.html",
    },
}
# Layouts, macros and pieces other templates include: never a page of their own.
NOT_PAGES = {"base.html", "admin/_layout.html"}


@dataclass
class Person:
    """Someone of the demo data who signs in."""

    email: str
    password: str
    totp_secret: str | None = None


@dataclass
class Site:
    """The served demo: its address, the people and ids of the data, the templates rendered."""

    url: str
    app: Flask
    people: dict[str, Person]
    ids: dict[str, Any]
    rendered: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_rendered(self) -> set[str]:
        with self.lock:
            names = set(self.rendered)
            self.rendered.clear()
        return names


def load_demo_site(app: Flask) -> tuple[dict[str, Person], dict[str, Any]]:
    """The demo data, a second channel (so the reporter chooses) and the staff to sign in."""
    from integrity import demo, demo_cases
    from integrity.channels import add_channel
    from integrity.models import (
        Campaign,
        Category,
        Channel,
        OrgUnit,
        Question,
        RecipientChange,
        Role,
        User,
    )
    from integrity.reporting.models import ClosingRequest, Report, report_readers
    from surveys.bank import load_template
    from surveys.demo import TEMPLATE
    from surveys.models import Survey, Wave
    from surveys.services import create_survey

    hasher = app.extensions["integrity.hasher"]
    with app.app_context():
        db = new_session(app)
        demo.load(db, hasher)
        customs = add_channel(db, "customs", "Customs declarations")
        customs.recipients.append(db.scalar(select(User).where(User.role == "inspector")))
        people = {a.role.value: Person(a.email, a.password, a.totp_secret)
                  for a in demo.DEMO_ACCOUNTS}
        # The demo inspector's published key, wrapped under its passphrase as at sign-in.
        inspector = db.scalar(select(User).where(User.email == people["inspector"].email))
        if inspector.wrapped_secret_key is None:
            wrapping = crypto.derive_staff_keys(
                people["inspector"].password, inspector.login_salt, inspector.login_opslimit,
                inspector.login_memlimit).wrapping_key
            inspector.wrapped_secret_key = crypto.wrap_private_key(
                demo.DEMO_INSPECTOR_KEY.secret_key, wrapping)
            inspector.key_scheme = 1  # moved to scheme 2 at its first sign-in
        # Inspectors at their first sign-in: one must change the printed passphrase, one has
        # no key yet.
        for name, must_change in (("first", True), ("keyless", False)):
            secret = pyotp.random_base32()
            create_user(db, hasher, email=f"{name}@example.org", name=f"{name.title()} Inspector",
                        role=Role.INSPECTOR, password="a passphrase for the tests",
                        totp_secret=secret, must_change_password=must_change)
            people[name] = Person(f"{name}@example.org", "a passphrase for the tests", secret)
        # Impartiality: a second administrator proposed to take the demo inspector off the
        # channel (the first confirms or declines it on the channel's page), and a colleague
        # asked to close a case they read with the demo inspector (who confirms or declines).
        colleague = db.scalar(select(User).where(User.email == "first@example.org"))
        proposer = create_user(db, hasher, email="second-admin@example.org",
                               name="Second Administrator", role=Role.ADMIN,
                               password="a passphrase for the tests",
                               totp_secret=pyotp.random_base32())
        channel = db.scalar(select(Channel).where(Channel.slug == demo.INTEGRITY_CHANNEL))
        db.add(RecipientChange(channel_id=channel.id, user_id=inspector.id, adding=False,
                               proposed_by_id=proposer.id))
        closing_case = db.scalar(select(Report.id).where(Report.status == "in_progress")
                                 .order_by(Report.created_on, Report.reference).limit(1))
        db.execute(report_readers.insert().values(report_id=closing_case, user_id=colleague.id))
        db.add(ClosingRequest(report_id=closing_case, requested_by_id=colleague.id,
                              outcome="substantiated"))
        # A survey still being written: the builder shows its editing forms.
        definition = load_template(TEMPLATE)
        draft = create_survey(db, replace(definition, title="Integrity survey, next year"))
        db.commit()
        ids = {
            "channel": channel.id,
            "category": db.scalar(select(Category.id).where(Category.channel_id == channel.id)),
            "question": db.scalar(select(Question.id).where(Question.channel_id == channel.id)),
            "org_unit": db.scalar(select(OrgUnit.id).where(OrgUnit.headcount > 0)),
            "keyless": db.scalar(select(User.id).where(User.email == "keyless@example.org")),
            "campaigns": list(db.scalars(select(Campaign.id))),
            "survey": db.scalar(select(Survey.id)),
            "waves": list(db.scalars(select(Wave.id))),
            "open_wave": db.scalar(select(Wave.id).where(Wave.state == "open")),
            "draft": draft.id,
            "draft_question": definition.sections[0].questions[0].key,
            "closing_case": closing_case,
            # The demo cases that show the case features (integrity/demo_cases.py).
            "feature_cases": list(db.scalars(select(Report.id).where(Report.reference.in_(
                [*demo_cases.RECEIPTS, demo_cases.RETALIATION_CASE]))
                .order_by(Report.reference))),
        }
        db.close()
    return people, ids


def demo_database(folder: Path, schema_templates: dict[str, str]) -> str:
    """A copy of the migrated SQLite database in ``folder``, as a database URL."""
    import shutil

    target = folder / "data" / "integrity.db"
    target.parent.mkdir(parents=True)
    shutil.copyfile(schema_templates["sqlite"], target)
    return f"sqlite:///{target}"


@contextlib.contextmanager
def serve_demo(app: Flask) -> Iterator[Site]:
    """``app`` with the demo data, served on a free port; the templates it renders noted."""
    people, ids = load_demo_site(app)
    httpd = make_test_server(app)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    served = Site(f"http://127.0.0.1:{httpd.server_port}", app, people, ids)

    def rendered(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        with served.lock:
            served.rendered.append(template.name)

    template_rendered.connect(rendered, app)
    try:
        yield served
    finally:
        template_rendered.disconnect(rendered, app)
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()
        dispose(app)


class Walk:
    """One role going through the site; every page it reaches is checked by axe."""

    def __init__(self, site: Site, browser: Any) -> None:
        self.site, self.browser = site, browser
        self.axe = AXE_SOURCE.read_text(encoding="utf-8")
        self.violations: list[str] = []
        self.checked: set[str] = set()
        self.contexts: list[Any] = []
        site.take_rendered()

    def page(self, *, scripts: bool = True) -> Any:
        """A page of a person of its own; without the application's scripts if told so.

        Chromium with JavaScript off would not run axe either, so the plain pages are shown
        with the page scripts refused instead, and their <noscript> notices: the same
        server-made pages and forms.
        """
        context = self.browser.new_context()
        if not scripts:
            context.route("**/static/dist/*", lambda route: route.abort())
        self.contexts.append(context)
        page = context.new_page()
        page.scripts = scripts
        return page

    def said(self, english: str) -> str:
        """How the pages put ``english`` (a text of the catalogs) in the language they speak."""
        return english

    def goto(self, page: Any, path: str) -> None:
        page.goto(self.site.url + path)
        self.check(page)

    def check(self, page: Any) -> None:
        """Run axe on the page as it is now; remember what it found and which template."""
        page.wait_for_load_state()
        self.checked |= self.site.take_rendered()
        path = page.url.removeprefix(self.site.url)
        if not page.scripts:
            page.evaluate(SHOW_NOSCRIPT)
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.evaluate(self.axe)
        # What folds away (a unit breakdown) is checked open.
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        found = set()
        size = page.viewport_size
        for viewport in (size, PHONE):  # at the desktop's width and at a phone's
            page.set_viewport_size(viewport)
            for violation in page.evaluate(RUN_AXE):
                where = "; ".join(violation["nodes"][:5])
                found.add(f"{path}: {violation['rule']} ({violation['help']}): {where}")
        page.set_viewport_size(size)
        for wrap in page.evaluate(UNREACHABLE_TABLES):
            found.add(f"{path}: a scrolling table is not a named region reached with Tab: {wrap}")
        self.violations.extend(sorted(found))

    def sign_in(self, page: Any, person: Person) -> None:
        """Both sign-in steps, typed as a person would; the pages on the way are checked."""
        page.goto(f"{self.site.url}/staff/login")
        page.wait_for_selector('#login-form[data-ready="1"]')
        self.check(page)
        page.get_by_label(self.said("E-mail address")).fill(person.email)
        page.get_by_label(self.said("Passphrase")).fill(person.password)
        page.get_by_role("button", name=self.said("Continue")).click()
        if person.totp_secret:
            page.wait_for_url("**/staff/login/code")
            self.check(page)
            page.get_by_label(self.said("Six-digit code from your authenticator app")).fill(
                totp_now(person.totp_secret))
            page.get_by_role("button", name=self.said("Sign in")).click()
        page.wait_for_url(re.compile(r".*/(cases|dashboard|admin|staff/password|staff/key)/?$"))

    def finish(self, role: str) -> None:
        for context in self.contexts:
            context.close()
        missing = PAGES[role] - self.checked
        assert not missing, f"not checked: {sorted(missing)}"
        if self.violations:
            pytest.fail("axe found:\n" + "\n".join(self.violations), pytrace=False)


def walk_reporter_pages(walk: Walk) -> None:
    """Every page a reporter sees, as a person would reach them."""
    from playwright.sync_api import expect

    page = walk.page()
    walk.goto(page, "/")
    # Other ways to report, and the reporter's rights: the installation's page.
    page.get_by_role("link", name=walk.said("Read about other ways to report, and your rights")
                     ).click()
    page.wait_for_url("**/rights")
    walk.check(page)
    walk.goto(page, "/report")
    walk.goto(page, "/report/integrity")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    page.get_by_role("button", name=walk.said("Send the report")).click()
    expect(page.locator("#what-error")).to_be_visible()
    walk.check(page)  # a question left unanswered, said next to it
    page.fill("#q-what", "The officer on lane 4 took cash.")
    page.check("input[name=q-ongoing][value=yes]")
    page.get_by_role("button", name=walk.said("Send the report")).click()
    expect(page.locator("#receipt-panel")).to_be_visible()
    walk.check(page)
    receipt = page.locator("#receipt").inner_text()
    walk.goto(page, "/mailbox")
    expect(page.locator("#mode")).to_have_attribute("data-mode", "browser")
    page.fill("#receipt-input", receipt)
    page.get_by_role("button", name=walk.said("Open")).click()
    expect(page.locator("#report-answers")).to_be_visible()
    walk.check(page)
    walk.goto(page, "/no-such-page")
    walk.goto(page, "/staff/setup/not-a-real-link")

    plain = walk.page(scripts=False)
    walk.goto(plain, "/report/integrity")
    plain.get_by_role("button", name=walk.said("Send the report")).click()
    walk.check(plain)  # refused: the form again, with the reason
    plain.fill("#q-what", "The officer on lane 4 took cash.")
    plain.get_by_role("button", name=walk.said("Send the report")).click()
    expect(plain.locator("#receipt")).to_be_visible()
    walk.check(plain)
    receipt = plain.locator("#receipt").inner_text()
    walk.goto(plain, "/mailbox")
    plain.fill("#receipt-input", receipt)
    plain.get_by_role("button", name=walk.said("Open")).click()
    expect(plain.locator("#report-answers")).to_be_visible()
    walk.check(plain)
    # The channel's own page, from the opened mailbox.
    plain.locator("main .rights-link a").click()
    plain.wait_for_url("**/report/integrity/rights")
    walk.check(plain)
    # Staff pages say what works without JavaScript (the sign-in form managers can use).
    walk.goto(plain, "/staff/login")
    walk.goto(plain, "/staff/login?form=plain")
    walk.finish("reporter")


def walk_survey_pages(walk: Walk) -> None:
    """Every page a respondent sees, as a person would reach them."""
    from playwright.sync_api import expect

    from surveys.demo import DEMO_CODES

    page = walk.page()
    walk.goto(page, "/survey")
    page.get_by_label(walk.said("Access code")).fill("NOT-A-CODE")
    page.get_by_role("button", name=walk.said("Start the survey")).click()
    walk.check(page)  # refused, in plain words
    page.get_by_label(walk.said("Access code")).fill(DEMO_CODES[0])
    page.get_by_role("button", name=walk.said("Start the survey")).click()
    expect(page.locator("#survey-pager")).to_be_visible()
    walk.check(page)
    for _ in range(20):  # part by part, to the last
        if page.locator("#survey-submit").is_visible():
            break
        page.get_by_role("button", name=walk.said("Next")).click()
        walk.check(page)
    page.get_by_role("button", name=walk.said("Send my answers")).click()
    expect(page.get_by_text(walk.said("Thank you"))).to_be_visible()
    walk.check(page)

    plain = walk.page(scripts=False)
    walk.goto(plain, "/survey")
    plain.get_by_label(walk.said("Access code")).fill(DEMO_CODES[1])
    plain.get_by_role("button", name=walk.said("Start the survey")).click()
    walk.check(plain)  # every section at once
    walk.finish("respondent")


def walk_inspector_pages(walk: Walk) -> None:
    """Every page an inspector sees, as a person would reach them."""
    people = walk.site.people
    page = walk.page()
    walk.sign_in(page, people["inspector"])
    walk.check(page)
    walk.goto(page, "/cases/?status=new")
    page.locator("table a").first.click()
    page.wait_for_selector('#case-content[data-opened="1"]')
    walk.check(page)
    # A final notice offers the outcomes it may close the case with.
    page.get_by_label(walk.said("Final notice: the outcome and its grounds")).check()
    page.wait_for_selector("#reply-outcome-field:not([hidden])")
    walk.check(page)
    page.locator('a[href$="/history"]').first.click()
    page.wait_for_selector("h1")
    walk.check(page)
    # A case a colleague asked to close, which the inspector confirms or declines; they read
    # it together, so the inspector may also take the colleague off it.
    walk.goto(page, f"/cases/{walk.site.ids['closing_case']}")
    page.wait_for_selector('#case-content[data-opened="1"]')
    page.wait_for_selector("#closing-request")
    walk.check(page)
    # The cases that show what a case holds besides its thread: persons concerned, check-ins,
    # a legal hold and a deleted message; a report of retaliation with its protection and a
    # request for a call; oral reports whose records wait for agreement or were agreed.
    for case_id in walk.site.ids["feature_cases"]:
        walk.goto(page, f"/cases/{case_id}")
        page.wait_for_selector('#case-content[data-opened="1"]')
        walk.check(page)
    walk.goto(page, "/cases/oral")
    walk.goto(page, "/staff/account")
    # The page that completes the key after sign-in moves on by itself; with a sign-in waiting
    # in the keyring and the server's share refused it stays, showing its refusal, and is
    # checked so.
    keyring_call(page, "split-passphrase", {"passphrase": "a sign-in to complete", "salt": "A" * 22,
                                            "opslimit": 2, "memlimit": 8388608})
    page.route("**/staff/key/share", lambda route: route.abort())
    page.goto(walk.site.url + "/staff/key/unlock?next=/cases/")
    page.wait_for_selector("#key-unlock-failed:not([hidden])")
    walk.check(page)
    page.unroute("**/staff/key/share")

    first = walk.page()
    walk.sign_in(first, people["first"])
    walk.check(first)  # the printed passphrase must be changed
    keyless = walk.page()
    walk.sign_in(keyless, people["keyless"])
    keyless.wait_for_selector('#key-setup[data-ready="1"]')
    walk.check(keyless)
    walk.finish("inspector")


def walk_manager_pages(walk: Walk) -> None:
    """Every page a manager sees, as a person would reach them."""
    from playwright.sync_api import expect

    ids = walk.site.ids
    page = walk.page()
    walk.sign_in(page, walk.site.people["manager"])
    walk.check(page)
    for path in ("/dashboard/?granularity=quarter", "/dashboard/trends", "/dashboard/surveys/",
                 *(f"/dashboard/surveys/waves/{wave}" for wave in ids["waves"]),
                 "/dashboard/campaigns/",
                 *(f"/dashboard/campaigns/{campaign}" for campaign in ids["campaigns"]),
                 "/dashboard/campaigns/new", f"/dashboard/campaigns/{ids['campaigns'][0]}/edit",
                 f"/dashboard/campaigns/{ids['campaigns'][0]}/translations",
                 "/dashboard/posters", "/staff/two-factor", "/dashboard/report"):
        walk.goto(page, path)
    _a_table_takes_the_keyboard_focus_visibly(walk, f"/dashboard/surveys/waves/{ids['waves'][0]}")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r".*/dashboard/report/[^/]+$"))
    walk.check(page)  # being built
    expect(page.locator("#report-link")).to_be_visible(timeout=120_000)
    walk.check(page)  # ready to download
    walk.finish("manager")


def _a_table_takes_the_keyboard_focus_visibly(walk: Walk, path: str) -> None:
    """Tab reaches the page's first table that scrolls at a phone's width, and shows it."""
    page = walk.page()
    page.set_viewport_size(PHONE)
    walk.sign_in(page, walk.site.people["manager"])
    page.goto(walk.site.url + path)
    wrap = page.locator(".table-wrap").first
    for _ in range(200):
        page.keyboard.press("Tab")
        if wrap.evaluate("wrap => wrap === document.activeElement"):
            break
    assert wrap.evaluate("wrap => wrap === document.activeElement"), "Tab never reached it"
    assert wrap.evaluate("wrap => wrap.scrollWidth > wrap.clientWidth"), "it does not scroll"
    style = wrap.evaluate("wrap => getComputedStyle(wrap).outlineStyle")
    assert style == "solid"
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.activeElement.scrollLeft > 0")  # keys scroll it


def walk_administration_pages(walk: Walk) -> None:
    """Every page an administrator sees, as a person would reach them."""
    from playwright.sync_api import expect

    ids = walk.site.ids
    page = walk.page()
    walk.sign_in(page, walk.site.people["admin"])
    walk.check(page)
    channel, user = ids["channel"], ids["keyless"]
    for path in (
        "/admin/", "/admin/audit", "/admin/audit/head", "/admin/channels",
        f"/admin/channels/{channel}",
        "/admin/channels/new",
        f"/admin/channels/{channel}/categories", f"/admin/categories/{ids['category']}",
        f"/admin/categories/{ids['category']}/retire", f"/admin/channels/{channel}/questions",
        f"/admin/questions/{ids['question']}", f"/admin/channels/{channel}/questions/new",
        f"/admin/questions/{ids['question']}/remove", f"/admin/channels/{channel}/preview",
        f"/admin/channels/{channel}/state/closed", f"/admin/channels/{channel}/translations",
        f"/admin/channels/{channel}/questionnaire/import",
        "/admin/units/translations", "/admin/settings", "/admin/rights",
        f"/admin/channels/{channel}/rights", "/admin/rights/translations", "/admin/units",
        f"/admin/units/{ids['org_unit']}", "/admin/units/new", "/admin/units/import",
        "/admin/users", f"/admin/users/{user}", f"/admin/users/{user}/link",
        f"/admin/users/{user}/deactivate", f"/admin/users/{user}/role?role=manager",
        "/admin/surveys/", f"/admin/surveys/{ids['survey']}",
        f"/admin/surveys/{ids['survey']}/preview", f"/admin/surveys/{ids['survey']}/waves",
        f"/admin/surveys/waves/{ids['open_wave']}/close",
        # The first language to translate into; with one language, a page saying so.
        f"/admin/surveys/{ids['survey']}/translations",
    ):
        walk.goto(page, path)
    draft = f"/admin/surveys/{ids['draft']}"
    walk.goto(page, draft)
    walk.goto(page, f"{draft}/questions/{ids['draft_question']}")
    walk.goto(page, f"{draft}/questions/{ids['draft_question']}/remove")

    walk.goto(page, f"/admin/users/{user}/reset")
    page.get_by_label(walk.said("Reason")).fill("Phone lost, reported in person.")
    page.get_by_role("button", name=walk.said("Reset")).click()
    walk.check(page)

    walk.goto(page, "/admin/users/invite")
    page.get_by_label(walk.said("Name")).fill("Nadia Novak")
    page.get_by_label(walk.said("E-mail address")).fill("nadia@example.org")
    page.get_by_label(walk.said("Role")).select_option("manager")
    page.get_by_role("button", name=walk.said("Create the account and the link")).click()
    expect(page.locator("#setup-link")).to_be_visible()
    walk.check(page)
    link = page.locator("#setup-link").inner_text().strip()
    invited = walk.page(scripts=False)
    walk.goto(invited, "/staff/setup/" + link.rsplit("/staff/setup/", 1)[1])
    walk.goto(invited, "/staff/setup?form=plain")  # an administrator's or manager's own form
    walk.goto(walk.page(), "/staff/setup/" + link.rsplit("/staff/setup/", 1)[1])
    walk.finish("admin")
