"""Channels, their questionnaires and recipients: setting them up and checking answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.auth.services import UNUSABLE_PASSWORD_HASH, AccountError, normalise_email
from integrity.catalog_texts import Message, set_shipped
from integrity.models import Channel, Question, QuestionKind, Role, User

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_SHORT_TEXT = 500
MAX_LONG_TEXT = 20000


class ChannelError(ValueError):
    """A channel set-up request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    kind: QuestionKind
    label: Message
    required: bool = False
    help_text: Message = ""
    options: tuple[Message, ...] = ()


# The questionnaire a new channel starts with; administrators edit it afterwards. Its texts are
# catalog messages: a new channel gets them in the default language and translated into the
# other configured languages (integrity.catalog_texts).
DEFAULT_QUESTIONNAIRE = (
    QuestionSpec("what", QuestionKind.LONG_TEXT, _l("What happened?"), True,
                 _l("Describe what you saw or know: what was done, by whom (roles are enough), "
                    "and what was exchanged. Do not write your own name.")),
    QuestionSpec("when", QuestionKind.DATE, _l("When did it happen?"), False,
                 _l("The day, or the first day if it happened more than once.")),
    QuestionSpec("where", QuestionKind.SHORT_TEXT, _l("Where did it happen?"), False,
                 _l("For example the lane, office or shift.")),
    QuestionSpec("ongoing", QuestionKind.YES_NO, _l("Is it still going on?")),
    QuestionSpec("how_known", QuestionKind.SINGLE_CHOICE, _l("How do you know about it?"), False,
                 "", (_l("I saw it myself"), _l("I was asked to take part"),
                      _l("Someone told me"), _l("I found it in documents or records"),
                      _l("Other"))),
    QuestionSpec("evidence", QuestionKind.MULTIPLE_CHOICE, _l("What could support it?"), False,
                 _l("Tick all that apply. You can attach files below."),
                 (_l("Documents"), _l("Photos or video"), lazy_pgettext("evidence", "Messages"),
                  _l("Other witnesses"), _l("Records in a system"))),
    QuestionSpec("reported_before", QuestionKind.YES_NO,
                 _l("Have you reported this anywhere before?")),
)


def _question(spec: QuestionSpec, position: int) -> Question:
    question = Question(key=spec.key, kind=spec.kind, required=spec.required,
                        position=position)
    set_shipped(question, {"label": spec.label, "help_text": spec.help_text,
                           "options": list(spec.options)})
    return question


def add_channel(
    session: Session, slug: str, name: str, *, allow_exclusion: bool = False,
    description: str = "", questionnaire: tuple[QuestionSpec, ...] = DEFAULT_QUESTIONNAIRE,
) -> Channel:
    """Create a channel with a questionnaire; the caller commits."""
    if not SLUG.match(slug):
        raise ChannelError(_l("A channel's short name uses lower-case letters, digits and "
                              "hyphens."))
    if session.scalar(select(Channel.id).where(Channel.slug == slug)) is not None:
        raise ChannelError(_l("A channel with that short name already exists."))
    if not name.strip():
        raise ChannelError(_l("A channel needs a name."))
    channel = Channel(slug=slug, name=name.strip(), description=description,
                      allow_exclusion=allow_exclusion)
    channel.questions = [_question(spec, i) for i, spec in enumerate(questionnaire)]
    session.add(channel)
    session.flush()
    return channel


def get_channel(session: Session, slug: str) -> Channel:
    channel = session.scalar(select(Channel).where(Channel.slug == slug))
    if channel is None:
        raise ChannelError(_l("There is no channel “%(slug)s”.", slug=slug))
    return channel


def add_offline_inspector(
    session: Session, *, name: str, email: str, public_key: bytes, channel: Channel
) -> User:
    """An inspector whose private key lives in a file offline, as a recipient of ``channel``.

    Adding the same inspector again (same e-mail, same key) adds the channel only.
    """
    if len(public_key) != 32:
        raise ChannelError(_l("A public key is 32 bytes."))
    email = normalise_email(email)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        if "@" not in email:
            raise AccountError(_l("That is not an e-mail address."))
        # No usable password hash: this inspector reads cases offline and never signs in.
        user = User(email=email, name=name.strip(), role=Role.INSPECTOR,
                    password_hash=UNUSABLE_PASSWORD_HASH, can_sign_in=False, public_key=public_key)
        session.add(user)
    elif user.role != Role.INSPECTOR:
        raise ChannelError(_l("That e-mail address belongs to a user who is not an inspector."))
    elif user.public_key not in (None, public_key):
        raise ChannelError(_l("That inspector already has a different public key."))
    else:
        user.public_key = public_key
    if user not in channel.recipients:
        channel.recipients.append(user)
    session.flush()
    return user


def check_answers(channel: Channel, answers: Mapping[str, Any],
                  language: str | None = None) -> dict[str, Any]:
    """Answers as the questionnaire asks for them: required ones present, each of its type.

    Used by the server-side (no JavaScript) form, where the server sees the answers in memory
    before sealing them; returns the answers to seal, without empty ones. The form was shown
    in ``language`` (the page's by default): a choice is one of that language's options, and
    a refusal names the question as the form did.
    """
    clean: dict[str, Any] = {}
    for question in channel.questions:
        value = answers.get(question.key)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "", []):
            if question.required:
                raise ChannelError(_l("Please answer “%(label)s”.",
                                      label=question.text("label", language)))
            continue
        clean[question.key] = _check_value(question, value, language)
    return clean


def _check_value(question: Question, value: Any, language: str | None) -> Any:
    kind = question.kind
    label = question.text("label", language)
    if kind in (QuestionKind.SHORT_TEXT, QuestionKind.LONG_TEXT):
        limit = MAX_SHORT_TEXT if kind is QuestionKind.SHORT_TEXT else MAX_LONG_TEXT
        if not isinstance(value, str) or len(value) > limit:
            raise ChannelError(_l("“%(label)s” is too long.", label=label))
        return value.strip()
    if kind is QuestionKind.DATE:
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise ChannelError(_l("“%(label)s” is not a date.", label=label)) from exc
    if kind is QuestionKind.YES_NO:
        if value not in ("yes", "no"):
            raise ChannelError(_l("Answer “%(label)s” with yes or no.", label=label))
        return value
    options = list(question.text("options", language) or [])
    chosen = value if isinstance(value, list) else [value]
    if any(choice not in options for choice in chosen) or (
        kind is QuestionKind.SINGLE_CHOICE and len(chosen) != 1
    ):
        raise ChannelError(_l("Choose among the offered answers to “%(label)s”.", label=label))
    return chosen if kind is QuestionKind.MULTIPLE_CHOICE else chosen[0]
