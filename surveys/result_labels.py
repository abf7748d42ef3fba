"""What the results pages call things: index tags, headline figures, withheld cells."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from integrity import formatting
from surveys.definitions import Question, QuestionType
from surveys.labels import choices
from surveys.suppression import ItemKind, Reason

INDEX_NAMES = {
    "leadership": _l("Leadership and commitment"),
    "regulatory_framework": _l("Regulatory framework"),
    "transparency": _l("Transparency"),
    "automation": _l("Automation"),
    "reform_modernisation": _l("Reform and modernisation"),
    "audit_investigation": _l("Audit and investigation"),
    "code_of_conduct": _l("Code of conduct"),
    "hr_management": _l("Human resource management"),
    "morale_culture": _l("Morale and organisational culture"),
    "private_sector": _l("Relationship with the private sector"),
    "reporting_climate": _l("Reporting climate"),
    "trust_confidentiality": _l("Trust in confidentiality"),
    "trust_action": _l("Trust in action"),
    "fear_retaliation": _l("Fear of retaliation"),
    "awareness": _l("Awareness of the channel"),
    "prevalence": _l("Perceived prevalence"),
    "exposure": _l("Exposure"),
}

WITHHELD = {
    Reason.TOO_FEW: _l("too few answers"),
    Reason.COMPLEMENTARY: _l("withheld so that another withheld figure cannot be worked out"),
}


def index_name(tag: str) -> str:
    return str(INDEX_NAMES.get(tag, tag.replace("_", " ").capitalize()))


def withheld_reason(reason: Reason | None) -> str:
    return str(WITHHELD.get(reason, "")) if reason else ""


def unfit_text(share: float) -> str:
    """A randomized-response figure whose answers do not fit the design, with the raw share of
    "same" (crosswise) or "yes" (forced response) answers in per cent."""
    return str(_l("answers do not fit the design (raw share %(share)s)",
                  share=formatting.percent(100 * share)))


def headline_label(result: object) -> str:
    """What a question's headline figure is."""
    question: Question = result.question  # type: ignore[attr-defined]
    kind: ItemKind = result.kind  # type: ignore[attr-defined]
    if kind is ItemKind.SENSITIVE:
        return str(_l("Estimated share of people for whom the statement is true"))
    if kind is ItemKind.INDEX:
        return str(_l("Index (0 to 100)"))
    if question.type is QuestionType.YESNO:
        return str(_l("Share answering yes (of yes and no)"))
    if question.type is QuestionType.SINGLE:
        return str(_l("Share giving the right answer"))
    if question.type is QuestionType.NUMBER:
        return str(_l("Mean"))
    return ""


def answer_label(question: Question, value: str) -> str:
    """An answer as the respondent read it, from the value the results use."""
    return dict(choices(question)).get(value, value)
