"""The anonymous reporting channel: public pages for staff who report."""

from flask import Blueprint, render_template

from integrity.access import public

bp = public(Blueprint("reporting", __name__))


@bp.route("/")
def index() -> str:
    return render_template("reporting/index.html")
