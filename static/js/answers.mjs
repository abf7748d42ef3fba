// How a report's answers read on the mailbox and the case page: each under its question's
// label, in the questionnaire's order, each value in the questionnaire's words (a yes/no answer
// as "Yes" or "No" in the page's language, a choice as the answer offered). A value the
// questionnaire does not know (a question changed or removed since) shows as it was sealed.
//
// A choice is sealed as the option's text in the reporter's language (the document's
// "language"); when the questionnaire gives every language's options (`options_by_language`),
// it reads as the option at the same position in `options`, the page's language.

// English defaults; the pages give translations in their data-strings.
export const ANSWER_STRINGS = { yes: "Yes", no: "No" };

/**
 * A sealed choice as the option of `question.options`: the option at the same position in the
 * list of the language it was sealed in (`language` first, then the others in the order of
 * their codes, as integrity/reporting/texts.py: choice_text); `undefined` when no list holds it.
 */
export function choiceOption(question, value, language) {
  const shown = Array.isArray(question?.options) ? question.options : [];
  const byLanguage = question?.options_by_language && typeof question.options_by_language === "object"
    ? question.options_by_language : {};
  const codes = Object.keys(byLanguage).sort();
  if (typeof language === "string" && codes.includes(language)) {
    codes.splice(codes.indexOf(language), 1);
    codes.unshift(language);
  }
  for (const code of codes) {
    const offered = Array.isArray(byLanguage[code]) ? byLanguage[code] : [];
    const position = offered.indexOf(value);
    if (position >= 0 && position < shown.length) return String(shown[position]);
  }
  // The questionnaire gives one language only: a choice is its own label.
  return shown.includes(value) ? String(value) : undefined;
}

/** The words for one value of an answer to `question` ({kind, options, options_by_language}). */
function valueText(question, value, strings, language) {
  const kind = question?.kind;
  if (kind === "yes_no" && (value === "yes" || value === "no")) return strings[value] || ANSWER_STRINGS[value];
  if (kind === "single_choice" || kind === "multiple_choice") {
    const option = choiceOption(question, value, language);
    if (option !== undefined) return option;
  }
  return String(value);
}

/**
 * An answer as a person reads it; the values of a multiple choice joined by commas. `language`
 * is the one the report was written in (the document's "language", if any).
 */
export function answerText(question, value, strings = ANSWER_STRINGS, language = undefined) {
  const values = Array.isArray(value) ? value : [value];
  return values.map((one) => valueText(question, one, strings, language)).join(", ");
}

/**
 * `[label, text]` for each answer: the questionnaire's questions first, in order, then answers
 * to questions it no longer has, under their key. `language` is the document's "language".
 */
export function answerRows(questions, answers, strings = ANSWER_STRINGS, language = undefined) {
  const given = answers && typeof answers === "object" ? answers : {};
  const has = (key) => Object.prototype.hasOwnProperty.call(given, key);
  const rows = [];
  const shown = new Set();
  for (const question of Array.isArray(questions) ? questions : []) {
    if (!has(question.key) || shown.has(question.key)) continue;
    rows.push([question.label || question.key, answerText(question, given[question.key], strings, language)]);
    shown.add(question.key);
  }
  for (const [key, value] of Object.entries(given)) {
    if (!shown.has(key)) rows.push([key, answerText(null, value, strings)]);
  }
  return rows;
}
