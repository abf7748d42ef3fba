"""The OpenAPI description of /api/v1: served like every API answer, valid OpenAPI 3.1, and
true to the routes that exist and to docs/protocol.md's "Status codes" table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from integrity.reporting.openapi import description

PROTOCOL = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
PREFIX = "/api/v1"
AUTOMATIC = {"HEAD", "OPTIONS"}  # Flask answers these for every route by itself


def _described() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in description()["paths"].items()
            for method in item if method != "parameters"}


def _status_table() -> dict[tuple[str, str], set[int]]:
    """docs/protocol.md's Status codes table: (method, path in OpenAPI spelling) -> codes."""
    text = PROTOCOL.read_text(encoding="utf-8")
    section = text.split("\n## Status codes\n", 1)[1].split("\n## ", 1)[0]
    table: dict[tuple[str, str], set[int]] = {}
    for row in re.findall(r"^\| `(\w+) /api/v1(\S+)` \|(.*)\|$", section, re.MULTILINE):
        method, path, rest = row
        path = re.sub(r"<([a-z_]+)>", "{upload_id}", path)
        table[(method, path)] = {int(code) for code in re.findall(r"\b([1-5]\d\d)\b", rest)}
    return table


def test_openapi_is_served_like_every_api_answer(client) -> None:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    assert answer.get_json() == description()
    assert "Set-Cookie" not in answer.headers
    config = client.get("/api/v1/config")
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                   "Cross-Origin-Resource-Policy", "Cache-Control"):
        assert answer.headers[header] == config.headers[header], header
    assert answer.headers["Cache-Control"] == "no-store"


def test_openapi_is_valid_openapi_3_1() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    assert description()["openapi"].startswith("3.1.")
    validator.validate(description())


def test_every_route_is_described_and_nothing_more(app) -> None:
    routes = {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(PREFIX)))
              for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")
              for method in (rule.methods or set()) - AUTOMATIC}
    assert routes, "no API route found"
    assert _described() == routes


def test_every_status_of_the_protocol_is_described() -> None:
    table = _status_table()
    assert set(table) == _described(), "the Status codes table and the description differ"
    operations = description()["paths"]
    for (method, path), codes in table.items():
        responses = {int(code) for code in operations[path][method.lower()]["responses"]}
        # Any route may answer 400 (a NUL, a body nested too deep) and 500 (docs/protocol.md).
        assert codes | {400, 500} <= responses, (method, path, codes - responses)
        assert responses <= codes | {400, 500}, (method, path, responses - codes)


def test_the_protocol_points_to_the_description() -> None:
    text = PROTOCOL.read_text(encoding="utf-8")
    assert "/api/v1/openapi.json" in text
