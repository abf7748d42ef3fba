// The worker's message handler (static/js/worker.mjs) and WorkerClient, run in Node without a Worker.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import * as p from "../../static/js/protocol.mjs";
import { WorkerClient } from "../../static/js/protocol.mjs";
import { handleRequest } from "../../static/js/worker.mjs";
import { dedicatedWorker } from "./fake-scopes.mjs";

const vectors = JSON.parse(readFileSync(new URL("../vectors/protocol-v1.json", import.meta.url), "utf8"));
const cheap = vectors.derivations.find((d) => d.receipt === "12345678901234567890" && d.opslimit === 2);
const powVector = vectors.pow.find((v) => v.bits === 12);
const plainBytes = (length) => Uint8Array.from({ length }, (_, i) => (i * 31 + 7) % 251);

// Every message goes through structuredClone, as postMessage would copy it.
async function run(request) {
  const messages = [];
  await handleRequest(structuredClone(request), (message) => messages.push(structuredClone(message)));
  return messages;
}

function finalOf(messages, id) {
  for (const message of messages) assert.equal(message.id, id);
  const progress = messages.slice(0, -1).map((m) => m.progress);
  for (const value of progress) assert.ok(value >= 0 && value <= 1, String(value));
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b), "progress only grows");
  return { progress, last: messages.at(-1) };
}

// A Worker-like object that answers through handleRequest, for WorkerClient.
class FakeWorker {
  postMessage(data) {
    handleRequest(structuredClone(data), (message) => this.onmessage({ data: structuredClone(message) }));
  }

  terminate() {
    this.terminated = true;
  }
}

before(async () => {
  await p.ready();
});

