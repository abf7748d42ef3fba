"""A channel's questionnaire as a JSON file, with its texts in every language: export, and an
import that replaces the questions of a channel (of this installation or another).

The file (docs/administration.md, "Questionnaire files")::

    {"questions": [{"key": "what", "kind": "long_text", "label": "What happened?",
                    "help": "", "required": true, "options": [],
                    "translations": {"fr": {"label": "Que s'est-il passé ?", "help": "",
                                            "options": []}}}]}

An import checks the whole file before it changes anything, so a wrong file leaves the
questionnaire as it was. Reports already filed are sealed and keep their answers under the keys
of their day; readers show an answer whose key the questionnaire no longer has under that key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import Session

from admin.channels import MAX_HELP, MAX_LABEL, MAX_OPTION, MAX_OPTIONS
from integrity.audit import record
from integrity.channels import ChannelError
from integrity.i18n import SUPPORTED_LANGUAGES
from integrity.models import Channel, Question, QuestionKind, User
from integrity.translated import with_translation

# What question_key makes ("what_happened_1a2b3c"), and the keys of the default questionnaire.
KEY = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
# A questionnaire of thirty questions in seven languages is some 100 kB.
MAX_FILE_BYTES = 2 * 1024 * 1024
QUESTION_FIELDS = ("key", "kind", "label", "help", "required", "options", "translations")
TRANSLATION_FIELDS = ("label", "help", "options")
# The file's name of each translated text, and the column (and translation field) it goes to.
COLUMNS = {"label": "label", "help": "help_text", "options": "options"}


class QuestionnaireError(ChannelError):
    """A questionnaire file that cannot be imported; the message says why, in one sentence."""


def _texts(question: Question, language: str | None) -> dict[str, Any]:
    source: Mapping[str, Any] = ((question.translations or {}).get(language, {})
                                 if language else {"label": question.label,
                                                   "help_text": question.help_text,
                                                   "options": question.options or []})
    return {name: source[column] for name, column in COLUMNS.items() if column in source}


def questionnaire_json(channel: Channel) -> dict[str, Any]:
    """The channel's questions in order, each with its texts in every language it has."""
    return {"questions": [
        {"key": q.key, "kind": q.kind, **_texts(q, None), "required": bool(q.required),
         "translations": {code: _texts(q, code) for code in sorted(q.translations or {})}}
        for q in channel.questions]}


def read_questionnaire(raw: bytes) -> Any:
    """The JSON data of an uploaded file."""
    if len(raw) > MAX_FILE_BYTES:
        raise QuestionnaireError(_l("The file is larger than 2 MB."))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(_l("The file is not UTF-8 text.")) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise QuestionnaireError(_l(
            "The file is not valid JSON: the mistake is at line %(line)d, column %(column)d.",
            line=exc.lineno, column=exc.colno)) from exc


@dataclass(frozen=True)
class _Checked:
    key: str
    kind: QuestionKind
    label: str
    help_text: str
    required: bool
    options: list[str]
    translations: dict[str, dict[str, Any]]


