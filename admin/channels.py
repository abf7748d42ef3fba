"""Channels, their questionnaires and categories, as the administration edits them.

Every change is recorded in the audit log by the function that makes it; the caller commits.
The reporter form (/report/<slug>), /api/v1/config and the server-side check of answers
(integrity.channels.check_answers) all read the questionnaire from the database, so an edit
here changes all three at once.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from admin import recipients as recipient_changes
from admin.paging import Page, contains, paginate
from integrity.audit import record
from integrity.cases.check_ins import CheckInError, months_text, parse_months
from integrity.channels import ChannelError, add_channel
from integrity.models import (
    Category,
    Channel,
    ChannelState,
    Question,
    QuestionKind,
    Role,
    User,
)

MAX_LABEL = 500
MAX_HELP = 2000
MAX_OPTION = 200
MAX_OPTIONS = 30
MAX_DESCRIPTION = 5000


def list_channels(session: Session, *, query: str = "", page: int = 1) -> Page[Channel]:
    statement = select(Channel).order_by(Channel.name, Channel.id)
    if query:
        statement = statement.where(or_(contains(Channel.name, query),
                                        contains(Channel.slug, query)))
    return paginate(session, statement, page)


def eligible_recipients(session: Session) -> list[User]:
    """Inspectors a channel may send reports to: active, with a key."""
    return list(session.scalars(select(User).where(
        User.role == Role.INSPECTOR, User.active.is_(True), User.public_key.isnot(None),
    ).order_by(User.name, User.id)))


# Days to answer a request for a meeting or a call, unless the channel says otherwise.
MEETING_DAYS = 14


@dataclass(frozen=True)
class ChannelFields:
    name: str
    description: str
    allow_exclusion: bool
    retention_days: int
    asks_category: bool
    asks_unit: bool
    recipient_ids: Sequence[int]
    # Retention of cases closed as unsubstantiated or not in scope (None: as the others).
    short_retention_days: int | None = None
    # Cases never closed are deleted this many days after filing (None: never).
    max_open_days: int | None = None
    closing_needs_confirmation: bool = False
    # A cleared person's data is deleted this many days after the clearing.
    person_deletion_days: int = 30
    # Days to answer a reporter's request for a meeting or a call (Art. 9(2)).
    meeting_days: int = MEETING_DAYS
    # Months after closing at which the reporter's mailbox gets a check-in ("" for none).
    check_in_months: str = "3,6,12"


# A case open this long is past every deadline; below it, retention could cut an inquiry short.
MIN_OPEN_DAYS = 365


@dataclass(frozen=True)
class ChannelUpdate:
    """What a save did: settings changed, and recipient changes waiting for confirmation."""

    changed: bool
    proposed: int


def _check_fields(fields: ChannelFields) -> None:
    if not fields.name.strip():
        raise ChannelError(_l("A channel needs a name."))
    if len(fields.description) > MAX_DESCRIPTION:
        raise ChannelError(lazy_ngettext("Keep the description under %(count)d character.",
                                         "Keep the description under %(count)d characters.",
                                         MAX_DESCRIPTION, count=MAX_DESCRIPTION))
    if not 1 <= fields.retention_days <= 36500:
        raise ChannelError(_l("The retention period is from 1 to 36500 days."))
    short = fields.short_retention_days
    if short is not None and not 1 <= short <= fields.retention_days:
        raise ChannelError(_l("The retention period of unsubstantiated and out-of-scope cases "
                              "is from 1 day to the channel's retention period."))
    if not 0 <= fields.person_deletion_days <= 3650:
        raise ChannelError(_l("The time a cleared person's data is kept is from 0 to 3650 "
                              "days."))
    if not 1 <= fields.meeting_days <= 90:
        raise ChannelError(_l("The days to answer a request for a meeting or a call are from 1 "
                              "to 90."))
    try:
        parse_months(fields.check_in_months)
    except CheckInError as exc:
        raise ChannelError(str(exc)) from exc
    longest = fields.max_open_days
    if longest is not None and not MIN_OPEN_DAYS <= longest <= 36500:
        raise ChannelError(_l("The longest time a case may stay open is from 365 to 36500 "
                              "days, or empty for no limit."))


def _recipients(session: Session, ids: Sequence[int]) -> list[User]:
    eligible = {user.id: user for user in eligible_recipients(session)}
    if any(i not in eligible for i in ids):
        raise ChannelError(_l("Reports can go only to active inspectors who have a key."))
    return [eligible[i] for i in dict.fromkeys(ids)]


def _apply(channel: Channel, fields: ChannelFields) -> dict[str, Any]:
    """Set the fields but the recipients; returns what changed, for the audit log (ids and
    flags, no text)."""
    changed: dict[str, Any] = {}
    for name in ("name", "description", "allow_exclusion", "retention_days",
                 "short_retention_days", "max_open_days", "asks_category", "asks_unit",
                 "closing_needs_confirmation", "person_deletion_days", "meeting_days",
                 "check_in_months"):
        value = getattr(fields, name)
        value = value.strip() if isinstance(value, str) else value
        if name == "check_in_months":
            value = months_text(parse_months(value))  # "6, 3" is stored as "3,6"
        if getattr(channel, name) != value:
            setattr(channel, name, value)
            changed[name] = value if not isinstance(value, str) else True
    return changed


def _recipients_applied(outcome: recipient_changes.RecipientsOutcome) -> dict[str, Any]:
    if not outcome.applied:
        return {}
    # Applied at once: nobody else could confirm (admin/recipients.py).
    return {**outcome.applied, "confirmed_by_second_administrator": False}


def create_channel(session: Session, actor: User, slug: str, fields: ChannelFields) -> Channel:
    """A new channel with the default questionnaire, which the editor then changes."""
    _check_fields(fields)
    recipients = _recipients(session, fields.recipient_ids)
    channel = add_channel(session, slug.strip(), fields.name)
    _apply(channel, fields)
    session.flush()
    record(session, actor=actor, action="channel_added", subject=f"channel:{channel.slug}",
           details={"allow_exclusion": channel.allow_exclusion,
                    "retention_days": channel.retention_days,
                    "short_retention_days": channel.short_retention_days,
                    "max_open_days": channel.max_open_days,
                    "closing_needs_confirmation": channel.closing_needs_confirmation,
                    "person_deletion_days": channel.person_deletion_days,
                    "meeting_days": channel.meeting_days,
                    "check_in_months": channel.check_in_months})
    outcome = recipient_changes.ask_for(session, actor, channel, recipients)
    if outcome.applied:
        record(session, actor=actor, action="channel_changed",
               subject=f"channel:{channel.slug}", details=_recipients_applied(outcome))
    return channel


def update_channel(session: Session, actor: User, channel: Channel,
                   fields: ChannelFields) -> ChannelUpdate:
    """Change the channel's settings; a change of recipients waits for a second
    administrator's confirmation (admin/recipients.py)."""
    _check_fields(fields)
    wanted = _recipients(session, fields.recipient_ids)
    changed = _apply(channel, fields)
    outcome = recipient_changes.ask_for(session, actor, channel, wanted)
    changed.update(_recipients_applied(outcome))
    if changed:
        record(session, actor=actor, action="channel_changed", subject=f"channel:{channel.slug}",
               details=changed)
    return ChannelUpdate(bool(changed), outcome.proposed)


