"""Administration pages; administrators never see report content."""

from flask import Blueprint, render_template, request

from admin.services import list_users
from integrity.access import restrict
from integrity.db import get_session
from integrity.models import Role

bp = restrict(Blueprint("admin", __name__, url_prefix="/admin"), Role.ADMIN)


@bp.route("/")
def index() -> str:
    page = request.args.get("page", 1, type=int) or 1
    query = request.args.get("q", "").strip()
    return render_template(
        "admin/index.html", users=list_users(get_session(), query=query, page=page), query=query
    )
