"""The forms without JavaScript (a report, a reply in the mailbox, a survey's answers, by code
and by open link) sent with generated values: text with NULs, huge strings, odd Unicode,
missing fields, several values for one field, files where text is expected, bad form tokens.
Never a 5xx; and a refusal stores nothing (reports, messages, attachments, survey responses
and answers counted before and after). On SQLite and PostgreSQL; derandomized."""

from __future__ import annotations

import io
import itertools
from typing import Any

import pytest
from sqlalchemy import func, select

from integrity.anonymous_forms import issue
from integrity.reporting.models import Attachment, KeySlot, Message, Report
from surveys.models import Answer, Comment, SurveyResponse
from tests.helpers.reports import plain_mailbox_token
from tests.helpers.surveys import FORM_ANSWERS, every_type, open_survey_today

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")

EXAMPLES = 40  # per form and database
REFUSALS = {400, 404, 409, 413, 415, 429}
# Each example comes from an address of its own, so that the per-address limits (which have
# their own tests) do not turn every later example into the same 429.
ADDRESSES = (f"10.{a}.{b}.{c}" for a, b, c in itertools.product(range(1, 250), repeat=3))

# Any text a browser (or a script posing as one) can send: NULs, controls, marks, RTL, emoji;
# surrogates cannot be encoded, so no form can carry them.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
HUGE = st.sampled_from(["x" * 100_000, "é" * 70_000, "\u202e" * 5_000 + "1", "9" * 3_000])
ODD = st.sampled_from(["", " ", "\x00", "a\x00b", "-1", "0", "99999999999999999999", "1e9",
                       "null", "[]", "{}", "true", "١٢", "\ufeff", "\U0001f600", "../../etc"])
VALUE = st.one_of(TEXT, ODD, HUGE)
FILE = st.builds(lambda data, name: (io.BytesIO(data), name or "f"),
                 st.binary(max_size=3000), TEXT)
# A field's value as a form sends it: one value, several, or a file in its place.
FIELD = st.one_of(VALUE, st.lists(VALUE, min_size=2, max_size=4), FILE)


def _form(valid: dict[str, Any], extra: list[str]) -> Any:
    """A valid form with some fields dropped and some replaced by generated values."""
    names = sorted({*valid, *extra})
    return st.tuples(st.sets(st.sampled_from(names)),
                     st.dictionaries(st.sampled_from(names), FIELD, max_size=4)).map(
        lambda change: {**{k: v for k, v in valid.items() if k not in change[0]}, **change[1]})


TOKEN = st.one_of(st.just("valid"), st.just("valid"), st.just("valid"), st.none(), VALUE)


def _counts(db) -> dict[str, int]:
    db.expire_all()
    return {model.__tablename__: db.scalar(select(func.count()).select_from(model))
            for model in (Report, Message, KeySlot, Attachment, SurveyResponse, Answer, Comment)}


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"ratelimit_reports": "100000 per hour", "ratelimit_messages": "100000 per hour",
            "ratelimit_mailbox_failures": "100000 per hour"}


def _send(app, db, url: str, form: dict[str, Any], token: Any) -> None:
    """Post ``form`` with ``token``; no 5xx, and nothing stored after a refusal."""
    data = dict(form)
    if token == "valid":
        with app.test_request_context():
            data["csrf_token"] = issue()
    elif token is not None:
        data["csrf_token"] = token
    before = _counts(db)
    client = app.test_client()
    response = client.post(url, data=data, content_type="multipart/form-data",
                           environ_base={"REMOTE_ADDR": next(ADDRESSES)})
    status = response.status_code
    assert status < 500, response.get_data(as_text=True)[:2000]
    assert status in REFUSALS | {200}, status
    if status != 200:
        assert _counts(db) == before, (status, response.get_data(as_text=True)[:500])


def _run(strategy: Any, send: Any) -> None:
    @hypothesis.settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                         suppress_health_check=list(hypothesis.HealthCheck),
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
    @hypothesis.given(form=strategy, token=TOKEN)
    def run(form: dict[str, Any], token: Any) -> None:
        send(form, token)

    run()


REPORT = {"q-what": "Officer at lane 4 asks 20 EUR per car.", "q-when": "2026-11-20",
          "q-ongoing": "yes", "q-evidence": ["Photos or video", "Messages"],
          "category": "bribery"}


def test_the_report_form_never_fails_and_a_refusal_stores_nothing(app, db, channel) -> None:
    extra = ["org_unit", "exclude", "keep_details", "meeting", "files", "q-unknown"]
    _run(_form(REPORT, extra),
         lambda form, token: _send(app, db, f"/report/{channel.slug}", form, token))
    _send(app, db, f"/report/{channel.slug}", REPORT, "valid")
    assert _counts(db)["reports"] >= 1  # the valid form still files


def test_the_mailbox_reply_never_fails_and_a_refusal_stores_nothing(app, db, client,
                                                                   channel) -> None:
    token = plain_mailbox_token(client, _receipt(client, channel))
    valid = {"mailbox_token": token, "text": "It happens on night shifts."}
    extra = ["files", "keep_details", "meeting", "corrects", "case"]
    _run(_form(valid, extra), lambda form, token: _send(app, db, "/mailbox/reply", form, token))


def _receipt(client, channel) -> str:
    """A receipt of a report filed through the API (the reply form needs a mailbox)."""
    from tests.protocol_client import ReporterClient

    return ReporterClient(client).file(channel.slug, {"what": "Cash at lane 2."}).receipt


def test_the_survey_form_never_fails_and_a_refusal_stores_nothing(app, db) -> None:
    setup = open_survey_today(db, per_unit=EXAMPLES)
    codes = iter(setup.codes)
    valid = {"code": setup.codes[-1], **FORM_ANSWERS}

    def send(form: dict[str, Any], token: Any) -> None:
        if form.get("code") == setup.codes[-1]:
            form = {**form, "code": next(codes, setup.codes[-1])}  # a fresh code when it can
        _send(app, db, "/survey/answers", form, token)

    _run(_form(valid, ["q-unknown", "q-", "org_unit"]), send)


def test_the_open_link_survey_form_never_fails_and_a_refusal_stores_nothing(app, db) -> None:
    data = every_type()
    data["open_link"] = True
    setup = open_survey_today(db, definition=data)
    valid = {"org_unit": str(setup.org_unit_ids[0]), **FORM_ANSWERS}
    _run(_form(valid, ["q-unknown", "code"]),
         lambda form, token: _send(app, db, f"/survey/open/{setup.survey_id}", form, token))
