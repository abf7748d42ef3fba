"""Survey definitions: a questionnaire as JSON, checked into typed objects and back.

A definition has a title, an introduction and sections of questions in order. Each question
has a stable ``key`` (answers are stored under it), ``text``, optional ``help``, ``required``,
an optional ``condition`` on an earlier answer, an optional ``index`` tag that the results
group questions by, and a ``type`` (see QuestionType). docs/surveys.md shows an example.

Answers are sent by the form as strings ("form values") and stored as small integers
(``Answer.choice``) or numbers: ``choice_code`` maps one to the other.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

from integrity.i18n import SUPPORTED_LANGUAGES
from integrity.translated import translated

KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
INDEX = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_TITLE = 200
MAX_TEXT_ANSWER = 2000
SCALE_POINTS = 5

# Stored codes (Answer.choice) of the answers that are not numbered options or scale points.
YES, NO, PREFER_NOT = 1, 2, 3
# Crosswise model: both statements true or both false ("same"), or exactly one true.
SAME, DIFFERENT = 1, 2


class QuestionType(enum.StrEnum):
    AGREEMENT = "agreement"  # 1 strongly disagree ... 5 strongly agree
    FREQUENCY = "frequency"  # 1 never ... 5 very often
    SINGLE = "single"
    MULTIPLE = "multiple"
    YESNO = "yesno"  # yes, no, prefer not to say
    NUMBER = "number"
    TEXT = "text"  # optional free text, always with a warning not to identify anyone
    CROSSWISE = "crosswise"
    FORCED_RESPONSE = "forced_response"

    @property
    def sensitive(self) -> bool:
        """A randomized-response design: the answer alone says nothing about the person."""
        return self in (QuestionType.CROSSWISE, QuestionType.FORCED_RESPONSE)

    @property
    def can_steer(self) -> bool:
        """Whether other questions may be shown or hidden by this one's answer.

        Never a sensitive one: a follow-up shown only after "yes" would undo the deniability.
        """
        return self in (QuestionType.AGREEMENT, QuestionType.FREQUENCY, QuestionType.SINGLE,
                        QuestionType.MULTIPLE, QuestionType.YESNO)


# The texts a definition may carry in other languages, at each level ("translations").
TRANSLATED_DEFINITION = ("title", "introduction")
TRANSLATED_SECTION = ("title", "introduction")
TRANSLATED_QUESTION = ("text", "help", "options", "innocuous")

Translations = Mapping[str, Mapping[str, Any]]

# Form value -> stored code, for the types whose answers are words.
WORD_CODES: dict[QuestionType, dict[str, int]] = {
    QuestionType.YESNO: {"yes": YES, "no": NO, "prefer_not": PREFER_NOT},
    QuestionType.CROSSWISE: {"same": SAME, "different": DIFFERENT},
    QuestionType.FORCED_RESPONSE: {"yes": YES, "no": NO},
}


class DefinitionError(ValueError):
    """A definition that cannot be used; the message is one sentence saying what to fix."""


@dataclass(frozen=True)
class Condition:
    """Show the question only when ``question`` was answered with one of ``values``."""

    question: str
    values: tuple[str, ...]

    def holds(self, given: Mapping[str, Sequence[str]]) -> bool:
        return any(value in self.values for value in given.get(self.question, ()))


@dataclass(frozen=True)
class Question:
    key: str
    type: QuestionType
    text: str
    help: str = ""
    required: bool = False
    index: str | None = None
    # For scale items worded against the index (agreeing is the worse answer).
    reverse: bool = False
    condition: Condition | None = None
    options: tuple[str, ...] = ()  # single, multiple
    correct: int | None = None  # single: the right option's number, for a knowledge check
    minimum: float | None = None  # number
    maximum: float | None = None
    innocuous: str = ""  # crosswise: the second statement, its probability known
    p: float | None = None
    p_truth: float | None = None  # forced response: answer truthfully / say yes / say no
    p_forced_yes: float | None = None
    p_forced_no: float | None = None
    # Other languages' texts: {"fr": {"text": …, "help": …, "options": […], "innocuous": …}}.
    translations: Translations = field(default_factory=dict, hash=False)

    def form_values(self) -> tuple[str, ...]:
        """What the form may send for this question (empty for number and text)."""
        if self.type in (QuestionType.AGREEMENT, QuestionType.FREQUENCY):
            return tuple(str(point) for point in range(1, SCALE_POINTS + 1))
        if self.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
            return tuple(str(number) for number in range(1, len(self.options) + 1))
        return tuple(WORD_CODES.get(self.type, {}))

    def choice_code(self, value: str) -> int:
        """The stored code of a form value already known to be one of ``form_values``."""
        words = WORD_CODES.get(self.type)
        return words[value] if words is not None else int(value)

    def forced_digits(self) -> tuple[range, range]:
        """Forced response: the digits 0-9 that say "answer yes", and those that say "no"."""
        yes = round((self.p_forced_yes or 0) * 10)
        no = round((self.p_forced_no or 0) * 10)
        return range(0, yes), range(yes, yes + no)


@dataclass(frozen=True)
class Section:
    title: str
    questions: tuple[Question, ...]
    introduction: str = ""
    translations: Translations = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Definition:
    title: str
    sections: tuple[Section, ...]
    introduction: str = ""
    open_link: bool = False
    recurrence_months: int | None = None
    open_days: int | None = None
    translations: Translations = field(default_factory=dict, hash=False)
    _by_key: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key.update({q.key: q for q in self.questions})

    @property
    def questions(self) -> list[Question]:
        return [question for section in self.sections for question in section.questions]

    def question(self, key: str) -> Question:
        return self._by_key[key]

    def missing_languages(self, languages: Sequence[str]) -> list[str]:
        """Those of ``languages`` in which some text of the definition is not translated."""
        return [code for code in languages if _lacks(self, TRANSLATED_DEFINITION, code)
                or any(_lacks(s, TRANSLATED_SECTION, code) for s in self.sections)
                or any(_lacks(q, TRANSLATED_QUESTION, code) for q in self.questions)]


# Where a dataclass's text lives under another name in the JSON ("help" is Question.help).
def _lacks(item: Any, names: Sequence[str], language: str) -> bool:
    from integrity.translated import lacks

    return any(lacks(getattr(item, name), item.translations, name, language) for name in names)


def _localized(item: Any, names: Sequence[str], language: str) -> dict[str, Any]:
    return {name: translated(getattr(item, name), item.translations, name, language)
            for name in names}


def localize(definition: Definition, language: str) -> Definition:
    """The definition as read in ``language``: each text in it, else in the default language.

    Keys, types, options' numbers and answers' codes do not change, so answers given in any
    language are one set of results.
    """
    sections = tuple(
        dataclasses.replace(
            section, **_localized(section, TRANSLATED_SECTION, language),
            questions=tuple(dataclasses.replace(q, **_localized(q, TRANSLATED_QUESTION, language))
                            for q in section.questions))
        for section in definition.sections)
    return dataclasses.replace(definition, **_localized(definition, TRANSLATED_DEFINITION,
                                                        language),
                               sections=sections, _by_key={})


# ---------------------------------------------------------------- reading


QUESTION_FIELDS = {
    "key", "type", "text", "help", "required", "index", "reverse", "condition", "options",
    "correct", "min", "max", "innocuous", "p", "p_truth", "p_forced_yes", "p_forced_no",
    "translations",
}
TYPE_FIELDS: dict[QuestionType, set[str]] = {
    QuestionType.SINGLE: {"options", "correct"},
    QuestionType.MULTIPLE: {"options"},
    QuestionType.NUMBER: {"min", "max"},
    QuestionType.CROSSWISE: {"innocuous", "p"},
    QuestionType.FORCED_RESPONSE: {"p_truth", "p_forced_yes", "p_forced_no"},
}
COMMON_FIELDS = QUESTION_FIELDS - set().union(*TYPE_FIELDS.values())
# The texts each type may translate: its question, help, and its options or second statement.
TRANSLATED_QUESTION_OF: dict[QuestionType, tuple[str, ...]] = {
    qtype: ("text", "help") + tuple(name for name in ("options", "innocuous")
                                    if name in TYPE_FIELDS.get(qtype, set()))
    for qtype in QuestionType
}


def _text(value: Any, what: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DefinitionError(_l("“%(field)s” must be text.", field=what))
    if required and not value.strip():
        raise DefinitionError(_l("“%(field)s” must not be empty.", field=what))
    return value.strip()


def _flag(value: Any, what: str, key: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise DefinitionError(_l("“%(field)s” of question “%(key)s” must be true or false.",
                                 field=what, key=key))
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _tenths(value: Any) -> int | None:
    number = _number(value)
    if number is None or not 0 <= number <= 1 or abs(number * 10 - round(number * 10)) > 1e-9:
        return None
    return round(number * 10)


def _key(raw: Any, section: int, number: int) -> str:
    if not isinstance(raw, str) or not KEY.match(raw):
        raise DefinitionError(_l(
            "Question %(number)d of section %(section)d needs a key of lower-case letters, "
            "digits and underscores that starts with a letter.", number=number, section=section))
    return raw


def _options(raw: dict[str, Any], key: str) -> tuple[str, ...]:
    options = raw.get("options")
    if (not isinstance(options, list) or len(options) < 2
            or not all(isinstance(o, str) and o.strip() for o in options)
            or len({o.strip() for o in options}) != len(options)):
        raise DefinitionError(_l("Question “%(key)s” needs at least two different options.",
                                 key=key))
    return tuple(o.strip() for o in options)


def _typed_fields(qtype: QuestionType, raw: dict[str, Any], key: str) -> dict[str, Any]:
    """The fields that only some types have, checked."""
    if qtype in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        options = _options(raw, key)
        correct = raw.get("correct")
        if correct is not None and (isinstance(correct, bool) or not isinstance(correct, int)
                                    or not 1 <= correct <= len(options)):
            raise DefinitionError(_l(
                "The right answer of question “%(key)s” must be the number of one of its "
                "options.", key=key))
        return {"options": options, "correct": correct}
    if qtype is QuestionType.NUMBER:
        low, high = _number(raw.get("min")), _number(raw.get("max"))
        if low is None or high is None or low >= high:
            raise DefinitionError(_l("Question “%(key)s” needs a minimum below its maximum.",
                                     key=key))
        return {"minimum": low, "maximum": high}
    if qtype is QuestionType.CROSSWISE:
        innocuous = raw.get("innocuous")
        if not isinstance(innocuous, str) or not innocuous.strip():
            raise DefinitionError(_l(
                "Crosswise question “%(key)s” needs a second, innocuous statement.", key=key))
        p = _number(raw.get("p"))
        # At p = 0.5 the answer carries no information about the sensitive statement.
        if p is None or not 0 < p < 1 or abs(p - 0.5) < 0.01:
            raise DefinitionError(_l(
                "The probability of the innocuous statement of “%(key)s” must be between 0 and "
                "1, and not 0.5.", key=key))
        return {"innocuous": innocuous.strip(), "p": p}
    if qtype is QuestionType.FORCED_RESPONSE:
        tenths = [_tenths(raw.get(name)) for name in ("p_truth", "p_forced_yes", "p_forced_no")]
        # Tenths, so that one digit 0-9 (drawn in the browser, or thought of) decides.
        if (any(t is None for t in tenths) or sum(t or 0 for t in tenths) != 10
                or not 0 < (tenths[0] or 0) < 10):
            raise DefinitionError(_l(
                "The three probabilities of forced-response question “%(key)s” must be tenths "
                "(0.1, 0.2 …) adding up to 1, with a chance both to answer truthfully and to be "
                "told what to answer.", key=key))
        return {"p_truth": (tenths[0] or 0) / 10, "p_forced_yes": (tenths[1] or 0) / 10,
                "p_forced_no": (tenths[2] or 0) / 10}
    return {}


def _condition(raw: Any, key: str, earlier: Mapping[str, Question]) -> Condition | None:
    if raw is None:
        return None
    if (not isinstance(raw, dict) or not isinstance(raw.get("question"), str)
            or ("equals" in raw) == ("in" in raw) or set(raw) - {"question", "equals", "in"}):
        raise DefinitionError(_l(
            "The condition of question “%(key)s” must name an earlier question and the answers "
            "that show it (“equals” or “in”).", key=key))
    other = raw["question"]
    source = earlier.get(other)
    if source is None:
        raise DefinitionError(_l(
            "The condition of question “%(key)s” refers to “%(other)s”, which is not an earlier "
            "question.", key=key, other=other))
    if not source.type.can_steer:
        raise DefinitionError(_l(
            "Question “%(key)s” cannot depend on “%(other)s”: only scale, choice and yes/no "
            "questions can show or hide others.", key=key, other=other))
    values = [raw["equals"]] if "equals" in raw else raw["in"]
    if not isinstance(values, list) or not values:
        raise DefinitionError(_l(
            "The condition of question “%(key)s” must list at least one answer.", key=key))
    allowed = source.form_values()
    normalised = []
    for value in values:
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        if text not in allowed:
            raise DefinitionError(_l(
                "The condition of question “%(key)s” uses an answer “%(value)s” that question "
                "“%(other)s” does not offer.", key=key, value=value, other=other))
        if text not in normalised:
            normalised.append(text)
    return Condition(other, tuple(normalised))


def _question(raw: Any, section: int, number: int, earlier: Mapping[str, Question]) -> Question:
    if not isinstance(raw, dict):
        raise DefinitionError(_l("Question %(number)d of section %(section)d is not an object.",
                                 number=number, section=section))
    key = _key(raw.get("key"), section, number)
    if key in earlier:
        raise DefinitionError(_l("The key “%(key)s” is used by more than one question.",
                                 key=key))
    try:
        qtype = QuestionType(str(raw.get("type")))
    except ValueError:
        raise DefinitionError(_l("Question “%(key)s” has an unknown type “%(type)s”.",
                                 key=key, type=raw.get("type"))) from None
    for name in raw:
        if name not in COMMON_FIELDS | TYPE_FIELDS.get(qtype, set()):
            raise DefinitionError(_l("Question “%(key)s” has a field “%(field)s” that its type "
                                     "does not use.", key=key, field=name))
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DefinitionError(_l("Question “%(key)s” has no text.", key=key))
    required = _flag(raw.get("required"), "required", key)
    if required and qtype is QuestionType.TEXT:
        raise DefinitionError(_l("A free-text question (“%(key)s”) cannot be required.",
                                 key=key))
    index = raw.get("index")
    if index is not None and (not isinstance(index, str) or not INDEX.match(index)):
        raise DefinitionError(_l(
            "The index of question “%(key)s” must be a short name of lower-case letters, digits "
            "and underscores.", key=key))
    typed = _typed_fields(qtype, raw, key)
    return Question(
        key=key, type=qtype, text=text.strip(), help=_text(raw.get("help"), f"{key}.help"),
        required=required, index=index, reverse=_flag(raw.get("reverse"), "reverse", key),
        condition=_condition(raw.get("condition"), key, earlier),
        translations=_translations(raw.get("translations"), TRANSLATED_QUESTION_OF[qtype],
                                   f"“{key}”", typed.get("options", ())),
        **typed,
    )


def _translations(raw: Any, names: Sequence[str], where: str,
                  options: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """``translations`` of a definition, section or question: {language: {field: text}}."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DefinitionError(_l("The translations of %(where)s must be an object with one "
                                 "entry per language.", where=where))
    out: dict[str, dict[str, Any]] = {}
    for language, texts in raw.items():
        if language not in SUPPORTED_LANGUAGES:
            raise DefinitionError(_l("The translations of %(where)s name “%(language)s”, which "
                                     "is not a supported language.",
                                     where=where, language=language))
        if not isinstance(texts, dict) or set(texts) - set(names):
            raise DefinitionError(_l("The “%(language)s” translation of %(where)s may only give "
                                     "%(fields)s.", language=language, where=where,
                                     fields=", ".join(f"“{n}”" for n in names)))
        clean: dict[str, Any] = {}
        for name, value in texts.items():
            if name == "options":
                if (not isinstance(value, list) or len(value) != len(options)
                        or not all(isinstance(v, str) and v.strip() for v in value)):
                    raise DefinitionError(_l(
                        "The “%(language)s” options of %(where)s must be as many texts as the "
                        "options.", language=language, where=where))
                clean[name] = [v.strip() for v in value]
            else:
                text = _text(value, f"{where} ({language}) {name}")
                if text:
                    clean[name] = text
        if clean:
            out[language] = clean
    return out


