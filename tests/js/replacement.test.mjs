// Replaced payloads (docs/protocol.md#redactions-and-deletions): static/js/protocol2.mjs makes
// the same replacement authenticators as crypto/threads.py, and a reader judges a message
// replaced by a reader of the thread intact, and one replaced without the secret not authentic.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import * as q from "../../static/js/protocol2.mjs";

const hex = (text) => new Uint8Array(Buffer.from(text, "hex"));
const toHex = (bytes) => Buffer.from(bytes).toString("hex");
const bytes = (text) => new TextEncoder().encode(text);
const range = (first, length) => Uint8Array.from({ length }, (_, i) => first + i);

before(async () => {
  await q.ready();
});

describe("replacements", () => {
  const secret = range(64, 32);
  // crypto/threads.py: generichash(b"original payload"), and replacement_auth of these inputs.
  const original = hex("5568c0d49b34fc8ba140f95acc2469505b9442aa1be2ce63391e07836e42cb3e");

  test("the authenticator is crypto/threads.py's", () => {
    assert.equal(toHex(q.replacementAuth(secret, "thread", 3, original, bytes("new payload"), "7")),
      "53b8c6159d06d8b33a37ba8d091d7a8aebfc2c326ce1b09df8c5a741268c10fc");
    assert.equal(toHex(q.replacementAuth(secret, "notes", 1, original, new Uint8Array(0), "12")),
      "75face39d2a5510014c1f882f2ebbf1751f7b20beca70b1dc5a44d082fd4ca2a");
  });

  test("a message replaced by a reader still holds its place; a forged replacement does not", () => {
    const report = bytes("report payload");
    const first = q.nextLink(secret, "thread", report, null, "reporter", "", bytes("original payload"));
    const second = q.nextLink(secret, "thread", report, first, "inspector", "7", bytes("reply"));
    const replaced = {
      ...first, payload: bytes("redacted"), payloadHash: q.payloadDigest(first), replacedBy: "7",
      replacementAuth: q.replacementAuth(secret, "thread", 1, q.payloadDigest(first), bytes("redacted"), "7"),
    };
    assert.deepEqual(q.checkLinks(secret, "thread", report, [replaced, second]).map(q.intact), [true, true]);
    const forged = { ...replaced, replacementAuth: new Uint8Array(32) };
    assert.deepEqual(q.checkLinks(secret, "thread", report, [forged, second]).map((c) => c.authentic), [false, true]);
    const unsigned = { ...replaced, replacementAuth: undefined };
    assert.equal(q.checkLinks(secret, "thread", report, [unsigned])[0].authentic, false);
    // Swapping the payload without keeping the first one's hash breaks the link itself.
    assert.equal(q.checkLinks(secret, "thread", report, [{ ...first, payload: bytes("other") }])[0].authentic, false);
  });
});
