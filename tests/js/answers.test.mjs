// How the mailbox and the case page word a report's answers (static/js/answers.mjs).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { answerRows, answerText } from "../../static/js/answers.mjs";

const QUESTIONS = [
  { key: "what", kind: "long_text", label: "What happened?" },
  { key: "ongoing", kind: "yes_no", label: "Is it still going on?" },
  { key: "how_known", kind: "single_choice", label: "How do you know about it?",
    options: ["I saw it myself", "Someone told me"] },
  { key: "evidence", kind: "multiple_choice", label: "What could support it?",
    options: ["Documents", "Photos or video", "Messages"] },
];
const FRENCH = { yes: "Oui", no: "Non" };

describe("answers", () => {
  test("a yes/no answer reads as the page's word for it, not the stored value", () => {
    assert.equal(answerText(QUESTIONS[1], "yes"), "Yes");
    assert.equal(answerText(QUESTIONS[1], "no"), "No");
    assert.equal(answerText(QUESTIONS[1], "yes", FRENCH), "Oui");
    assert.equal(answerText(QUESTIONS[1], "no", FRENCH), "Non");
  });

  test("choices read as the answers offered, several joined by commas", () => {
    assert.equal(answerText(QUESTIONS[2], "Someone told me"), "Someone told me");
    assert.equal(answerText(QUESTIONS[3], ["Documents", "Messages"]), "Documents, Messages");
  });

  test("a value the questionnaire does not know shows as it was sealed", () => {
    assert.equal(answerText(QUESTIONS[1], "maybe"), "maybe");
    assert.equal(answerText(QUESTIONS[2], "A rumour"), "A rumour");
    assert.equal(answerText(QUESTIONS[3], ["Documents", "Old option"]), "Documents, Old option");
    assert.equal(answerText(QUESTIONS[0], "yes"), "yes"); // a text answer is never translated
    assert.equal(answerText(undefined, "yes"), "yes");
  });

  test("rows follow the questionnaire, then answers to questions it no longer has", () => {
    const answers = { removed: "kept", evidence: ["Messages"], ongoing: "no", what: "Cash at lane 4" };
    assert.deepEqual(answerRows(QUESTIONS, answers, FRENCH), [
      ["What happened?", "Cash at lane 4"],
      ["Is it still going on?", "Non"],
      ["What could support it?", "Messages"],
      ["removed", "kept"],
    ]);
    assert.deepEqual(answerRows(undefined, { ongoing: "yes" }), [["ongoing", "yes"]]);
    assert.deepEqual(answerRows(QUESTIONS, null), []);
  });
});

describe("answers sealed in another language", () => {
  const HOW = {
    key: "how_known", kind: "single_choice", label: "Откуда вы это знаете?",
    options: ["Я видел это сам", "Мне рассказали", "Другое"],
    options_by_language: {
      en: ["I saw it myself", "Someone told me", "Other"],
      fr: ["Je l'ai vu moi-même", "Quelqu'un me l'a dit", "Autre"],
      ru: ["Я видел это сам", "Мне рассказали", "Другое"],
    },
  };
  const EVIDENCE = {
    key: "evidence", kind: "multiple_choice", label: "Чем это подтверждается?",
    options: ["Документы", "Сообщения"],
    options_by_language: { en: ["Documents", "Messages"], fr: ["Documents", "Messages écrits"] },
  };

  test("a French choice reads as the Russian option at the same place", () => {
    assert.deepEqual(answerRows([HOW], { how_known: "Quelqu'un me l'a dit" }, undefined, "fr"), [
      ["Откуда вы это знаете?", "Мне рассказали"],
    ]);
    assert.equal(answerText(EVIDENCE, ["Documents", "Messages écrits"], undefined, "fr"), "Документы, Сообщения");
  });

  test("a choice sealed without a language, in the default or any language, maps too", () => {
    assert.equal(answerText(HOW, "Someone told me"), "Мне рассказали");
    assert.equal(answerText(HOW, "Autre", undefined, "ar"), "Другое");
  });

  test("a value no language offers shows as it was sealed", () => {
    assert.equal(answerText(HOW, "Une rumeur", undefined, "fr"), "Une rumeur");
    assert.equal(answerText(EVIDENCE, ["Documents", "Old option"], undefined, "en"), "Документы, Old option");
  });
});
