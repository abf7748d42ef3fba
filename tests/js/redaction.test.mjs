// The case page's tombstones (static/js/case-redaction.mjs): the sentence with the opened
// reason, without it where it does not open, and never a reason in the mailbox's sentences.

import assert from "node:assert/strict";
import { test } from "node:test";

import { REDACTION_STRINGS, foldedReason, tombstoneSentence, withoutPassage } from "../../static/js/case-redaction.mjs";
import { STRINGS as MAILBOX_STRINGS } from "../../static/js/mailbox.mjs";

const gone = { kind: "attachment", on: "2026-12-07", by: "Inspector V" };

test("the case page shows the opened reason, and the plain sentence without one", () => {
  const withReason = tombstoneSentence(gone, REDACTION_STRINGS, "shows a bystander's face");
  assert.match(withReason, /^A file was deleted on .+ by Inspector V: shows a bystander's face$/);
  const without = tombstoneSentence({ ...gone, kind: "passage" }, REDACTION_STRINGS);
  assert.match(without, /^A passage was removed on .+ by Inspector V\.$/);
  assert.doesNotMatch(without, /%\(/);
});

test("the mailbox's sentences never hold a reason", () => {
  const sentence = tombstoneSentence({ ...gone, kind: "message" }, MAILBOX_STRINGS);
  assert.match(sentence, /^A message was deleted on .+ by Inspector V\.$/);
});

test("a reason is folded onto one line before it is sealed", () => {
  assert.equal(foldedReason("  shows\ta   face \n at lane 3 "), "shows a face at lane 3");
  assert.equal(foldedReason(" \t "), "");
  assert.equal(withoutPassage("Ask Petrov now", 4, 10, "[removed]"), "Ask [removed] now");
});
