// The case page's tombstones (static/js/case-redaction.mjs): the sentence with the opened
// reason, without it where it does not open, and never a reason in the mailbox's sentences.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  REDACTION_STRINGS, Redactions, foldedReason, tombstoneSentence, withoutPassage,
} from "../../static/js/case-redaction.mjs";
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

test("each reason opens on its own: without a slot it is left out, damaged it is said", async () => {
  const sealed = (slot) => ({ payload: "cGF5bG9hZA", key_slot: slot });
  const tombstones = [
    { ...gone, id: "1", reason: sealed("good") },
    { ...gone, id: "2", reason: sealed(null) }, // sealed before this inspector read the case
    { ...gone, id: "3", reason: sealed("altered") },
    { ...gone, id: "4", reason: sealed("not-a-reason") },
    { ...gone, id: "5", reason: null }, // none kept
  ];
  const opened = { good: { reason: "shows a face" }, altered: null, "not-a-reason": { text: "x" } };
  const page = { strings: REDACTION_STRINGS, sealed: { tombstones }, open: async (item) => opened[item.key_slot] };
  const redactions = new Redactions(page);
  await redactions.openReasons();
  const lines = tombstones.map((t) => redactions.sentence(t));
  assert.match(lines[0], /by Inspector V: shows a face$/);
  assert.match(lines[1], /by Inspector V\.$/);
  for (const line of lines.slice(2, 4)) assert.match(line, /by Inspector V\. Its reason could not be opened/);
  assert.match(lines[4], /by Inspector V\.$/);
  // A share passes on the reasons this inspector holds a slot for, by tombstone id.
  assert.deepEqual(redactions.documents().map(([name]) => name), ["tombstone:1", "tombstone:3", "tombstone:4"]);
});
