"""Aggregates for managers: never a case, only figures."""

from flask import Blueprint, render_template

from integrity.access import restrict
from integrity.dashboard.services import staff_by_unit_kind
from integrity.db import get_session
from integrity.models import Role

bp = restrict(Blueprint("dashboard", __name__, url_prefix="/dashboard"), Role.MANAGER, Role.ADMIN)


@bp.route("/")
def index() -> str:
    return render_template("dashboard/index.html", staff=staff_by_unit_kind(get_session()))