describe("worker handler", () => {
  test("derive gives the vector keys, with a start and an end", async () => {
    for (const salt of [p.b64decode(cheap.salt), cheap.salt]) {
      const { progress, last } = finalOf(await run({
        id: 7, op: "derive", receipt: p.formatReceipt(cheap.receipt), salt,
        opslimit: cheap.opslimit, memlimit: cheap.memlimit,
      }), 7);
      assert.deepEqual(progress, [0, 1]);
      const r = last.result;
      assert.ok(r.lookup instanceof Uint8Array);
      assert.equal(p.b64encode(r.lookup), cheap.lookup);
      assert.equal(p.b64encode(r.lookupHash), cheap.lookup_hash);
      assert.equal(p.b64encode(r.publicKey), cheap.reporter_public_key);
      assert.equal(p.b64encode(r.secretKey), cheap.reporter_secret_key);
    }
  });

  test("seal gives a Blob of the sealed stream, with progress per read window", async () => {
    const plain = plainBytes(200000);
    const { progress, last } = finalOf(await run({ id: "s1", op: "seal", file: new Blob([plain]) }), "s1");
    assert.equal(progress.length, 1 + 1); // a start, then the first window (up to 16 chunks)
    assert.equal(progress.at(-1), 1);
    const { key, blob } = last.result;
    assert.ok(blob instanceof Blob);
    assert.equal(blob.type, "application/octet-stream");
    // Padded with zeros to its Padmé length (200,000 bytes become 200,704).
    assert.equal(blob.size, p.sealedLength(200704));
    const opened = await p.openStream(blob, key);
    assert.deepEqual(opened.subarray(0, plain.length), plain);
    assert.deepEqual(opened.subarray(plain.length), new Uint8Array(704));
  });

  test("seal of an empty file", async () => {
    const { last } = finalOf(await run({ id: 2, op: "seal", file: new Blob([]) }), 2);
    assert.equal(last.result.blob.size, p.sealedLength(0));
    assert.deepEqual(await p.openStream(last.result.blob, last.result.key), new Uint8Array(0));
  });

  test("pow finds the vector nonce", async () => {
    for (const challenge of [powVector.challenge, p.b64decode(powVector.challenge)]) {
      const { progress, last } = finalOf(await run({ id: 3, op: "pow", challenge, bits: powVector.bits }), 3);
      assert.deepEqual(last.result, { nonce: powVector.nonce });
      assert.equal(progress[0], 0);
      assert.equal(progress.at(-1), 1);
    }
  });

  test("pow reports progress while it works", async () => {
    const { progress, last } = finalOf(await run({ id: 4, op: "pow", challenge: powVector.challenge, bits: 18 }), 4);
    assert.ok(p.verifyPow(p.b64decode(powVector.challenge), last.result.nonce, 18));
    assert.equal(progress.length, 2 + Math.floor(last.result.nonce / 65536));
  });

  test("ping answers once libsodium is ready; receipt draws 20 fresh digits", async () => {
    const { last } = finalOf(await run({ id: 11, op: "ping" }), 11);
    assert.deepEqual(last.result, { ready: true });
    const receipts = new Set();
    for (let i = 0; i < 20; i++) {
      const { progress, last: answer } = finalOf(await run({ id: i, op: "receipt" }), i);
      assert.deepEqual(progress, []);
      assert.match(answer.result.receipt, /^[0-9]{20}$/);
      receipts.add(answer.result.receipt);
    }
    assert.equal(receipts.size, 20);
  });

  test("seal-document seals for every reader (b64 or bytes) and keeps the key inside", async () => {
    const readers = { 5: p.generateKeyPair(), 9: p.generateKeyPair(), reporter: p.generateKeyPair() };
    const document = { answers: { what: "Ünïcode ✓", evidence: ["Documents"] }, attachments: [] };
    const { progress, last } = finalOf(await run({
      id: "d1", op: "seal-document", document, padBlock: 1024,
      readers: { 5: p.b64encode(readers[5].publicKey), 9: readers[9].publicKey,
        reporter: p.b64encode(readers.reporter.publicKey) },
    }), "d1");
    assert.deepEqual(progress, []);
    const { payload, keySlots } = last.result;
    assert.deepEqual(Object.keys(last.result).sort(), ["keySlots", "payload"]); // no document key
    assert.equal(typeof payload, "string");
    p.checkPayloadLength(p.b64decode(payload).length, 1024, 1 << 20);
    assert.deepEqual(Object.keys(keySlots).sort(), ["5", "9", "reporter"]);
    for (const [id, pair] of Object.entries(readers)) {
      const slot = p.b64decode(keySlots[id], p.SLOT_BYTES);
      assert.deepEqual(p.openDocument(p.b64decode(payload), slot, pair.secretKey, 1024), document);
    }
  });

  test("seal-document pads to the block it is given", async () => {
    const pair = p.generateKeyPair();
    const { last } = finalOf(await run({
      id: 1, op: "seal-document", document: { text: "x".repeat(300) }, readers: { r: pair.publicKey }, padBlock: 256,
    }), 1);
    assert.equal(p.b64decode(last.result.payload).length, 40 + 2 * 256);
  });

  test("open-document opens the vector payload through each slot, b64 or bytes", async () => {
    const doc = vectors.document;
    const expected = JSON.parse(doc.json);
    const inspector = { payload: doc.payload, slot: vectors.key_slots.inspector, secretKey: doc.inspector_secret_key };
    const reporter = { payload: p.b64decode(doc.payload), slot: p.b64decode(vectors.key_slots.reporter),
      secretKey: p.b64decode(cheap.reporter_secret_key) };
    for (const request of [inspector, reporter]) {
      const { progress, last } = finalOf(await run({ id: 8, op: "open-document", padBlock: doc.pad_block, ...request }), 8);
      assert.deepEqual(progress, []);
      assert.deepEqual(last.result, expected);
    }
  });

  test("open-stream gives the plaintext as a Blob, with progress per chunk", async () => {
    const v = vectors.stream;
    const expected = plainBytes(v.plain_length);
    const chunks = Math.max(1, Math.ceil(v.plain_length / 65536));
    for (const blob of [new Blob([p.b64decode(v.sealed)]), v.sealed]) {
      for (const key of [v.key, p.b64decode(v.key)]) {
        const { progress, last } = finalOf(await run({ id: "o", op: "open-stream", blob, key }), "o");
        assert.equal(progress.length, 1 + chunks);
        assert.equal(progress.at(-1), 1);
        assert.ok(last.result.blob instanceof Blob);
        assert.equal(last.result.blob.type, "application/octet-stream");
        assert.deepEqual(new Uint8Array(await last.result.blob.arrayBuffer()), expected);
      }
    }
  });

  test("seal then open-stream round-trips a file", async () => {
    const plain = plainBytes(150 * 1024);
    const sealed = (await run({ id: 1, op: "seal", file: new Blob([plain]) })).at(-1).result;
    // The entry's size cuts the padding off.
    const opened = (await run({
      id: 2, op: "open-stream", blob: sealed.blob, key: p.b64encode(sealed.key), size: plain.length,
    })).at(-1);
    assert.deepEqual(new Uint8Array(await opened.result.blob.arrayBuffer()), plain);
  });

  test("errors come back as {name, message}", async () => {
    const cases = [
      [{ id: 1, op: "derive", receipt: "123", salt: cheap.salt, opslimit: 2, memlimit: 8388608 }, "ReceiptError"],
      [{ id: 1, op: "derive", receipt: cheap.receipt, salt: "AA==", opslimit: 2, memlimit: 8388608 }, "EncodingError"],
      [{ id: 1, op: "derive", receipt: cheap.receipt, salt: new Uint8Array(15), opslimit: 2, memlimit: 8388608 },
        "ShapeError"],
      [{ id: 1, op: "pow", challenge: 5, bits: 1 }, "ShapeError"],
      [{ id: 1, op: "seal", file: "not base64!" }, "EncodingError"],
      [{ id: 1, op: "seal-document", document: [], readers: { r: cheap.reporter_public_key }, padBlock: 64 },
        "ShapeError"],
      [{ id: 1, op: "seal-document", document: {}, readers: {}, padBlock: 64 }, "ShapeError"],
      [{ id: 1, op: "seal-document", document: {}, readers: { r: "AAAA" }, padBlock: 64 }, "EncodingError"],
      [{ id: 1, op: "seal-document", document: {}, readers: { r: cheap.reporter_public_key }, padBlock: 0 },
        "ShapeError"],
      [{ id: 1, op: "open-document", payload: vectors.document.payload, slot: vectors.key_slots.inspector,
        secretKey: cheap.reporter_secret_key, padBlock: vectors.document.pad_block }, "DecryptionError"],
      [{ id: 1, op: "open-document", payload: vectors.document.payload, slot: "AAAA",
        secretKey: cheap.reporter_secret_key, padBlock: vectors.document.pad_block }, "EncodingError"],
      [{ id: 1, op: "open-stream", blob: new Blob([p.b64decode(vectors.stream.sealed)]),
        key: p.b64encode(new Uint8Array(32)) }, "DecryptionError"],
      [{ id: 1, op: "open-stream", blob: 42, key: vectors.stream.key }, "ShapeError"],
      [{ id: 1, op: "toString" }, "TypeError"],
      [{ id: 1, op: "__proto__" }, "TypeError"],
      [{ id: 1, op: "nothing" }, "TypeError"],
    ];
    for (const [request, name] of cases) {
      const messages = await run(request);
      const last = messages.at(-1);
      assert.equal(last.id, 1);
      assert.equal(last.error.name, name, JSON.stringify(last));
      assert.equal(typeof last.error.message, "string");
      assert.ok(last.error.message.length > 0);
      assert.ok(!("result" in last));
    }
  });
});

