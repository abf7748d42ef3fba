"""Anonymous pages leave no cookie; their forms carry a signed, time-limited, single-use token."""

from __future__ import annotations

import hashlib
import io
import re
import time

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from integrity import anonymous_forms, current
from integrity.extensions import limiter
from integrity.models import Role, today
from integrity.reporting.models import Attachment, Message, Report
from surveys.models import SurveyResponse
from tests.conftest import REDIS_URL, csrf_token
from tests.helpers.reports import MAILBOX_TOKEN, plain_mailbox_token
from tests.helpers.stored import folder
from tests.helpers.surveys import every_type, open_survey

RECEIPT = re.compile(r'id="receipt"[^>]*>(\d{4} \d{4} \d{4} \d{4} \d{4})<')
REPORT = {"q-what": "Officer at lane 4 asks 20 EUR per car.", "q-when": "2026-11-20",
          "q-ongoing": "yes", "category": "bribery"}
EXPIRED = "has expired"
FORGED = "was not sent from this site"
SPENT = "already sent once"


def no_cookie(response):
    """``response``, after checking that it sets no cookie (the session one or any other)."""
    assert response.headers.getlist("Set-Cookie") == [], (response.request.path,
                                                          response.headers.getlist("Set-Cookie"))
    return response


def count(db, model) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)))


@pytest.fixture
def survey(db):
    """A survey with codes that is also open to anyone with its address."""
    definition = every_type()
    definition["open_link"] = True
    return open_survey(db, today=today(), definition=definition)


def _file(client, path: str, token: str, **extra):
    """Send the plain report form at ``path`` with ``token``."""
    return client.post(path, data={"csrf_token": token, **REPORT, **extra},
                       content_type="multipart/form-data")


def _move_clock(monkeypatch, seconds: float) -> None:
    started = time.time()
    monkeypatch.setattr(anonymous_forms, "clock", lambda: started + seconds)


def test_no_anonymous_page_or_form_sets_a_cookie(client, channel, survey, db) -> None:
    slug = f"/report/{channel.slug}"
    for path in ("/", "/report", slug, "/report/no-such-channel", "/mailbox", "/survey",
                 "/rights", f"{slug}/rights", "/report/no-such-channel/rights",
                 f"/survey/open/{survey.survey_id}", "/survey/open/99999"):
        no_cookie(client.get(path))
    no_cookie(client.put(slug))  # an address that refuses the method
    # A report through the plain form, refused, then filed; and a replay of it.
    token = csrf_token(client, slug)
    assert no_cookie(_file(client, slug, "forged")).status_code == 400
    assert no_cookie(_file(client, slug, token, **{"q-what": ""})).status_code == 400
    token = csrf_token(client, slug)
    filed = no_cookie(_file(client, slug, token, files=(io.BytesIO(b"plan"), "plan.txt")))
    assert filed.status_code == 200
    assert no_cookie(_file(client, slug, token)).status_code == 400
    receipt = RECEIPT.search(filed.get_data(as_text=True)).group(1)
    # The mailbox: opened with the receipt, a wrong one, a reply and a download.
    token = csrf_token(client, "/mailbox")
    opened = no_cookie(client.post("/mailbox", data={"csrf_token": token, "receipt": receipt}))
    assert opened.status_code == 200
    mailbox_token = MAILBOX_TOKEN.search(opened.get_data(as_text=True)).group(1)
    assert no_cookie(client.post("/mailbox", data={
        "csrf_token": token, "receipt": "1234 5678 9012 3456 7890"})).status_code == 404
    assert no_cookie(client.post("/mailbox", data={"receipt": receipt})).status_code == 400
    assert no_cookie(client.post("/mailbox/reply", data={
        "csrf_token": token, "mailbox_token": mailbox_token,
        "text": "Night shifts."})).status_code == 200
    attachment = db.scalar(select(Attachment.id))
    download = no_cookie(client.post("/mailbox/file", data={
        "csrf_token": token, "mailbox_token": mailbox_token, "attachment": attachment}))
    assert download.status_code == 200
    download.close()
    assert no_cookie(client.post("/mailbox/reply", data={
        "csrf_token": token, "mailbox_token": "expired", "text": "More."})).status_code == 400
    # A survey: a code typed in or from a link, the answers, and the open-link survey.
    no_cookie(client.get(f"/survey?code={survey.code_for(0)}"))
    token = csrf_token(client, "/survey")
    assert no_cookie(client.post("/survey", data={
        "csrf_token": token, "code": survey.code_for(0)})).status_code == 200
    assert no_cookie(client.post("/survey", data={
        "csrf_token": token, "code": "0000-0000-0000"})).status_code == 404
    assert no_cookie(client.post("/survey/answers", data={
        "csrf_token": token, "code": survey.code_for(0), "q-aware": "no"})).status_code == 200
    open_url = f"/survey/open/{survey.survey_id}"
    assert no_cookie(client.post(open_url, data={
        "csrf_token": csrf_token(client, open_url), "q-aware": "yes"})).status_code == 200
    assert no_cookie(client.post(open_url, data={"q-aware": "yes"})).status_code == 400
    assert count(db, Report) == 1 and count(db, Message) == 1 and count(db, SurveyResponse) == 2
    assert client.get_cookie("integrity_session") is None


