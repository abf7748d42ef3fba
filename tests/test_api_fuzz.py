"""Every operation of /api/v1 fuzzed against its OpenAPI description (Schemathesis, through
WSGI): generated requests, valid and invalid, never get a 5xx, and every answer has a status,
a content type, headers and a body that the description allows. Derandomized, so a run is
the same every time."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import crypto  # noqa: E402
from integrity.reporting.openapi import description  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES = 200  # per operation and mode (23 in all): about four minutes on one core


def _negatable(item: dict[str, Any], operation: dict[str, Any]) -> bool:
    """Whether invalid input can be made for the operation: a JSON body, or a parameter
    besides a path's plain string (the raw bytes of an upload are never invalid)."""
    content = operation.get("requestBody", {}).get("content", {})
    return "application/json" in content or bool(operation.get("parameters"))


CASES = [(path, method, mode) for path, item in description()["paths"].items()
         for method, operation in item.items() if method != "parameters"
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode is GenerationMode.POSITIVE or _negatable(item, operation)]


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # Limits high enough that the fuzzing reaches the routes' own checks, not only the 429.
    return {name: "100000 per hour" for name in (
        "ratelimit_reports", "ratelimit_uploads", "ratelimit_messages",
        "ratelimit_mailbox_failures", "ratelimit_pow")}


@pytest.fixture(params=["sqlite"])
def database_url(request, schema_templates, tmp_path):
    """SQLite only: the PostgreSQL-specific input (NUL, big numbers) has its own tests in
    test_hostile_input.py, and the fuzzing budget is better spent on more examples."""
    target = tmp_path / "data" / "integrity.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(schema_templates["sqlite"], target)
    return f"sqlite:///{target}"


def _known(case: Any, channel: str, lookup: str, upload: str) -> None:
    """Put the channel's slug, a filed report's lookup (and no linked case) in a generated
    body, and an unclaimed upload's id in a generated path, so that the checks after them are
    reached too."""
    if isinstance(case.body, dict) and "lookup" in case.body:
        case.body["lookup"] = lookup
        case.body.pop("case", None)
    if isinstance(case.body, dict) and "channel" in case.body:
        case.body["channel"] = channel
    if case.path_parameters and "upload_id" in case.path_parameters:
        case.path_parameters["upload_id"] = upload


@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_operation_keeps_to_its_description(app, channel, reporter, path: str, method: str,
                                            mode: GenerationMode) -> None:
    lookup = crypto.b64encode(reporter.file(channel.slug, {"what": "Cash at lane 2."}).keys.lookup)
    started = reporter.http.post("/api/v1/uploads", json={"length": 41})
    upload = started.get_json()["id"]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]

    @hypothesis.settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                         suppress_health_check=list(hypothesis.HealthCheck),
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode),
                      known=hypothesis.strategies.booleans())
    def run(case, known: bool) -> None:
        if known:  # half the time, past the look-up: a real receipt's, a real upload
            _known(case, channel.slug, lookup, upload)
        # Schemathesis reads a WSGI answer as it is sent: ask for it uncompressed.
        case.call_and_validate(headers={"Accept-Encoding": "identity"}, checks=CHECKS)

    run()