describe("sharing a case", () => {
  const doc = vectors.document;
  const slot = vectors.key_slots.inspector;

  test("reseal opens the vector slot and seals the same document key to another reader", async () => {
    const other = p.generateKeyPair();
    const { progress, last } = finalOf(await run({
      id: 1, op: "reseal", slots: [slot, slot], secretKey: doc.inspector_secret_key, publicKey: other.publicKey,
    }), 1);
    assert.deepEqual(progress, []);
    assert.equal(last.result.slots.length, 2);
    assert.notEqual(last.result.slots[0], last.result.slots[1]); // a fresh ephemeral key each time
    for (const resealed of last.result.slots) {
      assert.equal(p.b64decode(resealed).length, p.SLOT_BYTES);
      assert.equal(p.b64encode(p.openKeySlot(p.b64decode(resealed), other.secretKey)), doc.key);
      const opened = p.openDocument(p.b64decode(doc.payload), p.b64decode(resealed), other.secretKey, doc.pad_block);
      assert.deepEqual(opened, JSON.parse(doc.json));
    }
    // The original holder cannot open what went to the other reader.
    assert.throws(() => p.openKeySlot(p.b64decode(last.result.slots[0]), p.b64decode(doc.inspector_secret_key)),
      p.DecryptionError);
  });

  test("reseal refuses a key that does not open the slot, and shapes that are wrong", async () => {
    const other = p.generateKeyPair();
    const cases = [
      [{ slots: [slot], secretKey: other.secretKey, publicKey: other.publicKey }, "DecryptionError"],
      [{ slots: slot, secretKey: doc.inspector_secret_key, publicKey: other.publicKey }, "ShapeError"],
      [{ slots: [slot.slice(0, 40)], secretKey: doc.inspector_secret_key, publicKey: other.publicKey },
        "EncodingError"],
      [{ slots: [slot], secretKey: doc.inspector_secret_key, publicKey: new Uint8Array(31) }, "ShapeError"],
    ];
    for (const [index, [request, name]] of cases.entries()) {
      const { last } = finalOf(await run({ id: index, op: "reseal", ...request }), index);
      assert.equal(last.error?.name, name, JSON.stringify(request));
    }
  });

  test("key-file reads what dumpKeyFile writes and refuses halves that do not belong together", async () => {
    const pair = p.keyPairFromSecretKey(p.b64decode(doc.inspector_secret_key));
    const text = p.dumpKeyFile(pair, "Offline inspector");
    const { last } = finalOf(await run({ id: 1, op: "key-file", text }), 1);
    assert.equal(p.b64encode(last.result.secretKey), doc.inspector_secret_key);
    assert.equal(p.b64encode(last.result.publicKey), doc.inspector_public_key);
    const other = JSON.parse(text);
    other.public_key = p.b64encode(p.generateKeyPair().publicKey);
    for (const [request, name] of [
      [{ text: JSON.stringify(other) }, "KeyFileError"], [{ text: "{}" }, "KeyFileError"], [{ text: 7 }, "ShapeError"],
    ]) {
      const { last: refused } = finalOf(await run({ id: 2, op: "key-file", ...request }), 2);
      assert.equal(refused.error?.name, name);
    }
  });
});