def _recurrence(raw: Any) -> tuple[int | None, int | None]:
    if raw is None:
        return None, None
    if (isinstance(raw, dict) and set(raw) == {"months", "open_days"}
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                    for v in raw.values())):
        return raw["months"], raw["open_days"]
    raise DefinitionError(_l("The recurrence gives whole numbers of “months” between waves and "
                             "of “open_days”, both at least 1."))


def parse_definition(data: Any) -> Definition:
    """Check a definition (parsed JSON) and return it; DefinitionError says what is wrong."""
    if not isinstance(data, dict):
        raise DefinitionError(_l("A survey definition is a JSON object."))
    unknown = set(data) - {"title", "introduction", "open_link", "recurrence", "sections",
                           "translations"}
    if unknown:
        raise DefinitionError(_l("A survey definition has no field “%(field)s”.",
                                 field=sorted(unknown)[0]))
    title = _text(data.get("title"), "title")
    if not title:
        raise DefinitionError(_l("A survey needs a title."))
    translations = _translations(data.get("translations"), TRANSLATED_DEFINITION,
                                 str(_l("the survey")))
    if any(len(t) > MAX_TITLE for t in [title, *(texts.get("title", "") for texts in
                                               translations.values())]):
        raise DefinitionError(lazy_ngettext("A survey's title has at most %(count)d character.",
                                            "A survey's title has at most %(count)d characters.",
                                            MAX_TITLE, count=MAX_TITLE))
    open_link = data.get("open_link", False)
    if not isinstance(open_link, bool):
        raise DefinitionError(_l("“open_link” must be true or false."))
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise DefinitionError(_l("A survey needs at least one section."))
    earlier: dict[str, Question] = {}
    sections = []
    for s_number, raw in enumerate(raw_sections, start=1):
        if not isinstance(raw, dict) or not isinstance(raw.get("questions"), list) \
                or not raw["questions"] or set(raw) - {"title", "introduction", "questions",
                                                       "translations"}:
            raise DefinitionError(_l("Section %(number)d has no questions.", number=s_number))
        questions = []
        for q_number, raw_question in enumerate(raw["questions"], start=1):
            question = _question(raw_question, s_number, q_number, earlier)
            earlier[question.key] = question
            questions.append(question)
        sections.append(Section(
            _text(raw.get("title"), f"section {s_number} title"), tuple(questions),
            _text(raw.get("introduction"), f"section {s_number} introduction"),
            _translations(raw.get("translations"), TRANSLATED_SECTION,
                          str(_l("section %(number)d", number=s_number)))))
    months, days = _recurrence(data.get("recurrence"))
    return Definition(title=title, introduction=_text(data.get("introduction"), "introduction"),
                      sections=tuple(sections), open_link=open_link, recurrence_months=months,
                      open_days=days, translations=translations)