def set_state(session: Session, actor: User, channel: Channel, state: ChannelState) -> None:
    """Open, hide (not listed; its link still works) or close (no new reports) a channel.

    Its cases stay as they are in every state.
    """
    if channel.state == state:
        raise ChannelError(_l("The channel is already in that state."))
    before = channel.state
    channel.state = state
    record(session, actor=actor, action="channel_state_changed",
           subject=f"channel:{channel.slug}", details={"from": before, "to": state})


# --- the questionnaire ----------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionFields:
    kind: QuestionKind
    label: str
    help_text: str
    required: bool
    options: Sequence[str]


def _clean_options(fields: QuestionFields) -> list[str]:
    if not fields.kind.has_options:
        return []
    options = [" ".join(option.split()) for option in fields.options]
    options = [option for option in options if option]
    if len(options) < 2:
        raise ChannelError(_l("A choice question needs at least two answers, one per line."))
    if len(options) > MAX_OPTIONS:
        raise ChannelError(lazy_ngettext("A choice question takes at most %(count)d answer.",
                                         "A choice question takes at most %(count)d answers.",
                                         MAX_OPTIONS, count=MAX_OPTIONS))
    if any(len(option) > MAX_OPTION for option in options):
        raise ChannelError(lazy_ngettext("Keep each answer under %(count)d character.",
                                         "Keep each answer under %(count)d characters.",
                                         MAX_OPTION, count=MAX_OPTION))
    if len(set(options)) != len(options):
        raise ChannelError(_l("Each answer may appear only once."))
    return options


def _checked(fields: QuestionFields) -> tuple[str, str, list[str]]:
    label = " ".join(fields.label.split())
    if not label:
        raise ChannelError(_l("A question needs a label."))
    if len(label) > MAX_LABEL:
        raise ChannelError(lazy_ngettext("Keep the label under %(count)d character.",
                                         "Keep the label under %(count)d characters.",
                                         MAX_LABEL, count=MAX_LABEL))
    help_text = fields.help_text.strip()
    if len(help_text) > MAX_HELP:
        raise ChannelError(lazy_ngettext("Keep the help text under %(count)d character.",
                                         "Keep the help text under %(count)d characters.",
                                         MAX_HELP, count=MAX_HELP))
    return label, help_text, _clean_options(fields)


def question_key(label: str) -> str:
    """A key for a new question: readable, and never one an earlier question had.

    Old reports carry their answers under the keys of their day; a random suffix keeps a new
    question from taking over the answers of one that was removed.
    """
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "_", ascii_label.lower()).strip("_")[:40] or "question"
    return f"{stem}_{secrets.token_hex(3)}"


