"""Aggregates for managers: never a case, only figures."""

from flask import Blueprint, abort, current_app, render_template

from integrity.access import restrict
from integrity.dashboard.services import staff_by_unit_kind
from integrity.db import get_session
from integrity.models import Role

bp = restrict(Blueprint("dashboard", __name__, url_prefix="/dashboard"), Role.MANAGER, Role.ADMIN)


@bp.context_processor
def _survey_labels() -> dict[str, object]:
    from surveys import result_labels

    return {"index_name": result_labels.index_name,
            "withheld_reason": result_labels.withheld_reason,
            "headline_label": result_labels.headline_label,
            "answer_label": result_labels.answer_label}


@bp.route("/")
def index() -> str:
    return render_template("dashboard/index.html", staff=staff_by_unit_kind(get_session()))


@bp.route("/surveys/")
def surveys() -> str:
    """Every survey and its waves, with how many answered."""
    from surveys.results import survey_overview

    return render_template("dashboard/surveys.html", overview=survey_overview(get_session()))


@bp.route("/surveys/waves/<int:wave_id>")
def wave(wave_id: int) -> str:
    """A wave's results: figures with intervals, per unit where enough people answered."""
    from surveys.models import Wave
    from surveys.results import compare, previous_wave, thresholds_from, wave_results

    db = get_session()
    found = db.get(Wave, wave_id)
    if found is None:
        abort(404)
    thresholds = thresholds_from(current_app.extensions["integrity.settings"])
    results = wave_results(db, found, thresholds)
    earlier = previous_wave(db, found)
    changes = compare(wave_results(db, earlier, thresholds), results) if earlier else []
    return render_template("dashboard/wave.html", results=results, earlier=earlier,
                           changes=changes)
