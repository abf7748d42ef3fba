"""The page "Other ways to report, and your rights" as administrators write it: the
installation's, and a channel's where it differs (the sections: integrity/rights.py).

The form shows each section in the default language. On the installation's page, a section
not written yet shows the text the catalogs ship, and saving that text unchanged keeps it
shipped (translated into every language by the catalogs). On a channel's page, an empty
section (or one saved as the installation has it) shows the installation's. Other languages
are given on the translation pages, like every administrator's text.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.models import Channel, RightsPage, User
from integrity.rights import (
    FIELDS,
    MAX_SECTION,
    SECTIONS,
    page_of,
    shipped,
    shown_sections,
    stored_page,
)
from integrity.translated import default_language
from integrity.translation_editor import Group, texts_of


class RightsError(ValueError):
    """A text the page refuses; the message says why."""


def clean(value: str) -> str:
    """``value`` with Windows line ends, spaces ending lines and blank edges removed."""
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def inherited(session: Session, channel: Channel | None) -> dict[str, str]:
    """What each section shows in the default language when this page leaves it empty: the
    shipped text for the installation, the installation's for a channel."""
    language = default_language()
    if channel is None:
        return {section.field: clean(shipped(section, language)) for section in SECTIONS}
    return {shown.section.field: clean(shown.text)
            for shown in shown_sections(session, None, language)}


def form_values(session: Session, channel: Channel | None) -> dict[str, str]:
    """What the form's inputs hold before anything is typed."""
    page = page_of(session, channel)
    own = {field: getattr(page, field) if page else "" for field in FIELDS}
    if channel is not None:
        return own
    return {field: own[field] or text for field, text in inherited(session, None).items()}


def save_page(session: Session, actor: User, channel: Channel | None,
              typed: Mapping[str, str]) -> list[str]:
    """Store the sections as typed in the default language and record one audit entry;
    returns the sections that changed. A section typed as it would be inherited is stored
    empty, and so are its translations. The caller commits."""
    values = {field: clean(str(typed.get(field, ""))) for field in FIELDS}
    for value in values.values():
        if len(value) > MAX_SECTION:
            raise RightsError(lazy_ngettext(
                "A section is too long: keep it under %(num)d character.",
                "A section is too long: keep it under %(num)d characters.", MAX_SECTION))
    below = inherited(session, channel)
    values = {field: "" if value == below[field] else value for field, value in values.items()}
    page = page_of(session, channel)
    if page is None and not any(values.values()):
        return []
    page = page or stored_page(session, channel)
    changed = [field for field in FIELDS if getattr(page, field) != values[field]]
    for field in changed:
        setattr(page, field, values[field])
        if not values[field]:
            _forget_translations(page, field)
    if changed:
        record(session, actor=actor, action="rights_page_changed",
               subject="rights" if channel is None else f"channel:{channel.slug}",
               details={"sections": changed})
    session.flush()
    return changed


def _forget_translations(page: RightsPage, field: str) -> None:
    # An empty section shows the text below it, in every language: a translation of the
    # text it had would otherwise still show in its language.
    page.translations = {code: {name: value for name, value in fields.items() if name != field}
                         for code, fields in (page.translations or {}).items()
                         if set(fields) - {field}}


def rights_groups(page: RightsPage | None) -> list[Group]:
    """The page's written sections for the translation pages (none while all are shipped)."""
    if page is None:
        return []
    texts = texts_of(page, tuple((section.field, section.title, MAX_SECTION, True)
                                 for section in SECTIONS))
    return [Group("rights", _l("Other ways to report, and your rights"), texts)] if texts else []
