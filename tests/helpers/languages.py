"""Texts in other languages: as the catalogs have them, and translations of the demo channel."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.models import Channel, OrgUnit


def translated(app: Flask, text: str, language: str) -> str:
    """``text`` as the catalog of ``language`` has it."""
    with app.test_request_context(), force_locale(language):
        return gettext(text)


# The answers of the demo channel's "How do you know?" in French, Arabic and Russian.
FRENCH_HOW = ["Je l'ai vu moi-même", "On m'a demandé d'y participer", "Quelqu'un me l'a dit",
              "Je l'ai trouvé dans des documents", "Autre"]
RUSSIAN_HOW = ["Я видел это сам", "Меня просили участвовать", "Мне рассказали",
               "Я нашёл это в документах", "Другое"]
ARABIC_HOW = ["رأيت ذلك بنفسي", "طُلب مني المشاركة", "أخبرني شخص ما", "وجدته في الوثائق", "أخرى"]


def translate_demo_channel(db: Session, slug: str) -> None:
    """French, Arabic and Russian texts for the demo channel, a category, a question and a unit."""
    channel = db.scalar(select(Channel).where(Channel.slug == slug))
    channel.translate("fr", {"name": "Intégrité et lutte contre la corruption",
                             "description": "Signalez la corruption."})
    channel.translate("ar", {"name": "النزاهة ومكافحة الفساد"})
    category = next(c for c in channel.categories if c.slug == "bribery")
    category.translate("fr", {"name": "Pots-de-vin"})
    category.translate("ar", {"name": "الرشوة"})
    what = next(q for q in channel.questions if q.key == "what")
    what.translate("fr", {"label": "Que s'est-il passé ?"})
    what.translate("ru", {"label": "Что произошло?"})
    how = next(q for q in channel.questions if q.key == "how_known")
    how.translate("fr", {"label": "Comment le savez-vous ?", "help_text": "Choisissez une réponse.",
                         "options": FRENCH_HOW})
    how.translate("ar", {"label": "كيف عرفت ذلك؟", "options": ARABIC_HOW})
    how.translate("ru", {"label": "Откуда вы это знаете?", "options": RUSSIAN_HOW})
    org_unit = db.scalars(select(OrgUnit).order_by(OrgUnit.id)).first()
    org_unit.translate("fr", {"name": "Unité traduite"})
    db.commit()