def add_question(session: Session, actor: User, channel: Channel,
                 fields: QuestionFields) -> Question:
    label, help_text, options = _checked(fields)
    position = max((q.position for q in channel.questions), default=-1) + 1
    question = Question(key=question_key(label), kind=fields.kind, label=label,
                        help_text=help_text, required=fields.required, options=options,
                        position=position)
    channel.questions.append(question)
    session.flush()
    record(session, actor=actor, action="question_added", subject=f"channel:{channel.slug}",
           details={"question": question.key, "kind": question.kind,
                    "required": question.required})
    return question


def update_question(session: Session, actor: User, question: Question,
                    fields: QuestionFields) -> None:
    label, help_text, options = _checked(fields)
    changed = [name for name, value in (("kind", fields.kind), ("label", label),
                                         ("help_text", help_text),
                                         ("required", fields.required), ("options", options))
               if getattr(question, name) != value]
    if not changed:
        return
    question.kind, question.label, question.help_text = fields.kind, label, help_text
    question.required, question.options = fields.required, options
    record(session, actor=actor, action="question_changed",
           subject=f"channel:{question.channel.slug}",
           details={"question": question.key, "fields": changed})


def _renumber(items: Sequence[Any]) -> None:
    for position, item in enumerate(items):
        item.position = position


def _moved(items: list[Any], item: Any, step: int) -> bool:
    index = items.index(item)
    target = index + step
    if not 0 <= target < len(items):
        return False
    items[index], items[target] = items[target], items[index]
    _renumber(items)
    return True


def move_question(session: Session, actor: User, question: Question, step: int) -> bool:
    """Move a question up (-1) or down (+1); False at either end."""
    channel = question.channel
    ordered = sorted(channel.questions, key=lambda q: (q.position, q.id))
    if not _moved(ordered, question, step):
        return False
    record(session, actor=actor, action="question_moved", subject=f"channel:{channel.slug}",
           details={"question": question.key, "position": question.position + 1})
    return True


def remove_question(session: Session, actor: User, question: Question) -> None:
    """Take a question off the form; answers already filed keep it, under its key."""
    channel = question.channel
    key = question.key
    channel.questions.remove(question)
    session.flush()
    _renumber(sorted(channel.questions, key=lambda q: (q.position, q.id)))
    record(session, actor=actor, action="question_removed", subject=f"channel:{channel.slug}",
           details={"question": key})


# --- categories ---------------------------------------------------------------------------


def list_categories(session: Session, channel: Channel, *, query: str = "",
                    page: int = 1) -> Page[Category]:
    statement = select(Category).where(Category.channel_id == channel.id).order_by(
        Category.position, Category.id)
    if query:
        statement = statement.where(contains(Category.name, query))
    return paginate(session, statement, page)


def _category_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ChannelError(_l("A category needs a name."))
    if len(name) > 200:
        raise ChannelError(lazy_ngettext("Keep the name under %(count)d character.",
                                         "Keep the name under %(count)d characters.",
                                         200, count=200))
    return name


def _category_slug(session: Session, channel: Channel, name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:50] or "category"
    taken = set(session.scalars(select(Category.slug).where(Category.channel_id == channel.id)))
    slug, n = stem, 2
    while slug in taken:
        slug, n = f"{stem}-{n}", n + 1
    return slug


def add_category(session: Session, actor: User, channel: Channel, name: str) -> Category:
    name = _category_name(name)
    if session.scalar(select(Category.id).where(Category.channel_id == channel.id,
                                                func.lower(Category.name) == name.lower())):
        raise ChannelError(_l("This channel already has a category of that name."))
    position = (session.scalar(select(func.max(Category.position)).where(
        Category.channel_id == channel.id)) or 0) + 1
    category = Category(channel_id=channel.id, slug=_category_slug(session, channel, name),
                        name=name, position=position)
    session.add(category)
    session.flush()
    record(session, actor=actor, action="category_added", subject=f"category:{category.id}",
           details={"channel": channel.slug, "slug": category.slug})
    return category


def rename_category(session: Session, actor: User, category: Category, name: str) -> None:
    """A new name; the short name (slug) stays, so old cases and statistics keep it."""
    name = _category_name(name)
    if name == category.name:
        return
    category.name = name
    record(session, actor=actor, action="category_renamed", subject=f"category:{category.id}",
           details={"channel": category.channel.slug})


def move_category(session: Session, actor: User, category: Category, step: int) -> bool:
    ordered = sorted(category.channel.categories, key=lambda c: (c.position, c.id))
    if not _moved(ordered, category, step):
        return False
    record(session, actor=actor, action="category_moved", subject=f"category:{category.id}",
           details={"position": category.position + 1})
    return True


def set_retired(session: Session, actor: User, category: Category, retired: bool) -> None:
    """Retire a category (reporters no longer see it; old cases and statistics keep it),
    or bring it back."""
    if category.retired == retired:
        raise ChannelError(_l("The category is already retired.") if retired else
                           _l("The category is not retired."))
    category.retired = retired
    record(session, actor=actor, action="category_retired" if retired else "category_restored",
           subject=f"category:{category.id}", details={"channel": category.channel.slug})
