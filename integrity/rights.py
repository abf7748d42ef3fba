"""The page "Other ways to report, and your rights": what it says, section by section.

EU Directive 2019/1937 asks that reporters be told clearly how to report to the competent
authorities outside the organisation (Art. 9(1)(g), 13) and what protection the law gives them;
the GDPR (Art. 13) asks for a privacy notice: the controller, the data protection officer, the
legal basis, how long data are kept, and the person's rights.

Administrators write each section for the installation, and for a channel where it differs
(``RightsPage``). A section is looked up in that order: the channel's text, the installation's,
and then the text the catalogs ship in every language, so a fresh installation already has a
useful page. How long reports are kept is never typed: it is the channel's retention setting.

Texts are plain: paragraphs separated by a blank line, a paragraph of lines starting with
"- " is a list, and web and e-mail addresses become links. Nothing an administrator types is
ever taken as HTML (``as_html``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from integrity.models import Channel, RightsPage
from integrity.translated import page_language

Label = Union[str, LazyString]
INSTALLATION = "installation"
# Each section's longest text, in any language.
MAX_SECTION = 8000


@dataclass(frozen=True)
class Section:
    """A section of the page: its field, its heading, the text shipped for it, and what an
    administrator is asked to put in it."""

    field: str
    title: Label
    shipped: Label
    hint: Label
    # Part of the privacy notice (a sub-heading under it) rather than a section of its own.
    privacy: bool = False


SECTIONS: tuple[Section, ...] = (
    Section("other_ways", _l("Other ways to report"), _l(
        "You may report here to the internal inspectors, but you do not have to: you may "
        "also report directly to an authority outside the organisation, before or after "
        "reporting here, and you keep the same protection.\n\n"
        "- The national authorities competent for the matter, such as the anti-corruption "
        "agency or the authority your country designated to receive reports of breaches of "
        "the law.\n"
        "- The public prosecutor's office, for anything that may be a crime.\n"
        "- For customs fraud and other fraud against the budget of the European Union: the "
        "European Anti-Fraud Office (OLAF), https://anti-fraud.ec.europa.eu, and the European "
        "Public Prosecutor's Office (EPPO), https://www.eppo.europa.eu.\n"
        "- The ombudsperson, about the way a public body treats you."),
        _l("Name each authority with its postal address, web address, e-mail address or "
           "telephone number: the competent national authorities, the public prosecutor, "
           "OLAF and the EPPO for customs matters, the ombudsperson.")),
    Section("protection", _l("How the law protects you"), _l(
        "If you had reasonable grounds to believe that what you reported was true when you "
        "reported it, the law protects you, whether you report here or to an authority. This "
        "holds too if you report without your name and are identified later.\n\n"
        "- Nobody may retaliate against you for reporting: no dismissal, demotion, transfer, "
        "disciplinary measure, intimidation or blacklisting. If you suffer harm at work after "
        "reporting, it is for your employer to prove that it was not because you reported.\n"
        "- Your identity is kept confidential: it is not disclosed beyond the people who "
        "handle the report without your consent, unless the law requires it, and then you are "
        "told first unless that would harm the investigation.\n"
        "- You cannot be held liable for obtaining the information you reported, or for "
        "reporting it, unless obtaining it was a crime in itself.\n"
        "- You are entitled to free information and advice on your rights, and to support "
        "in proceedings as the national law provides.\n\n"
        "Reporting information that you know to be false is not protected and can be "
        "punished."),
        _l("The protection the national law gives reporters, and where they can get advice "
           "and support.")),
    Section("controller", _l("Who is responsible for your data"), _l(
        "The controller of the personal data in reports made here is the organisation that "
        "runs this reporting channel. Only the inspectors who handle reports can read them."),
        _l("The controller: the organisation's full name and postal address."), privacy=True),
    Section("data_protection_officer", _l("Data protection officer"), _l(
        "The organisation's data protection officer answers questions about the way "
        "personal data in reports are handled."),
        _l("How to reach the data protection officer: an e-mail or postal address."),
        privacy=True),
    Section("legal_basis", _l("Why your data are processed"), _l(
        "Personal data in reports are processed because the law requires the organisation to "
        "receive reports of breaches and to follow them up (Article 6(1)(c) of the General "
        "Data Protection Regulation, with the national law that transposes Directive (EU) "
        "2019/1937). Personal data that are clearly not relevant to a report are not used "
        "and are deleted."),
        _l("The legal basis: the article of the GDPR and the national law that requires "
           "the reporting channel."), privacy=True),
    Section("reporter_rights", _l("Your rights"), _l(
        "You have the right to see the personal data about you, to have them corrected or "
        "deleted, to have their processing restricted or to object to it, and to lodge a "
        "complaint with the data protection supervisory authority. Some of these rights can "
        "be limited where that is needed to protect an investigation or the identity of the "
        "people concerned.\n\n"
        "This site does not know who you are: to ask about a report you made without your "
        "name, write to the inspectors from your mailbox with the report's receipt."),
        _l("The reporter's rights, and the supervisory authority to complain to, with its "
           "address."), privacy=True),
)
FIELDS = tuple(section.field for section in SECTIONS)


def scope_of(channel: Channel | None) -> str:
    return INSTALLATION if channel is None else f"channel:{channel.id}"


def page_of(session: Session, channel: Channel | None = None) -> RightsPage | None:
    """The stored page of ``channel`` (the installation's without one), if any."""
    return session.scalar(select(RightsPage).where(RightsPage.scope == scope_of(channel)))


def stored_page(session: Session, channel: Channel | None = None) -> RightsPage:
    """The stored page of ``channel`` (or the installation's), made empty if there is none."""
    page = page_of(session, channel)
    if page is not None:
        return page
    # Two administrators saving the first time at once each offer a row; the first stays.
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(RightsPage).values(
        scope=scope_of(channel), channel_id=channel.id if channel else None,
        translations={}, **{name: "" for name in FIELDS}).on_conflict_do_nothing())
    page = page_of(session, channel)
    assert page is not None
    return page


