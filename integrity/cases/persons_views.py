"""The persons concerned of a case, for the case page's script: sealed entries and steps in,
ciphertext and clear days out (docs/protocol.md#persons-concerned)."""

from __future__ import annotations

from flask import abort, g, jsonify, request
from werkzeug.wrappers import Response

from integrity import current
from integrity.cases.person_models import Person
from integrity.cases.persons import (
    add_person,
    add_step,
    delete_person_data,
    person_of,
    persons_json,
)
from integrity.cases.views import bp, case_or_404
from integrity.db import get_session
from integrity.models import today
from integrity.reporting.models import Report
from integrity.request_guard import read_json


def _json_body() -> object:
    return read_json() if request.mimetype == "application/json" else None


def _person_or_404(report: Report, person_id: int) -> Person:
    person = person_of(get_session(), report, person_id)
    if person is None:
        abort(404)
    return person


@bp.route("/<row_id:report_id>/persons")
def persons(report_id: int) -> Response:
    """The case's persons concerned: each entry and step with this inspector's key slots."""
    report = case_or_404(report_id)
    return jsonify(persons_json(get_session(), report, g.user, today()))


@bp.route("/<row_id:report_id>/persons", methods=["POST"])
def person_new(report_id: int) -> tuple[Response, int]:
    """Add a person concerned, sealed in the inspector's browser."""
    report = case_or_404(report_id)
    db = get_session()
    person = add_person(db, current.settings(), report, g.user, _json_body())
    db.commit()
    return jsonify(status="added", person=str(person.id)), 201


@bp.route("/<row_id:report_id>/persons/<row_id:person_id>/steps", methods=["POST"])
def person_step(report_id: int, person_id: int) -> tuple[Response, int]:
    """A step of a person's history: informed, information deferred, heard, outcome
    notified, cleared."""
    report = case_or_404(report_id)
    person = _person_or_404(report, person_id)
    db = get_session()
    step = add_step(db, current.settings(), current.attachment_store(), report, g.user, person,
                    _json_body(), today())
    db.commit()
    return jsonify(status="recorded", step=str(step.id), state=person.state), 201


@bp.route("/<row_id:report_id>/persons/<row_id:person_id>/delete", methods=["POST"])
def person_delete(report_id: int, person_id: int) -> Response:
    """Delete a cleared person's data now; the tombstone stays."""
    report = case_or_404(report_id)
    person = _person_or_404(report, person_id)
    db = get_session()
    delete_person_data(db, current.attachment_store(), report, person, g.user, today())
    db.commit()
    return jsonify(status="deleted", deleted_on=today().isoformat())
