"""Organisational units: the tree, adding and editing, CSV import and export."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from admin import units
from admin.blueprint import actor, bp, list_args
from admin.forms import CROSSING_LABELS, UNIT_KIND_LABELS, ImportForm, UnitForm
from integrity.changes import commit_unless
from integrity.db import get_or_404, get_session
from integrity.models import OrgUnit

MAX_CSV_BYTES = 2 * 1024 * 1024


@bp.route("/units")
def unit_list() -> str:
    query, page = list_args()
    return render_template("admin/units.html", rows=units.tree_page(get_session(), query=query,
                                                                     page=page),
                           query=query, kinds=UNIT_KIND_LABELS, crossings=CROSSING_LABELS)


def _with_parents(form: UnitForm, org_unit: OrgUnit | None) -> UnitForm:
    db = get_session()
    excluded = units.descendants(db, org_unit) if org_unit is not None else set()
    form.parent_id.choices = [SelectChoice("", _("Nothing (a top-level unit)"))] + [
        SelectChoice(str(row.org_unit.id), row.path)
        for row in units.tree(db) if row.org_unit.id not in excluded]
    return form


def _fields(form: UnitForm) -> units.UnitFields:
    return units.UnitFields(
        name=form.name.data or "", kind=form.kind.data or "",
        crossing_type=form.crossing_type.data or None, headcount=form.headcount.data or 0,
        parent_id=int(form.parent_id.data) if form.parent_id.data else None)


@bp.route("/units/new", methods=["GET", "POST"])
def unit_new() -> str | BaseResponse:
    form = _with_parents(UnitForm(), None)
    if request.method == "GET" and request.args.get("parent", "").isdigit():
        form.parent_id.data = request.args["parent"]
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, units.UnitError, form.name) as change:
            units.add_unit(db, actor(), _fields(form))
        if change.stored:
            flash(_("The unit was added."), "success")
            return redirect(url_for("admin.unit_list"))
    return render_template("admin/unit.html", org_unit=None, form=form)


@bp.route("/units/<int:org_unit_id>", methods=["GET", "POST"])
def unit(org_unit_id: int) -> str | BaseResponse:
    item = get_or_404(OrgUnit, org_unit_id)
    form = _with_parents(UnitForm(obj=item if request.method == "GET" else None), item)
    if request.method == "GET":
        form.parent_id.data = str(item.parent_id) if item.parent_id is not None else ""
        form.crossing_type.data = item.crossing_type or ""
    if form.validate_on_submit():
        db = get_session()
        with commit_unless(db, units.UnitError, form.name) as change:
            changed = units.update_unit(db, actor(), item, _fields(form))
        if change.stored:
            flash(_("The unit was saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("admin.unit_list"))
    return render_template("admin/unit.html", org_unit=item, form=form)


@bp.route("/units/export.csv")
def unit_export() -> Response:
    return Response(units.export_csv(get_session()), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="units.csv"'})


@bp.route("/units/import", methods=["GET", "POST"])
def unit_import() -> str | BaseResponse:
    """Import the tree from CSV: says first what an import does, then does it in one go."""
    form = ImportForm()
    if form.validate_on_submit():
        raw = form.file.data.read(MAX_CSV_BYTES + 1)
        db = get_session()
        with commit_unless(db, units.UnitError, form.file) as change:
            if len(raw) > MAX_CSV_BYTES:
                raise units.UnitError(_("The file is larger than 2 MB."))
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise units.UnitError(_("The file is not UTF-8 text.")) from exc
            result = units.import_csv(db, actor(), text)
        if change.stored:
            flash(result.summary(), "success")
            return redirect(url_for("admin.unit_list"))
    return render_template("admin/unit_import.html", form=form, columns=units.CSV_COLUMNS)
