"""The PDF integrity report (built in the background, its progress polled) and the posters.

A report is built in a thread of the worker that was asked for it; its progress and the
finished file are kept in the database (``report_builds``), so any worker of any server can
answer the progress requests and hand out the file. Each build belongs to the account that
started it. Finished files are removed after an hour.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from crypto import fingerprint
from integrity import current
from integrity.access import readers_submit
from integrity.audit import record
from integrity.dashboard import pages
from integrity.dashboard.blueprint import bp
from integrity.dashboard.forms import PosterForm, ReportForm, choices
from integrity.dashboard.kpis import Granularity, KpiQuery, Period, Scope
from integrity.dashboard.report_builds import (
    BuildStatus,
    build_status,
    built_pdf,
    finish_build,
    record_progress,
    start_build,
)
from integrity.dashboard.services import scope_choices
from integrity.db import get_session, new_session
from integrity.i18n import RTL_SCRIPTS, language_choices, languages, text_direction
from integrity.models import Channel, ChannelState, today
from surveys.results import thresholds_from
from surveys.services import survey_titles

if TYPE_CHECKING:
    from integrity.dashboard.report_pdf import ReportSpec

# The report and the posters are drawn with matplotlib, which takes longer to load than the
# rest of the application: it is imported when the first one is drawn, not at every start of a
# server or a command.

log = logging.getLogger(__name__)


def _status(token: str) -> BuildStatus:
    """The build's status if it belongs to the signed-in user; 404 otherwise."""
    found = build_status(get_session(), token, g.user.id,
                         _("The report was interrupted. Please start it again."))
    if found is None:
        abort(404)
    return found


def _run(app: Flask, token: str, spec: ReportSpec, locale: str) -> None:
    from integrity.dashboard.report_pdf import build_report

    with app.app_context():
        session = new_session(app)

        def progress(step: int, steps: int, what: str) -> None:
            # A session of its own: committing the one the report reads from would expire
            # everything it has loaded.
            writer = new_session(app)
            try:
                record_progress(writer, token, step, steps, what)
                writer.commit()
            finally:
                writer.close()

        try:
            with force_locale(locale):
                data = build_report(session, spec, progress)
                finish_build(session, token, data, _("The report is ready."))
        except Exception:  # noqa: BLE001  (any failure becomes a message, never a 500)
            log.exception("The integrity report could not be built")
            session.rollback()
            with force_locale(locale):
                finish_build(session, token, None,
                             _("The report could not be built. Please try again."))
        finally:
            session.commit()
            session.close()


def _report_form() -> ReportForm:
    db = get_session()
    form = ReportForm()
    form.scope.choices = choices([("", _("the whole organisation")), *scope_choices(db)])
    form.survey.choices = choices([("", _("none")), *survey_titles(db)])
    if request.method == "GET":
        recent = KpiQuery.recent(today())
        form.start.data, form.end.data = recent.start, recent.end
        newest = form.survey.choices[1].value if len(form.survey.choices) > 1 else ""
        form.survey.data = newest
    return form


@bp.route("/report", methods=["GET", "POST"])
@readers_submit  # an auditor builds the same report from the same figures
def report() -> str | BaseResponse:
    """Choose the periods and scope of the PDF report, and start building it."""
    form = _report_form()
    if not form.validate_on_submit():
        return render_template("dashboard/report.html", form=form)
    granularity = Granularity(form.granularity.data) if form.granularity.data in {
        g_.value for g_ in Granularity} else Granularity.QUARTER
    start, end = sorted([form.start.data, form.end.data])  # type: ignore[type-var]
    query = KpiQuery(granularity, Period.of(granularity, start).start,
                     Period.of(granularity, end).end)
    if len(query.periods) > 60:
        query = KpiQuery(granularity, query.periods[-60].start, query.end)
    labels = {c.value: c.label for c in form.scope.choices}  # type: ignore[union-attr]
    scope_value = form.scope.data if form.scope.data in labels else ""
    query = query.with_scope(Scope.parse(scope_value))
    survey_id = int(form.survey.data) if (form.survey.data or "").isdigit() else None
    settings = current.settings()
    from integrity.dashboard.report_pdf import ReportSpec

    spec = ReportSpec(query, survey_id, str(labels.get(scope_value, "")).strip(), today(),
                      pages.threshold(), thresholds_from(settings), text_direction() == "rtl")
    db = get_session()
    token = start_build(db, g.user.id, _("Starting"))
    record(db, actor=g.user, action="export", subject="dashboard:report",
           details={"start": query.start.isoformat(), "end": query.end.isoformat(),
                    "scope": scope_value or "all"})
    db.commit()
    worker = threading.Thread(target=_run, args=(current_app._get_current_object(),  # type: ignore[attr-defined]
                                                  token, spec, str(get_locale())),
                              name=f"report-{token[:8]}", daemon=True)
    worker.start()
    return redirect(url_for("dashboard.report_progress", token=token))


@bp.route("/report/<token>")
def report_progress(token: str) -> str:
    """How far the report is; refreshes itself (a module script, or a meta refresh)."""
    return render_template("dashboard/report_progress.html", token=token,
                           status=_status(token))


@bp.route("/report/<token>/status")
def report_status(token: str) -> Response:
    status = _status(token)
    return jsonify(state=status.state, step=status.step, steps=status.steps,
                   message=status.message,
                   download=url_for("dashboard.report_file", token=token)
                   if status.state == "done" else None)


@bp.route("/report/<token>.pdf")
def report_file(token: str) -> Response:
    data = built_pdf(get_session(), token, g.user.id)
    if data is None:
        abort(404)
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="integrity-report.pdf"'})


# --- posters ---------------------------------------------------------------------------------


def _poster_form() -> PosterForm:
    db = get_session()
    form = PosterForm(request.args)
    form.channel.choices = choices((c.slug, c.text("name")) for c in db.scalars(
        select(Channel).where(Channel.state != ChannelState.CLOSED)
        .order_by(Channel.name)))
    form.language.choices = choices(language_choices())
    if not form.language.data:
        form.language.data = str(get_locale())
    return form


@bp.route("/posters")
def posters() -> str:
    form = _poster_form()
    return render_template("dashboard/posters.html", form=form)


@bp.route("/posters/poster.<fmt>")
def poster(fmt: str) -> Response:
    """The poster for a channel in a language, as a PDF to print or a PNG."""
    if fmt not in ("pdf", "png"):
        abort(404)
    form = _poster_form()
    if not form.validate():
        abort(404)
    db = get_session()
    channel = db.scalar(select(Channel).where(Channel.slug == form.channel.data))
    language = form.language.data if form.language.data in languages() else languages()[0]
    if channel is None:
        abort(404)
    settings = current.settings()
    from integrity.dashboard.posters import Poster, poster_pdf, poster_png, reporting_address

    address = reporting_address(settings.public_url, channel.slug, language)
    onion = (reporting_address(settings.onion_url, channel.slug, language)
             if settings.onion_url else None)
    with force_locale(language):
        org_key = current.org_public_key()
        design = Poster(channel.text("name", language), address,
                        onion, form.size.data if form.size.data in ("A4", "A3") else "A4",
                        language.split("_")[0] in RTL_SCRIPTS,
                        fingerprint(org_key) if org_key else None,
                        reporting_address(settings.public_url, channel.slug, language,
                                          "rights"))
        data = poster_pdf(design) if fmt == "pdf" else poster_png(design)
    name = f"poster-{channel.slug}-{language}-{design.size}.{fmt}"
    return Response(data, mimetype="application/pdf" if fmt == "pdf" else "image/png",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
