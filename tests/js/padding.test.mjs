// Padmé padding of attachments (static/js/worker-client.mjs, the worker's "seal" and
// "open-stream") against the vectors tests/test_padding.py checks in crypto/stream.py.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";

import * as p from "../../static/js/protocol.mjs";
import { handleRequest } from "../../static/js/worker.mjs";

const vectors = JSON.parse(readFileSync(new URL("../vectors/padding.json", import.meta.url), "utf8"));
const plainBytes = (length) => Uint8Array.from({ length }, (_, i) => (i * 31 + 7) % 251);

async function run(request) {
  const messages = [];
  await handleRequest(structuredClone(request), (message) => messages.push(structuredClone(message)));
  const last = messages.at(-1);
  assert.equal(last.id, request.id);
  assert.equal(last.error, undefined, JSON.stringify(last.error));
  return last.result;
}

describe("Padmé padding", () => {
  before(() => p.ready());

  test("padded lengths follow the vectors", () => {
    for (const [length, padded] of vectors.padme) assert.equal(p.padmeLength(length), padded, String(length));
  });

  test("the cap keeps the sealed stream within the limit", () => {
    for (const c of vectors.capped) {
      assert.equal(p.largestPlainLength(c.max_sealed), c.largest_plain, JSON.stringify(c));
      assert.equal(p.paddedLength(c.length, c.max_sealed), c.padded, JSON.stringify(c));
    }
  });

  test("at most 12 % more, never less", () => {
    for (let length = 0; length < 70000; length += 7) {
      const padded = p.padmeLength(length);
      assert.ok(padded >= length && padded <= length * 1.12, String(length));
    }
  });

  for (const size of [0, 9, 65536, 153600]) {
    test(`the worker seals ${size} bytes padded and opens them cut to the size`, async () => {
      const original = plainBytes(size);
      const sealed = await run({ id: 1, op: "seal", file: new Blob([original]) });
      const padded = p.padmeLength(size);
      assert.equal(sealed.blob.size, p.sealedLength(padded));
      const whole = await p.openStream(sealed.blob, sealed.key);
      assert.deepEqual(whole.subarray(size), new Uint8Array(padded - size));
      const opened = await run({ id: 2, op: "open-stream", blob: sealed.blob, key: sealed.key, size });
      assert.deepEqual(new Uint8Array(await opened.blob.arrayBuffer()), original);
    });
  }

  test("the worker pads no further than maxSealed allows", async () => {
    const size = 65537;
    const maxSealed = p.sealedLength(size) + 100;
    const sealed = await run({ id: 1, op: "seal", file: new Blob([plainBytes(size)]), maxSealed });
    assert.ok(p.padmeLength(size) > size + 100);
    assert.equal(sealed.blob.size, maxSealed);
  });
});
