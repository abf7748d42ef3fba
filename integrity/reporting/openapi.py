"""The OpenAPI 3.1 description of protocol v1 (``GET /api/v1/openapi.json``).

It restates docs/protocol.md, which is authoritative: every status its "Status codes" table
names for an endpoint is among the endpoint's responses here (tests/test_openapi.py checks
that, and that every route of the API is described). Built once, on first use.
"""

from __future__ import annotations

from functools import cache
from typing import Any

Schema = dict[str, Any]

B64 = r"^[A-Za-z0-9_-]*$"


def _b64(length: int | None = None) -> Schema:
    """base64url without padding; ``length`` bytes when given (the text's exact length)."""
    schema: Schema = {"type": "string", "pattern": B64}
    if length is not None:
        chars = (4 * length + 2) // 3
        schema.update(minLength=chars, maxLength=chars)
    return schema


DAY: Schema = {"type": "string", "format": "date"}
STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
INTEGER: Schema = {"type": "integer"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}


def _object(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object with these keys; more keys are allowed (clients ignore keys they do not know)."""
    return {"type": "object", "properties": {**required, **(optional or {})},
            "required": list(required)}


def _list(items: Schema) -> Schema:
    return {"type": "array", "items": items}


RECIPIENT = _object({"id": STRING, "name": STRING, "public_key": _b64(32)},
                    {"certificate": {"type": ["string", "null"], "pattern": B64}})
QUESTION = _object({"key": STRING, "kind": STRING, "label": STRING, "options": _list(STRING)},
                   {"help": STRING, "required": BOOLEAN})
CHANNEL = _object({
    "slug": STRING, "name": STRING, "description": STRING, "allow_exclusion": BOOLEAN,
    "accepts_reports": BOOLEAN, "asks_category": BOOLEAN, "asks_unit": BOOLEAN,
    "recipients": _list(RECIPIENT), "categories": _list(_object({"slug": STRING, "name": STRING})),
    "questions": _list(QUESTION),
})
CONFIG = _object({
    "protocol": {"const": 1}, "salt": _b64(16),
    "argon2id": _object({"opslimit": INTEGER, "memlimit": INTEGER}),
    "pad_block": INTEGER, "recovery_key": {"type": ["string", "null"], "pattern": B64},
    "pow_bits": {"type": "integer", "minimum": 0, "maximum": 24},
    "max_attachment_bytes": INTEGER, "max_attachments": INTEGER,
    "max_report_attachment_bytes": INTEGER, "channels": _list(CHANNEL),
    "org_units": _list(_object({"id": STRING, "name": STRING, "parent": NULLABLE_STRING})),
}, {"protocols": _list(INTEGER), "recovery_certificate": {"type": ["string", "null"]}})
POW = _object({"challenge": _b64(16), "bits": INTEGER, "expires_in": INTEGER})
UPLOAD = _object({"id": STRING, "offset": INTEGER, "length": INTEGER, "complete": BOOLEAN})
ERROR = _object({"error": STRING}, {"offset": INTEGER})
STATUS = _object({"status": STRING})
MAILBOX = _object({
    "report": _object({"status": {"enum": ["new", "acknowledged", "in_progress", "closed"]},
                       "outcome": {"enum": [None, "substantiated", "partly_substantiated",
                                            "unsubstantiated", "not_in_scope"]},
                       "created_on": DAY, "channel": STRING, "payload": _b64(),
                       "key_slot": _b64(80)}),
    "recipients": _list(RECIPIENT),
    "questions": _list(QUESTION),
    "messages": _list(_object({
        "id": STRING, "from": {"enum": ["reporter", "inspector"]},
        "kind": {"enum": ["message", "feedback", "final_notice", "record"]}, "sent_on": DAY,
        "payload": _b64(), "key_slot": {"type": ["string", "null"], "pattern": B64},
    })),
}, {"case": NULLABLE_STRING, "kind": {"enum": ["report", "retaliation"]},
    "linked": _list(_object({"case": STRING, "kind": STRING, "created_on": DAY})),
    "can_report_retaliation": BOOLEAN,
    "check_ins": _list(_object({"sent_on": DAY, "text": STRING})),
    "check_ins_stopped": BOOLEAN, "tombstones": _list({"type": "object"})})

KEY_SLOTS: Schema = {"type": "object", "additionalProperties": _b64(80)}
IDS = _list(STRING)
LOOKUP = {"lookup": _b64(32)}
CASE = {"case": STRING}
FILING = _object({
    "protocol": {"enum": [1, 2]}, "channel": STRING, "lookup": _b64(32), "payload": _b64(),
    "key_slots": KEY_SLOTS,
}, {"category": NULLABLE_STRING, "org_unit": NULLABLE_STRING, "reporter_public_key": _b64(32),
    "excluded": IDS, "attachments": IDS, "meeting": BOOLEAN,
    "pow": _object({"challenge": _b64(16), "nonce": {"type": "integer", "minimum": 0}})})
MESSAGE = _object({**LOOKUP, "payload": _b64(), "key_slots": KEY_SLOTS},
                  {**CASE, "attachments": IDS, "meeting": BOOLEAN, "corrects": STRING,
                   "link": {"type": "object"}})

# What each status means, as docs/protocol.md's "Status codes" table says it per endpoint.
REASONS = {
    400: "The request is refused: a NUL character in the path, query or body, a JSON body "
         "nested more than 32 levels, or the endpoint's own checks (one sentence in `error`).",
    404: "Nothing matches (for the mailbox routes: this receipt; one identical answer).",
    409: "A conflict (see docs/protocol.md).",
    413: "The body, payload or attachments are larger than this server accepts.",
    415: "The body's content type is not the one this endpoint accepts.",
    429: "A rate limit (or, when filing, the proof of work) refuses the request.",
    500: "An unexpected failure; nothing is left half stored.",
}
JSON_IN = (400, 413, 415, 429, 500)  # every endpoint that reads a JSON body
MAILBOX_REFUSALS = (*JSON_IN, 404)
RATE_HEADERS = {name: {"description": "Sent by the rate-limited routes.",
                       "schema": {"type": "string"}}
                for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                             "Retry-After")}


def _json(schema: Schema) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _operation(operation_id: str, summary: str, success: int, answer: dict[str, Any],
               refusals: tuple[int, ...], *, body: dict[str, Any] | None = None,
               parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    responses: dict[str, Any] = {str(success): {"description": "Done.", **answer}}
    for code in sorted({*refusals, 400, 500}):
        responses[str(code)] = {"description": REASONS[code], **_json(ERROR)}
        if code == 429:
            responses[str(code)]["headers"] = RATE_HEADERS
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary,
                                 "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": True, **body}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": STRING}


LANG = _query("lang", "The language of the answer's texts and error sentences, when it is a "
                      "configured language; else Accept-Language decides.")
UPLOAD_ID = {"name": "upload_id", "in": "path", "required": True, "schema": STRING}
OCTETS = {"content": {"application/octet-stream": {"schema": {"type": "string",
                                                             "format": "binary"}}}}


def _paths() -> dict[str, Any]:
    mailbox_body = _json(_object(LOOKUP, CASE))
    return {
        "/config": {"get": _operation(
            "config", "Installation parameters", 200, _json(CONFIG), (),
            parameters=[_query("channel", "Also list this hidden channel."), LANG])},
        "/openapi.json": {"get": _operation(
            "openapi", "This description", 200, _json({"type": "object"}), ())},
        "/pow": {"get": _operation("pow", "A proof-of-work challenge", 200, _json(POW), (429,))},
        "/attachments": {"post": _operation(
            "upload_attachment", "Upload a sealed attachment in one request", 201,
            _json(_object({"id": STRING})), (413, 415, 429), body=OCTETS)},
        "/uploads": {"post": _operation(
            "start_upload", "Start a resumable upload", 201, _json(UPLOAD), JSON_IN,
            body=_json(_object({"length": INTEGER})))},
        "/uploads/{upload_id}": {
            "parameters": [UPLOAD_ID],
            "get": _operation("upload", "How much of an upload has arrived", 200,
                              _json(UPLOAD), (404,)),
            "patch": _operation(
                "append_to_upload", "Append to a resumable upload", 200, _json(UPLOAD),
                (404, 409, 413, 415, 429), body=OCTETS,
                parameters=[{"name": "Upload-Offset", "in": "header", "required": True,
                             "schema": {"type": "string", "pattern": "^[0-9]+$"}}]),
        },
        "/reports": {"post": _operation(
            "file_report", "File a sealed report", 201, _json(STATUS), (*JSON_IN, 409),
            body=_json(FILING))},
        "/mailbox": {"post": _operation(
            "mailbox", "Open the mailbox of a receipt", 200, _json(MAILBOX), MAILBOX_REFUSALS,
            body=mailbox_body, parameters=[LANG])},
        "/mailbox/messages": {"post": _operation(
            "mailbox_message", "Send a sealed message", 201, _json(STATUS),
            (*MAILBOX_REFUSALS, 409), body=_json(MESSAGE))},
        "/mailbox/attachment": {"post": _operation(
            "mailbox_attachment", "Download a sealed attachment", 200, OCTETS,
            MAILBOX_REFUSALS, body=_json(_object({**LOOKUP, "id": STRING}, CASE)))},
        "/mailbox/agree": {"post": _operation(
            "mailbox_agree", "Agree that a record is accurate", 201, _json(STATUS),
            MAILBOX_REFUSALS, body=_json(_object({**LOOKUP, "record": STRING})))},
        "/mailbox/retaliation": {"post": _operation(
            "mailbox_retaliation", "Report retaliation", 201,
            _json(_object({"status": STRING, "case": STRING})), (*MAILBOX_REFUSALS, 409),
            body=_json(_object({**LOOKUP, "payload": _b64(), "key_slots": KEY_SLOTS},
                               {"attachments": IDS})))},
        "/mailbox/check-ins/stop": {"post": _operation(
            "mailbox_stop_check_ins", "No more check-ins", 200, _json(STATUS),
            MAILBOX_REFUSALS, body=mailbox_body)},
    }


@cache
def description() -> dict[str, Any]:
    """The OpenAPI document (built once per process; callers must not change it)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Integrity reporting API",
            "version": "1",
            "description": (
                "Protocol v1 of the anonymous reporting channel. docs/protocol.md is "
                "authoritative where the two differ. No cookie and no form token: the lookup "
                "in the body is the only credential. Every error is {\"error\": sentence}; "
                "any route may also answer 405 for a wrong method. Every answer carries "
                "Cache-Control: no-store."),
            "license": {"name": "AGPL-3.0-or-later",
                        "identifier": "AGPL-3.0-or-later"},
        },
        "servers": [{"url": "/api/v1"}],
        "paths": _paths(),
    }