def load_definition(text: str | bytes) -> Definition:
    """A definition from JSON text."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise DefinitionError(_l("The definition is not valid JSON (%(reason)s).",
                                 reason=str(exc))) from exc
    return parse_definition(data)


# ---------------------------------------------------------------- writing


def _question_json(q: Question) -> dict[str, Any]:
    out: dict[str, Any] = {"key": q.key, "type": q.type.value, "text": q.text}
    if q.help:
        out["help"] = q.help
    if q.required:
        out["required"] = True
    if q.index:
        out["index"] = q.index
    if q.reverse:
        out["reverse"] = True
    if q.condition is not None:
        values: list[Any] = [int(v) if v.isdigit() else v for v in q.condition.values]
        out["condition"] = ({"question": q.condition.question, "equals": values[0]}
                            if len(values) == 1 else
                            {"question": q.condition.question, "in": values})
    if q.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        out["options"] = list(q.options)
        if q.correct is not None:
            out["correct"] = q.correct
    elif q.type is QuestionType.NUMBER:
        out["min"], out["max"] = _plain(q.minimum), _plain(q.maximum)
    elif q.type is QuestionType.CROSSWISE:
        out["innocuous"], out["p"] = q.innocuous, q.p
    elif q.type is QuestionType.FORCED_RESPONSE:
        out.update(p_truth=q.p_truth, p_forced_yes=q.p_forced_yes, p_forced_no=q.p_forced_no)
    if q.translations:
        out["translations"] = _translations_json(q.translations)
    return out


def _translations_json(translations: Translations) -> dict[str, dict[str, Any]]:
    return {code: dict(texts) for code, texts in sorted(translations.items()) if texts}


def _plain(number: float | None) -> float | int | None:
    return int(number) if number is not None and number.is_integer() else number


def definition_json(definition: Definition) -> dict[str, Any]:
    """The definition as JSON data; ``parse_definition`` reads it back unchanged."""
    out: dict[str, Any] = {"title": definition.title}
    if definition.introduction:
        out["introduction"] = definition.introduction
    if definition.open_link:
        out["open_link"] = True
    if definition.recurrence_months is not None:
        out["recurrence"] = {"months": definition.recurrence_months,
                             "open_days": definition.open_days}
    if definition.translations:
        out["translations"] = _translations_json(definition.translations)
    out["sections"] = [
        {"title": s.title, **({"introduction": s.introduction} if s.introduction else {}),
         **({"translations": _translations_json(s.translations)} if s.translations else {}),
         "questions": [_question_json(q) for q in s.questions]}
        for s in definition.sections
    ]
    return out


def dump_definition(definition: Definition) -> str:
    """The definition as JSON text (what the database keeps and ``survey export`` prints)."""
    return json.dumps(definition_json(definition), ensure_ascii=False, indent=2)
