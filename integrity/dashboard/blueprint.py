"""The managers' dashboard blueprint: aggregates only, never a case."""

from __future__ import annotations

from flask import Blueprint, request

from integrity.access import restrict
from integrity.dashboard import pages
from integrity.dashboard.campaigns import CampaignEffects, campaign_effects
from integrity.dashboard.forms import KIND_NAMES
from integrity.dashboard.trends import latest_survey
from integrity.db import get_session
from integrity.models import Campaign, Role, today
from integrity.translation_pages import template_helpers

# Auditors see the same figures and change nothing (campaigns are a manager's to record).
bp = restrict(Blueprint("dashboard", __name__, url_prefix="/dashboard"), Role.MANAGER, Role.ADMIN,
              readers=(Role.AUDITOR,))


@bp.context_processor
def _survey_labels() -> dict[str, object]:
    from surveys import result_labels

    return {"index_name": result_labels.index_name,
            "withheld_reason": result_labels.withheld_reason,
            "report_withheld_reason": pages.report_withheld_reason,
            "unfit_text": result_labels.unfit_text,
            "headline_label": result_labels.headline_label,
            "answer_label": result_labels.answer_label,
            "percent": pages.percent, "number": pages.number, "row_label": pages.row_label,
            "outcome_labels": pages.OUTCOME_LABELS, "kind_names": KIND_NAMES,
            **template_helpers()}


def chosen_survey() -> object:
    """The survey the page asks for (``?survey=``), else the latest one."""
    from surveys.models import Survey

    db = get_session()
    wanted = request.args.get("survey", type=int)
    survey = db.get(Survey, wanted) if wanted else latest_survey(db)
    return survey


def campaign_figures(campaign: Campaign, language: str | None = None) -> CampaignEffects:
    """Whether ``campaign`` moved the figures of the chosen survey and of the reports."""
    from surveys.models import Survey

    db = get_session()
    survey = chosen_survey()
    trends_ = (pages.trend_figures(db, survey, language) if isinstance(survey, Survey)
               else None)
    return campaign_effects(db, campaign, trends_, today(), pages.threshold())
