"""The audit log's head, shown and downloaded to be kept outside the system, and an exported
head checked against the log (integrity/audit_anchor.py). Auditors read these pages too."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Response, render_template, request
from flask_babel import lazy_gettext as _l

from admin.blueprint import bp
from integrity.access import readable_by
from integrity.audit_anchor import Head, HeadCheck, check_head, current_head, head_json
from integrity.db import get_session
from integrity.models import Role

HEX_HASH = re.compile(r"^[0-9a-fA-F]{64}$")


def _asked_head() -> Head | None:
    """The head given in the check form, or None if none was given; ValueError if unreadable."""
    seq, digest = request.args.get("seq", "").strip(), request.args.get("hash", "").strip()
    if not seq and not digest:
        return None
    if not seq.isdigit() or len(seq) > 12 or not HEX_HASH.match(digest):
        raise ValueError(seq)
    return Head(int(seq), bytes.fromhex(digest), None)


@bp.route("/audit/head")
@readable_by(Role.AUDITOR)
def audit_head() -> str | tuple[str, int]:
    """The head to note or download; with ?seq=&hash=, whether that head is still in the log."""
    session = get_session()
    head = current_head(session)
    check: HeadCheck | None = None
    problem = None
    try:
        asked = _asked_head()
    except ValueError:
        asked, problem = None, _l("Give the entry number and the 64 hexadecimal digits of its "
                                  "hash, as the exported head has them.")
    if asked is not None:
        check = check_head(session, asked)
    page = render_template("admin/audit_head.html", head=head, check=check, problem=problem,
                           seq=request.args.get("seq", "")[:12],
                           digest=request.args.get("hash", "")[:64])
    return (page, 400) if problem else page


@bp.route("/audit/head.json")
@readable_by(Role.AUDITOR)
def audit_head_file() -> Response:
    """The exported head as a file (docs/administration.md, "Anchoring the audit log")."""
    head = current_head(get_session())
    return Response(head_json(head, datetime.now(UTC)), mimetype="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="audit-head-{head.seq}.json"'})