def test_every_anonymous_form_refuses_a_missing_or_forged_token_and_stores_nothing(
    app, client, channel, survey, db
) -> None:
    html = _file(client, f"/report/{channel.slug}", csrf_token(client, f"/report/{channel.slug}"))
    receipt = RECEIPT.search(html.get_data(as_text=True)).group(1)
    opened = {"mailbox_token": plain_mailbox_token(client, receipt)}
    before = (count(db, Report), count(db, Message), count(db, SurveyResponse))
    other_secret = URLSafeTimedSerializer("another key", salt=anonymous_forms.SALT).dumps("x")
    posts = {
        "reporting.file_plain": (f"/report/{channel.slug}", REPORT),
        "reporting.mailbox_open": ("/mailbox", {"receipt": receipt}),
        "reporting.mailbox_reply": ("/mailbox/reply", {**opened, "text": "More."}),
        "reporting.mailbox_file": ("/mailbox/file", {**opened, "attachment": "1"}),
        "reporting.mailbox_close": ("/mailbox/close", {**opened}),
        "reporting.mailbox_agree": ("/mailbox/agree", {**opened, "record": "1"}),
        "reporting.mailbox_case": ("/mailbox/case", {**opened}),
        "reporting.mailbox_retaliation": ("/mailbox/retaliation",
                                          {**opened, "what_happened": "Moved to nights."}),
        "reporting.mailbox_stop_check_ins": ("/mailbox/check-ins/stop", {**opened}),
        "surveys.enter": ("/survey", {"code": survey.code_for(1)}),
        "surveys.submit": ("/survey/answers", {"code": survey.code_for(1), "q-aware": "no"}),
        "surveys.submit_open": (f"/survey/open/{survey.survey_id}", {"q-aware": "no"}),
    }
    # Every form an anonymous page takes is here: a new one must check its token too.
    assert set(posts) == {rule.endpoint for rule in app.url_map.iter_rules()
                          if "POST" in (rule.methods or ())
                          and rule.endpoint.partition(".")[0]
                          in anonymous_forms.ANONYMOUS_BLUEPRINTS}
    for endpoint, (path, data) in posts.items():
        for token, sentence in ((None, FORGED), ("", FORGED), ("made.up.token", FORGED),
                                (other_secret, FORGED)):
            sent = data if token is None else {**data, "csrf_token": token}
            response = no_cookie(client.post(path, data=sent))
            assert response.status_code == 400, (endpoint, response.status_code)
            page = response.get_data(as_text=True)
            assert sentence in page, endpoint
            assert 'name="csrf_token"' in page  # the form again, with a token that works
    assert (count(db, Report), count(db, Message), count(db, SurveyResponse)) == before
    # What was typed is still in the form sent back; a file sent with it is not kept.
    kept = set(current.attachment_store(app).ids())
    refused = _file(client, f"/report/{channel.slug}", "forged",
                    files=(io.BytesIO(b"MARKER" * 1000), "plan.txt"))
    assert "Officer at lane 4 asks 20 EUR per car.</textarea>" in refused.get_data(as_text=True)
    assert set(current.attachment_store(app).ids()) == kept
    root = folder(app).root
    assert not root.exists() or not [p for p in root.iterdir() if p.name.startswith(".")]
    assert count(db, Report) == before[0] and count(db, Attachment) == 0


def test_a_token_lasts_twelve_hours_then_the_form_comes_back(
    client, channel, survey, db, monkeypatch
) -> None:
    slug = f"/report/{channel.slug}"
    late, on_time, answers_late = (csrf_token(client, slug), csrf_token(client, slug),
                                   csrf_token(client, "/survey"))
    _move_clock(monkeypatch, 12 * 3600 + 60)
    refused = no_cookie(_file(client, slug, late))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "This form was open for more than 12 hours and has expired" in page
    assert "Officer at lane 4 asks 20 EUR per car.</textarea>" in page
    expired_answers = client.post("/survey/answers", data={
        "csrf_token": answers_late, "code": survey.code_for(0), "q-aware": "no"})
    assert expired_answers.status_code == 400 and EXPIRED in expired_answers.get_data(as_text=True)
    assert count(db, Report) == 0 and count(db, SurveyResponse) == 0
    # The form sent back carries a new token, good from now on.
    fresh = csrf_token(client, slug)
    assert _file(client, slug, fresh).status_code == 200
    # Eleven hours of writing is fine.
    _move_clock(monkeypatch, 11 * 3600)
    assert _file(client, slug, on_time).status_code == 200
    assert count(db, Report) == 2


