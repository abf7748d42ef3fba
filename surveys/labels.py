"""What respondents read for each answer: scale points, yes/no, the sensitive designs."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from surveys.definitions import Question, QuestionType

AGREEMENT = (_l("Strongly disagree"), _l("Disagree"), _l("Neither agree nor disagree"),
             _l("Agree"), _l("Strongly agree"))
FREQUENCY = (_l("Never"), _l("Rarely"), _l("Sometimes"), _l("Often"), _l("Very often"))
WORDS: dict[QuestionType, dict[str, LazyString]] = {
    QuestionType.YESNO: {"yes": _l("Yes"), "no": _l("No"), "prefer_not": _l("Prefer not to say")},
    QuestionType.CROSSWISE: {
        "same": _l("Both statements are true, or neither is"),
        "different": _l("Exactly one of the two statements is true"),
    },
    QuestionType.FORCED_RESPONSE: {"yes": _l("Yes"), "no": _l("No")},
}


def choices(question: Question) -> list[tuple[str, str]]:
    """(form value, label) of each answer the question offers, in order."""
    if question.type is QuestionType.AGREEMENT:
        return [(str(n), str(label)) for n, label in enumerate(AGREEMENT, start=1)]
    if question.type is QuestionType.FREQUENCY:
        return [(str(n), str(label)) for n, label in enumerate(FREQUENCY, start=1)]
    if question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        return [(str(n), option) for n, option in enumerate(question.options, start=1)]
    return [(value, str(label)) for value, label in WORDS.get(question.type, {}).items()]


def digits(numbers: range) -> str:
    """Digits for people: "0", "0 or 1", "0, 1 or 2", "2 to 5"."""
    values = [str(n) for n in numbers]
    if len(values) == 1:
        return values[0]
    if len(values) <= 3:
        return str(_l("%(some)s or %(last)s", some=", ".join(values[:-1]), last=values[-1]))
    return str(_l("%(first)s to %(last)s", first=values[0], last=values[-1]))


def forced_rule(question: Question) -> str:
    """What each digit means, in one or two sentences."""
    yes, no = question.forced_digits()
    parts = []
    if len(yes):
        parts.append(str(_l("If it is %(digits)s, answer “Yes”, whatever the truth.",
                            digits=digits(yes))))
    if len(no):
        parts.append(str(_l("If it is %(digits)s, answer “No”, whatever the truth.",
                            digits=digits(no))))
    parts.append(str(_l("Otherwise, answer truthfully.")))
    return " ".join(parts)


def condition_hint(question: Question, source: Question) -> str:
    """For the page without JavaScript: when this question applies."""
    assert question.condition is not None
    labels = dict(choices(source))
    answers = " / ".join(f"“{labels[value]}”" for value in question.condition.values)
    return str(_l("Answer this only if you answered %(answers)s to “%(question)s”.",
                  answers=answers, question=source.text))
