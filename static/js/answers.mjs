// How a report's answers read on the mailbox and the case page: each under its question's
// label, in the questionnaire's order, each value in the questionnaire's words (a yes/no answer
// as "Yes" or "No" in the page's language, a choice as the answer offered). A value the
// questionnaire does not know (a question changed or removed since) shows as it was sealed.

// English defaults; the pages give translations in their data-strings.
export const ANSWER_STRINGS = { yes: "Yes", no: "No" };

/** The words for one value of an answer to `question` ({kind, options}). */
function valueText(question, value, strings) {
  const kind = question?.kind;
  if (kind === "yes_no" && (value === "yes" || value === "no")) return strings[value] || ANSWER_STRINGS[value];
  if (kind === "single_choice" || kind === "multiple_choice") {
    // A choice is stored as the text of the answer offered, so the option is its own label.
    const option = (question.options || []).find((offered) => offered === value);
    if (option !== undefined) return String(option);
  }
  return String(value);
}

/** An answer as a person reads it; the values of a multiple choice joined by commas. */
export function answerText(question, value, strings = ANSWER_STRINGS) {
  const values = Array.isArray(value) ? value : [value];
  return values.map((one) => valueText(question, one, strings)).join(", ");
}

/**
 * `[label, text]` for each answer: the questionnaire's questions first, in order, then answers
 * to questions it no longer has, under their key.
 */
export function answerRows(questions, answers, strings = ANSWER_STRINGS) {
  const given = answers && typeof answers === "object" ? answers : {};
  const has = (key) => Object.prototype.hasOwnProperty.call(given, key);
  const rows = [];
  const shown = new Set();
  for (const question of Array.isArray(questions) ? questions : []) {
    if (!has(question.key) || shown.has(question.key)) continue;
    rows.push([question.label || question.key, answerText(question, given[question.key], strings)]);
    shown.add(question.key);
  }
  for (const [key, value] of Object.entries(given)) {
    if (!shown.has(key)) rows.push([key, answerText(null, value, strings)]);
  }
  return rows;
}