def test_a_form_sent_twice_is_stored_once(client, channel, survey, db) -> None:
    slug = f"/report/{channel.slug}"
    token = csrf_token(client, slug)
    filed = _file(client, slug, token)
    assert filed.status_code == 200
    again = _file(client, slug, token)
    assert again.status_code == 400 and SPENT in again.get_data(as_text=True)
    assert count(db, Report) == 1
    receipt = RECEIPT.search(filed.get_data(as_text=True)).group(1)
    token = csrf_token(client, "/mailbox")
    reply = {"csrf_token": token, "mailbox_token": plain_mailbox_token(client, receipt),
             "text": "Night shifts."}
    assert client.post("/mailbox/reply", data=reply).status_code == 200
    resent = client.post("/mailbox/reply", data=reply)
    assert resent.status_code == 400 and SPENT in resent.get_data(as_text=True)
    assert count(db, Message) == 1
    # The refused reply comes back in its box, in the opened mailbox: nothing typed is lost.
    assert '<textarea id="reply-text" name="text" rows="5" maxlength="20000">Night shifts.' \
        in resent.get_data(as_text=True)
    # Opening the mailbox is no change: the same page may open it again.
    assert client.post("/mailbox", data={"csrf_token": token,
                                         "receipt": receipt}).status_code == 200
    open_url = f"/survey/open/{survey.survey_id}"
    token = csrf_token(client, open_url)
    answers = {"csrf_token": token, "q-aware": "yes"}
    assert client.post(open_url, data=answers).status_code == 200
    replayed = client.post(open_url, data=answers)
    assert replayed.status_code == 400 and SPENT in replayed.get_data(as_text=True)
    token = csrf_token(client, "/survey")
    coded = {"csrf_token": token, "code": survey.code_for(0), "q-aware": "no"}
    assert client.post("/survey/answers", data=coded).status_code == 200
    assert client.post("/survey/answers", data={**coded, "code": survey.code_for(1)}
                       ).status_code == 400
    assert count(db, SurveyResponse) == 2


def test_staff_pages_keep_their_session_and_anonymous_pages_ignore_it(
    client, channel, make_account, login, db
) -> None:
    admin = make_account(Role.ADMIN)
    login(admin)
    assert client.get_cookie("integrity_session") is not None
    page = no_cookie(client.get(f"/report/{channel.slug}"))
    # The reporting pages do not know who is signed in, even on a staff member's browser.
    assert "Sign out" not in page.get_data(as_text=True)
    assert _file(client, f"/report/{channel.slug}",
                 csrf_token(client, f"/report/{channel.slug}")).status_code == 200
    staff = client.get("/admin/")
    assert staff.status_code == 200 and "Sign out" in staff.get_data(as_text=True)
    # Staff pages' name links to the staff home, where the session still counts.
    assert '<a class="brand" href="/staff/">' in staff.get_data(as_text=True)
    # Staff forms still carry Flask-WTF's token, which lives in the session.
    refused = client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/survey")})
    assert refused.status_code == 400
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("settings_overrides", [{}, {"redis_url": REDIS_URL}],
                         ids=["memory", "redis"])
def test_a_spent_token_is_kept_in_the_limiter_storage_for_the_token_lifetime(
    app, client, channel, db, settings_overrides
) -> None:
    storage = limiter.storage
    if settings_overrides:
        assert type(storage).__name__ == "RedisStorage"
        storage.reset()  # counters left by an earlier run in the same hour
    slug = f"/report/{channel.slug}"
    token = csrf_token(client, slug)
    assert _file(client, slug, token).status_code == 200
    nonce = URLSafeTimedSerializer(app.secret_key, salt=anonymous_forms.SALT, signer_kwargs={
        "digest_method": hashlib.sha256}).loads(token)
    key = f"integrity/form-token/{nonce}"
    assert storage.get(key) == 1
    assert 12 * 3600 - 60 < storage.get_expiry(key) - time.time() <= 12 * 3600 + 1
    refused = _file(client, slug, token)
    assert refused.status_code == 400 and SPENT in refused.get_data(as_text=True)
    assert count(db, Report) == 1
