"""What the translation pages of the administration list: a channel with everything in it,
and the organisational units' names, a page of them at a time.

The rules (reading, checking, saving, the audit entry) are integrity.translation_editor's.
Unit names and retired categories are optional to translate: they get a softer marker and
never count as missing, since the default language's name reads well enough in a list.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from admin.channels import MAX_DESCRIPTION, MAX_HELP, MAX_LABEL, MAX_OPTION
from admin.paging import Page
from admin.rights import rights_groups
from admin.units import MAX_NAME, TreeRow, tree_page
from integrity.models import Category, Channel, Question
from integrity.translation_editor import Group, Text, missing_languages, texts_of


def channel_groups(channel: Channel) -> list[Group]:
    """The channel's name and description, its categories' names, and each question's label,
    help text and answers, in the order reporters meet them."""
    groups = [Group("channel", _l("The channel"), texts_of(channel, (
        ("name", _l("Name shown to reporters"), MAX_NAME, False),
        ("description", _l("Description shown to reporters"), MAX_DESCRIPTION, True))))]
    categories = tuple(text for category in channel.categories
                       for text in _category_texts(category))
    if categories:
        groups.append(Group("categories", _l("Categories"), categories))
    groups.extend(question_group(question) for question in channel.questions)
    # Where the channel's "other ways to report, and your rights" page differs.
    groups.extend(rights_groups(channel.rights_page))
    return groups


def _category_texts(category: Category) -> tuple[Text, ...]:
    caption = _l("Category (retired)") if category.retired else _l("Category")
    return texts_of(category, (("name", caption, MAX_NAME, False),), optional=category.retired)


def question_group(question: Question) -> Group:
    return Group(f"question-{question.id}", _l("Question"), texts_of(question, (
        ("label", _l("Question"), MAX_LABEL, False),
        ("help_text", _l("Help text"), MAX_HELP, True),
        ("options", _l("Answers to choose from"), MAX_OPTION, False))), source=question.label)


def channel_missing(channel: Channel) -> list[str]:
    """The other languages in which some text of the channel that reporters read is missing."""
    return missing_languages(channel_groups(channel))


def unit_groups(session: Session, page: int) -> tuple[list[Group], Page[TreeRow]]:
    """A page of the units' names, each after its parent, as the units list shows them."""
    rows = tree_page(session, page=page)
    texts = tuple(text for row in rows.items
                  for text in texts_of(row.org_unit, (("name", row.path, MAX_NAME, False),),
                                       optional=True))
    return [Group("units", _l("Organisational units"), texts)], rows
