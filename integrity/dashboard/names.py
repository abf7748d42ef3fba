"""Units, channels, categories and campaigns named in the reader's language on the pages and
charts; the CSV and JSON exports keep the default language's names, which do not change with
the reader (integrity/translated.py)."""

from __future__ import annotations

from typing import Any

from flask import g, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.models import Campaign, Category, Channel, OrgUnit
from integrity.translated import page_language

MODELS: dict[str, Any] = {"unit": OrgUnit, "channel": Channel, "category": Category,
                          "campaign": Campaign}


def names(session: Session, kind: str) -> dict[int, str]:
    """Every record of ``kind`` ("unit", "channel" …) by id, named in the page's language;
    read once per request (or job) and language."""
    key = (kind, page_language())
    kept: dict[tuple[str, str], dict[int, str]] | None = (
        g.setdefault("shown_names", {}) if has_app_context() else None)
    if kept is not None and key in kept:
        return kept[key]
    found = {row.id: str(row.text("name")) for row in session.scalars(select(MODELS[kind]))}
    if kept is not None:
        kept[key] = found
    return found


def shown_name(session: Session, key: str, fallback: str) -> str:
    """The name of a figure row keyed "unit:3", "channel:1" or "category:2" in the page's
    language; ``fallback`` for any other row."""
    kind, _, ident = key.partition(":")
    if kind not in MODELS or not ident.isdigit():
        return fallback
    return names(session, kind).get(int(ident), fallback)