class _Reader:
    """Checks one question of the file; each refusal names the question by its number."""

    def __init__(self, number: int, item: Any) -> None:
        self.number = number
        if not isinstance(item, dict):
            raise QuestionnaireError(_l("Question %(number)d is not a JSON object.",
                                        number=number))
        self.item = item

    def unknown(self, fields: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
        extra = sorted(set(fields) - set(known))
        if extra:
            raise QuestionnaireError(_l(
                "Question %(number)d has a field this format does not know: “%(field)s”.",
                number=self.number, field=where + extra[0]))

    def text(self, fields: Mapping[str, Any], name: str, where: str, limit: int) -> str:
        value = fields.get(name, "")
        if not isinstance(value, str):
            raise QuestionnaireError(_l("In question %(number)d, “%(field)s” must be text.",
                                        number=self.number, field=where + name))
        value = " ".join(value.split()) if name == "label" else value.strip()
        if len(value) > limit:
            raise QuestionnaireError(lazy_ngettext(
                "In question %(number)d, “%(field)s” is longer than %(count)d character.",
                "In question %(number)d, “%(field)s” is longer than %(count)d characters.",
                limit, number=self.number, field=where + name, count=limit))
        return value

    def options(self, fields: Mapping[str, Any], where: str) -> list[str]:
        value = fields.get("options", [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise QuestionnaireError(_l(
                "In question %(number)d, “%(field)s” must be a list of texts.",
                number=self.number, field=where + "options"))
        options = [" ".join(option.split()) for option in value]
        if any(len(option) > MAX_OPTION for option in options):
            raise QuestionnaireError(lazy_ngettext(
                "In question %(number)d, “%(field)s” is longer than %(count)d character.",
                "In question %(number)d, “%(field)s” is longer than %(count)d characters.",
                MAX_OPTION, number=self.number, field=where + "options", count=MAX_OPTION))
        return options

    def key(self) -> str:
        key = self.item.get("key")
        if not isinstance(key, str) or not KEY.match(key):
            raise QuestionnaireError(_l(
                "Question %(number)d needs a key of lower-case letters, digits and underscores "
                "(at most 64, starting with a letter or digit).", number=self.number))
        return key

    def kind(self) -> QuestionKind:
        kind = self.item.get("kind")
        if not isinstance(kind, str) or kind not in set(QuestionKind):
            raise QuestionnaireError(_l(
                "Question %(number)d has an unknown kind “%(kind)s”; the kinds are %(kinds)s.",
                number=self.number, kind=str(kind),
                kinds=", ".join(QuestionKind)))
        return QuestionKind(kind)

    def choices(self, kind: QuestionKind) -> list[str]:
        options = [option for option in self.options(self.item, "") if option]
        if not kind.has_options:
            if options:
                raise QuestionnaireError(_l(
                    "Question %(number)d has options, but only the two choice kinds take "
                    "options.", number=self.number))
            return []
        if len(set(options)) < 2:
            raise QuestionnaireError(_l(
                "Question %(number)d needs at least two different answers to choose from.",
                number=self.number))
        if len(options) > MAX_OPTIONS:
            raise QuestionnaireError(lazy_ngettext(
                "Question %(number)d offers more than %(count)d answer.",
                "Question %(number)d offers more than %(count)d answers.",
                MAX_OPTIONS, number=self.number, count=MAX_OPTIONS))
        if len(set(options)) != len(options):
            raise QuestionnaireError(_l("Question %(number)d offers an answer twice.",
                                        number=self.number))
        return options

    def translations(self, options: list[str]) -> dict[str, dict[str, Any]]:
        given = self.item.get("translations", {})
        if not isinstance(given, dict) or not all(isinstance(v, dict) for v in given.values()):
            raise QuestionnaireError(_l(
                "In question %(number)d, “translations” must map language codes to texts.",
                number=self.number))
        out: dict[str, dict[str, Any]] = {}
        for code, fields in sorted(given.items()):
            if code not in SUPPORTED_LANGUAGES:
                raise QuestionnaireError(_l(
                    "Question %(number)d has a translation into “%(language)s”, which is not "
                    "a supported language code (%(codes)s).", number=self.number,
                    language=code, codes=", ".join(SUPPORTED_LANGUAGES)))
            where = f"translations.{code}."
            self.unknown(fields, TRANSLATION_FIELDS, where)
            texts: dict[str, Any] = {"label": self.text(fields, "label", where, MAX_LABEL),
                                     "help_text": self.text(fields, "help", where, MAX_HELP)}
            translated = self.options(fields, where)
            if translated and (len(translated) != len(options) or not all(translated)):
                raise QuestionnaireError(_l(
                    "In question %(number)d, the “%(language)s” translation needs one answer "
                    "for each of the question's answers, in the same order.",
                    number=self.number, language=code))
            texts["options"] = translated
            out = with_translation(out, code, texts)
        return out

    def question(self) -> _Checked:
        self.unknown(self.item, QUESTION_FIELDS, "")
        key, kind = self.key(), self.kind()
        label = self.text(self.item, "label", "", MAX_LABEL)
        if not label:
            raise QuestionnaireError(_l("Question %(number)d needs a label.",
                                        number=self.number))
        required = self.item.get("required", False)
        if not isinstance(required, bool):
            raise QuestionnaireError(_l(
                "In question %(number)d, “required” must be true or false.", number=self.number))
        options = self.choices(kind)
        return _Checked(key, kind, label, self.text(self.item, "help", "", MAX_HELP), required,
                        options, self.translations(options))


def check_questionnaire(data: Any) -> list[_Checked]:
    """Every question of the file, checked; the first mistake is refused in one sentence."""
    if not isinstance(data, dict) or set(data) != {"questions"} or not isinstance(
            data["questions"], list):
        raise QuestionnaireError(_l(
            "The file must hold one field, “questions”, with the list of questions, as an "
            "export does."))
    if not data["questions"]:
        raise QuestionnaireError(_l("The file has no question."))
    checked = [_Reader(number, item).question()
               for number, item in enumerate(data["questions"], start=1)]
    keys = [question.key for question in checked]
    twice = next((key for key in keys if keys.count(key) > 1), None)
    if twice is not None:
        raise QuestionnaireError(_l("The key “%(key)s” is used by more than one question.",
                                    key=twice))
    return checked


def import_questionnaire(session: Session, actor: User, channel: Channel, data: Any) -> int:
    """Replace the channel's questions by the file's; returns how many. The caller commits."""
    checked = check_questionnaire(data)
    channel.questions.clear()
    # The old rows go first: a key the file keeps would otherwise be taken twice for a moment.
    session.flush()
    channel.questions.extend(
        Question(key=q.key, kind=q.kind, label=q.label, help_text=q.help_text,
                 required=q.required, options=q.options, position=position,
                 translations=q.translations)
        for position, q in enumerate(checked))
    session.flush()
    record(session, actor=actor, action="questionnaire_imported",
           subject=f"channel:{channel.slug}", details={"count": len(checked)})
    return len(checked)