describe("WorkerClient", () => {
  test("resolves results, reports progress, and numbers its calls", async () => {
    const client = new WorkerClient(new FakeWorker());
    const progress = [];
    const [keys, work] = await Promise.all([
      client.call("derive", { receipt: cheap.receipt, salt: cheap.salt, opslimit: cheap.opslimit,
        memlimit: cheap.memlimit }, (value) => progress.push(value)),
      client.call("pow", { challenge: powVector.challenge, bits: powVector.bits }),
    ]);
    assert.equal(p.b64encode(keys.lookup), cheap.lookup);
    assert.equal(p.b64encode(keys.secretKey), cheap.reporter_secret_key);
    assert.equal(work.nonce, powVector.nonce);
    assert.deepEqual(progress, [0, 1]);
    assert.equal(client.pending.size, 0);
  });

  test("rejects with the protocol's error classes", async () => {
    const client = new WorkerClient(new FakeWorker());
    await assert.rejects(client.call("derive", { receipt: "12", salt: cheap.salt, opslimit: 2, memlimit: 8388608 }),
      (err) => err instanceof p.ReceiptError && err.name === "ReceiptError");
    await assert.rejects(client.call("fly"), (err) => err.name === "TypeError" && /Unknown operation/.test(err.message));
  });

  test("terminate rejects what is pending; a worker error fails every call", async () => {
    const silent = { postMessage() {}, terminate() { this.stopped = true; } };
    const client = new WorkerClient(silent);
    const pending = client.call("pow", { challenge: powVector.challenge, bits: 1 });
    client.terminate();
    assert.equal(silent.stopped, true);
    await assert.rejects(pending, /stopped/);

    const broken = { postMessage() {} };
    const other = new WorkerClient(broken);
    const calls = [other.call("seal", { file: new Blob([]) }), other.call("pow", {})];
    broken.onerror({ message: "Refused to load the worker." });
    for (const call of calls) await assert.rejects(call, /Refused to load/);
  });
});