def shipped(section: Section, language: str) -> str:
    """The text the catalogs give ``section`` in ``language``."""
    with force_locale(language):
        return str(section.shipped)


@dataclass(frozen=True)
class Shown:
    """A section as the page shows it: its heading and text, and where the text comes from
    ("channel", "installation" or "shipped")."""

    section: Section
    text: str
    source: str


def _own(page: RightsPage | None, field: str, language: str) -> str:
    return str(page.text(field, language) or "").strip() if page is not None else ""


def shown_sections(session: Session, channel: Channel | None = None,
                   language: str | None = None) -> list[Shown]:
    """Every section in ``language`` (the page's by default), each from the channel's page,
    else the installation's, else the catalogs."""
    language = language or page_language()
    installation = page_of(session)
    own = page_of(session, channel) if channel is not None else None
    found = []
    for section in SECTIONS:
        if text := _own(own, section.field, language):
            found.append(Shown(section, text, "channel"))
        elif text := _own(installation, section.field, language):
            found.append(Shown(section, text, "installation"))
        else:
            found.append(Shown(section, shipped(section, language), "shipped"))
    return found


# --- plain text to safe HTML ----------------------------------------------------------------

# A web address up to a space, or an e-mail address; punctuation ending a sentence is not
# part of it.
_LINK = re.compile(r"(https?://[^\s<>\"']+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)")
_TRAILING = ".,;:!?)»”’،؛"


def _linked(line: str) -> Markup:
    out = Markup()
    for index, part in enumerate(_LINK.split(line)):
        if index % 2 == 0 or not part:
            out += escape(part)
            continue
        address = part.rstrip(_TRAILING)
        rest = part[len(address):]
        href = address if "://" in address else f"mailto:{address}"
        out += Markup('<a href="{}" dir="ltr">{}</a>').format(href, address) + escape(rest)
    return out


def _block(paragraph: Sequence[str]) -> Markup:
    if all(line.startswith("- ") for line in paragraph):
        items = Markup("").join(Markup("<li>{}</li>").format(_linked(line[2:].strip()))
                                for line in paragraph)
        return Markup("<ul>{}</ul>").format(items)
    return Markup("<p>{}</p>").format(Markup("<br>").join(_linked(line) for line in paragraph))


def as_html(text: str) -> Markup:
    """``text`` as HTML: paragraphs at blank lines, lists of "- " lines, addresses as links;
    everything else escaped."""
    paragraphs: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return Markup("\n").join(_block(lines) for lines in paragraphs if lines)
