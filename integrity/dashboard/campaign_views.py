"""Awareness campaigns on the dashboard: record them, see whether they moved the figures."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from integrity.changes import commit_unless
from integrity.dashboard import pages
from integrity.dashboard.blueprint import bp, campaign_figures, chosen_survey
from integrity.dashboard.campaigns import (
    CampaignData,
    CampaignError,
    campaign_groups,
    campaigns,
    delete_campaign,
    save_campaign,
)
from integrity.dashboard.forms import CampaignForm, choices
from integrity.dashboard.services import unit_choices
from integrity.dashboard.units import UnitTree
from integrity.db import get_or_404, get_session
from integrity.models import Campaign, CampaignKind
from integrity.translated import page_language
from integrity.translation_pages import edit


@bp.route("/campaigns/")
def campaign_list() -> str:
    return render_template("dashboard/campaigns.html", campaigns=campaigns(get_session()))


def _campaign_form(campaign: Campaign | None) -> CampaignForm:
    db = get_session()
    form = CampaignForm(obj=None if request.method == "POST" else campaign)
    if campaign is not None and request.method != "POST":
        form.units.data = [org_unit.id for org_unit in campaign.org_units]
    form.units.choices = choices(unit_choices(db))
    return form


def _save(campaign: Campaign | None) -> str | BaseResponse:
    db = get_session()
    form = _campaign_form(campaign)
    if form.validate_on_submit():
        data = CampaignData(form.name.data or "", CampaignKind(form.kind.data),
                            form.starts_on.data, form.ends_on.data,  # type: ignore[arg-type]
                            list(form.units.data or []), form.note.data or "")
        with commit_unless(db, CampaignError, form.name) as change:
            saved = save_campaign(db, g.user, data, campaign)
        if change.stored:
            flash(_("The campaign is saved."), "success")
            return redirect(url_for("dashboard.campaign", campaign_id=saved.id))
    return render_template("dashboard/campaign_form.html", form=form, campaign=campaign)


@bp.route("/campaigns/new", methods=["GET", "POST"])
def campaign_new() -> str | BaseResponse:
    return _save(None)


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
def campaign_edit(campaign_id: int) -> str | BaseResponse:
    return _save(get_or_404(Campaign, campaign_id))


@bp.route("/campaigns/<int:campaign_id>/delete", methods=["POST"])
def campaign_delete(campaign_id: int) -> BaseResponse:
    from integrity.auth.forms import EmptyForm

    campaign = get_or_404(Campaign, campaign_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = get_session()
    delete_campaign(db, g.user, campaign)
    db.commit()
    flash(_("The campaign is removed."), "success")
    return redirect(url_for("dashboard.campaign_list"))


@bp.route("/campaigns/<int:campaign_id>")
def campaign(campaign_id: int) -> str:
    """What the campaign changed: survey figures (difference in differences) and reports."""
    from integrity.auth.forms import EmptyForm
    from surveys.services import survey_titles

    db = get_session()
    found = get_or_404(Campaign, campaign_id)
    survey = chosen_survey()
    surveys = survey_titles(db)
    tree = UnitTree.load(db)
    result = campaign_figures(found, page_language())
    return render_template("dashboard/campaign.html", campaign=found, result=result,
                           survey=survey, surveys=surveys, tree=tree, delete_form=EmptyForm(),
                           threshold=pages.threshold())


@bp.route("/campaigns/<int:campaign_id>/translations", defaults={"language": None})
@bp.route("/campaigns/<int:campaign_id>/translations/<language>", methods=["GET", "POST"])
def campaign_translations(campaign_id: int, language: str | None) -> str | BaseResponse:
    """The campaign's name in each configured language."""
    found = get_or_404(Campaign, campaign_id)
    return edit(campaign_groups(found), language, subject=f"campaign:{found.id}",
                template="dashboard/campaign_translations.html", campaign=found,
                url=lambda code: url_for("dashboard.campaign_translations",
                                         campaign_id=found.id, language=code))