describe("built bundle static/dist/worker.js", () => {
  const bundle = fileURLToPath(new URL("../../static/dist/worker.js", import.meta.url));
  const skip = !existsSync(bundle) && "not built: npm run build";

  test("runs as a classic worker script and answers every operation", { skip }, async () => {
    const code = readFileSync(bundle, "utf8");
    assert.doesNotMatch(code, /\bfrom\s*["']|\bimport\s*\(|\brequire\s*\(|\bexport\s*\{/);
    const client = new WorkerClient(dedicatedWorker(code));
    try {
      const plain = plainBytes(70000);
      const progress = [];
      const [keys, sealed, work] = await Promise.all([
        client.call("derive", { receipt: cheap.receipt, salt: cheap.salt, opslimit: cheap.opslimit,
          memlimit: cheap.memlimit }),
        client.call("seal", { file: new Blob([plain]) }, (value) => progress.push(value)),
        client.call("pow", { challenge: powVector.challenge, bits: powVector.bits }),
      ]);
      assert.equal(p.b64encode(keys.lookupHash), cheap.lookup_hash);
      assert.equal(p.b64encode(keys.publicKey), cheap.reporter_public_key);
      // Padded to its Padmé length before sealing (70,000 bytes become 71,680).
      assert.equal(sealed.blob.size, p.sealedLength(p.padmeLength(plain.length)));
      assert.deepEqual((await p.openStream(sealed.blob, sealed.key)).subarray(0, plain.length), plain);
      assert.deepEqual(progress.at(-1), 1);
      assert.equal(work.nonce, powVector.nonce);
      await assert.rejects(client.call("derive", { receipt: "1", salt: cheap.salt, opslimit: 2, memlimit: 8388608 }),
        p.ReceiptError);
      assert.deepEqual(await client.call("ping"), { ready: true });
      assert.match((await client.call("receipt")).receipt, /^[0-9]{20}$/);
      const pair = p.generateKeyPair();
      const document = { text: "through the bundle", attachments: [] };
      const sealedDoc = await client.call("seal-document", {
        document, readers: { reporter: p.b64encode(pair.publicKey) }, padBlock: 1024,
      });
      assert.deepEqual(await client.call("open-document", {
        payload: sealedDoc.payload, slot: sealedDoc.keySlots.reporter, secretKey: pair.secretKey, padBlock: 1024,
      }), document);
      const opened = await client.call("open-stream", { blob: sealed.blob, key: sealed.key, size: plain.length });
      assert.deepEqual(new Uint8Array(await opened.blob.arrayBuffer()), plain);
      await assert.rejects(client.call("open-stream", { blob: sealed.blob, key: new Uint8Array(32) }),
        p.DecryptionError);
    } finally {
      client.terminate();
    }
  });
});

describe("worker staff-key operations", () => {
  const staff = JSON.parse(readFileSync(new URL("../vectors/staff-keys-v1.json", import.meta.url), "utf8"));
  const cheapStaff = staff.derivations.filter((d) => d.opslimit === 2);
  const wrap = staff.wraps[0];

  test("staff-derive gives the vector login value and wrapping key, with a start and an end", async () => {
    for (const d of cheapStaff) {
      for (const salt of [d.salt, p.b64decode(d.salt)]) {
        const { progress, last } = finalOf(await run({
          id: "k", op: "staff-derive", passphrase: d.passphrase, salt, opslimit: d.opslimit, memlimit: d.memlimit,
        }), "k");
        assert.deepEqual(progress, [0, 1]);
        // Only what the page needs: no master, no raw authentication value.
        assert.deepEqual(Object.keys(last.result).sort(), ["loginValue", "wrappingKey"]);
        assert.equal(last.result.loginValue, d.login_value);
        assert.ok(last.result.wrappingKey instanceof Uint8Array);
        assert.equal(p.b64encode(last.result.wrappingKey), d.wrapping_key, d.name);
      }
    }
  });

  test("staff-derive at the real cost", async () => {
    const d = staff.derivations.find((v) => v.opslimit === 3);
    const { last } = finalOf(await run({ id: 1, op: "staff-derive", passphrase: d.passphrase, salt: d.salt,
      opslimit: d.opslimit, memlimit: d.memlimit }), 1);
    assert.equal(last.result.loginValue, d.login_value);
    assert.equal(p.b64encode(last.result.wrappingKey), d.wrapping_key);
  });

  test("staff-unwrap opens the vector wrapped keys (b64 or bytes), checking the public key when given", async () => {
    for (const w of staff.wraps) {
      for (const request of [
        { wrapped: w.wrapped, wrappingKey: w.wrapping_key },
        { wrapped: p.b64decode(w.wrapped), wrappingKey: p.b64decode(w.wrapping_key), publicKey: w.public_key },
        { wrapped: w.wrapped, wrappingKey: p.b64decode(w.wrapping_key), publicKey: p.b64decode(w.public_key) },
      ]) {
        const { progress, last } = finalOf(await run({ id: 2, op: "staff-unwrap", ...request }), 2);
        assert.deepEqual(progress, []);
        assert.ok(last.result.secretKey instanceof Uint8Array);
        assert.equal(p.b64encode(last.result.secretKey), w.secret_key);
      }
    }
  });

  test("staff-keypair, staff-wrap and staff-unwrap round-trip a key made in the worker", async () => {
    const pairs = [];
    for (let i = 0; i < 3; i++) pairs.push((await run({ id: i, op: "staff-keypair" })).at(-1).result);
    assert.equal(new Set(pairs.map((pair) => p.b64encode(pair.secretKey))).size, 3);
    const pair = pairs[0];
    assert.equal(p.b64encode(p.keyPairFromSecretKey(pair.secretKey).publicKey), p.b64encode(pair.publicKey));
    const keys = (await run({ id: 3, op: "staff-derive", passphrase: "Ｐａｓｓ phrase", salt: p.b64encode(new Uint8Array(16)),
      opslimit: 2, memlimit: 8388608 })).at(-1).result;
    const { progress, last } = finalOf(await run({ id: 4, op: "staff-wrap", secretKey: pair.secretKey,
      wrappingKey: keys.wrappingKey }), 4);
    assert.deepEqual(progress, []);
    assert.deepEqual(Object.keys(last.result), ["wrapped"]);
    assert.equal(typeof last.result.wrapped, "string");
    assert.equal(p.b64decode(last.result.wrapped).length, 72);
    const opened = (await run({ id: 5, op: "staff-unwrap", wrapped: last.result.wrapped,
      wrappingKey: p.b64encode(keys.wrappingKey), publicKey: pair.publicKey })).at(-1);
    assert.deepEqual(opened.result.secretKey, pair.secretKey);
  });

  test("staff-wrap with the vector key gives a wrapped key that unwraps to it", async () => {
    const { last } = finalOf(await run({ id: 6, op: "staff-wrap", secretKey: wrap.secret_key,
      wrappingKey: wrap.wrapping_key }), 6);
    assert.notEqual(last.result.wrapped, wrap.wrapped); // a fresh nonce
    const secret = (await run({ id: 7, op: "staff-unwrap", wrapped: last.result.wrapped,
      wrappingKey: wrap.wrapping_key, publicKey: wrap.public_key })).at(-1).result.secretKey;
    assert.equal(p.b64encode(secret), wrap.secret_key);
  });

  test("staff errors come back as {name, message}", async () => {
    const other = staff.wraps[1];
    const short = p.b64encode(p.b64decode(wrap.wrapped).subarray(0, 71));
    const cases = [
      [{ op: "staff-derive", passphrase: 42, salt: staff.derivations[0].salt, opslimit: 2, memlimit: 8388608 },
        "ShapeError"],
      [{ op: "staff-derive", passphrase: "x", salt: p.b64encode(new Uint8Array(15)), opslimit: 2, memlimit: 8388608 },
        "EncodingError"],
      [{ op: "staff-derive", passphrase: "x", salt: new Uint8Array(15), opslimit: 2, memlimit: 8388608 }, "ShapeError"],
      [{ op: "staff-unwrap", wrapped: wrap.wrapped, wrappingKey: other.wrapping_key }, "DecryptionError"],
      [{ op: "staff-unwrap", wrapped: wrap.wrapped, wrappingKey: wrap.wrapping_key,
        publicKey: p.b64encode(p.generateKeyPair().publicKey) }, "DecryptionError"],
      [{ op: "staff-unwrap", wrapped: short, wrappingKey: wrap.wrapping_key }, "ShapeError"],
      [{ op: "staff-unwrap", wrapped: p.b64decode(short), wrappingKey: wrap.wrapping_key }, "ShapeError"],
      [{ op: "staff-unwrap", wrapped: wrap.wrapped, wrappingKey: "AAAA" }, "EncodingError"],
      [{ op: "staff-unwrap", wrapped: wrap.wrapped, wrappingKey: wrap.wrapping_key, publicKey: 7 }, "ShapeError"],
      [{ op: "staff-wrap", secretKey: new Uint8Array(31), wrappingKey: wrap.wrapping_key }, "ShapeError"],
      [{ op: "staff-wrap", secretKey: wrap.secret_key }, "ShapeError"],
    ];
    for (const [request, name] of cases) {
      const last = (await run({ id: 1, ...request })).at(-1);
      assert.equal(last.id, 1);
      assert.equal(last.error?.name, name, JSON.stringify([request, last]));
      assert.ok(last.error.message.length > 0);
      assert.ok(!("result" in last));
    }
    const wrong = (await run({ id: 1, op: "staff-unwrap", wrapped: wrap.wrapped, wrappingKey: other.wrapping_key })).at(-1);
    assert.equal(wrong.error.message, "The passphrase does not unlock this key.");
  });

  test("WorkerClient rebuilds a wrong passphrase as a DecryptionError", async () => {
    const client = new WorkerClient(new FakeWorker());
    await assert.rejects(client.call("staff-unwrap", { wrapped: wrap.wrapped, wrappingKey: staff.wraps[1].wrapping_key }),
      (err) => err instanceof p.DecryptionError);
    const progress = [];
    const keys = await client.call("staff-derive", { passphrase: cheapStaff[0].passphrase, salt: cheapStaff[0].salt,
      opslimit: 2, memlimit: 8388608 }, (value) => progress.push(value));
    assert.equal(keys.loginValue, cheapStaff[0].login_value);
    assert.deepEqual(progress, [0, 1]);
  });

  const bundle = fileURLToPath(new URL("../../static/dist/worker.js", import.meta.url));
  const skip = !existsSync(bundle) && "not built: npm run build";
  test("the built bundle answers the staff operations", { skip }, async () => {
    const code = readFileSync(bundle, "utf8");
    const client = new WorkerClient(dedicatedWorker(code));
    try {
      const d = cheapStaff.find((v) => v.name === "arabic/presentation-forms");
      const keys = await client.call("staff-derive", { passphrase: d.passphrase, salt: d.salt, opslimit: d.opslimit,
        memlimit: d.memlimit });
      assert.equal(keys.loginValue, d.login_value);
      assert.equal(p.b64encode(keys.wrappingKey), d.wrapping_key);
      const pair = await client.call("staff-keypair");
      const { wrapped } = await client.call("staff-wrap", { secretKey: pair.secretKey, wrappingKey: keys.wrappingKey });
      const { secretKey } = await client.call("staff-unwrap", { wrapped, wrappingKey: keys.wrappingKey,
        publicKey: pair.publicKey });
      assert.deepEqual(secretKey, pair.secretKey);
      await assert.rejects(client.call("staff-unwrap", { wrapped: wrap.wrapped, wrappingKey: keys.wrappingKey }),
        p.DecryptionError);
    } finally {
      client.terminate();
    }
  });
});
