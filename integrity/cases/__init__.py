"""The inspectors' workspace."""

from flask import Blueprint, render_template

from integrity.access import restrict
from integrity.models import Role

bp = restrict(Blueprint("cases", __name__, url_prefix="/cases"), Role.INSPECTOR)


@bp.route("/")
def inbox() -> str:
    return render_template("cases/inbox.html")
