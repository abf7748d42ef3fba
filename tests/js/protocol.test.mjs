// static/js/protocol.mjs against the shared vectors (tests/vectors/protocol-v1.json), and round trips.

import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

import * as p from "../../static/js/protocol.mjs";

const vectors = JSON.parse(readFileSync(new URL("../vectors/protocol-v1.json", import.meta.url), "utf8"));
const hex = (text) => new Uint8Array(Buffer.from(text, "hex"));
const toHex = (bytes) => Buffer.from(bytes).toString("hex");
const b64 = (text) => p.b64decode(text);
const plainBytes = (length) => Uint8Array.from({ length }, (_, i) => (i * 31 + 7) % 251);
const concat = (parts) => new Uint8Array(Buffer.concat(parts.map((part) => Buffer.from(part))));

before(async () => {
  await p.ready();
});

describe("errors", () => {
  test("follow crypto/errors.py", () => {
    assert.ok(new p.TooLargeError("x") instanceof p.ShapeError);
    for (const cls of [p.EncodingError, p.ReceiptError, p.ShapeError, p.DecryptionError, p.KeyFileError,
      p.TooLargeError]) {
      const err = new cls("One sentence.");
      assert.ok(err instanceof p.CryptoError && err instanceof Error);
      assert.equal(err.name, cls.name);
      assert.equal(err.message, "One sentence.");
    }
    assert.ok(!(new p.DecryptionError("x") instanceof p.ShapeError));
  });
});

describe("base64url", () => {
  test("encodes and decodes the vectors", () => {
    for (const { bytes_hex: bytesHex, b64: text } of vectors.base64url) {
      assert.equal(p.b64encode(hex(bytesHex)), text);
      assert.equal(toHex(p.b64decode(text)), bytesHex);
      assert.equal(toHex(p.b64decode(text, bytesHex.length / 2)), bytesHex);
    }
  });

  test("refuses the invalid vectors", () => {
    assert.ok(vectors.base64url_invalid.length > 0);
    for (const text of vectors.base64url_invalid) {
      assert.throws(() => p.b64decode(text), p.EncodingError, JSON.stringify(text));
    }
  });

  test("refuses a wrong length, non-strings, and names the value", () => {
    assert.throws(() => p.b64decode("AA", 2, "salt"), { name: "EncodingError", message: "The salt must be 2 bytes." });
    for (const value of [null, undefined, 42, ["AA"], new Uint8Array(1)]) {
      assert.throws(() => p.b64decode(value), p.EncodingError);
    }
  });

  test("round-trips every length and byte value", () => {
    for (let n = 0; n < 70; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 13) & 0xff);
      const text = p.b64encode(data);
      assert.equal(text, Buffer.from(data).toString("base64url"));
      assert.deepEqual(p.b64decode(text), data);
    }
  });
});

describe("receipts", () => {
  test("normalise the valid vectors", () => {
    for (const { input, normalised } of vectors.receipts.valid) {
      assert.equal(p.normaliseReceipt(input), normalised);
    }
  });

  test("refuse the invalid vectors", () => {
    for (const input of vectors.receipts.invalid) {
      assert.throws(() => p.normaliseReceipt(input), p.ReceiptError, JSON.stringify(input));
    }
  });

  test("format as the vectors", () => {
    for (const [input, formatted] of Object.entries(vectors.receipts.formatted)) {
      assert.equal(p.formatReceipt(input), formatted);
      assert.equal(p.normaliseReceipt(formatted), input);
    }
  });

  test("generated receipts are 20 digits, every digit in every place", () => {
    const receipts = Array.from({ length: 300 }, () => p.generateReceipt());
    const seen = Array.from({ length: 20 }, () => new Set());
    for (const receipt of receipts) {
      assert.match(receipt, /^[0-9]{20}$/);
      assert.equal(p.normaliseReceipt(p.formatReceipt(receipt)), receipt);
      [...receipt].forEach((digit, i) => seen[i].add(digit));
    }
    assert.equal(new Set(receipts).size, receipts.length);
    for (const digits of seen) assert.equal(digits.size, 10); // misses one with odds about 1e-12
  });
});

describe("key derivation", () => {
  assert.ok(vectors.derivations.some((d) => d.opslimit === 3 && d.memlimit === 67108864), "a full-cost vector");
  for (const d of vectors.derivations) {
    test(`receipt ${d.receipt} at opslimit ${d.opslimit}, memlimit ${d.memlimit}`, () => {
      const salt = p.b64decode(d.salt, 16);
      const seed = p.deriveSeed(d.receipt, salt, d.opslimit, d.memlimit);
      assert.equal(p.b64encode(seed), d.seed);
      const keys = p.reporterKeysFromSeed(seed);
      assert.equal(p.b64encode(keys.lookup), d.lookup);
      assert.equal(p.b64encode(keys.lookupHash), d.lookup_hash);
      assert.equal(p.b64encode(p.lookupHash(keys.lookup)), d.lookup_hash);
      assert.equal(p.b64encode(keys.publicKey), d.reporter_public_key);
      assert.equal(p.b64encode(keys.secretKey), d.reporter_secret_key);
      assert.equal(p.b64encode(p.keyPairFromSecretKey(keys.secretKey).publicKey), d.reporter_public_key);
    });
  }

  test("deriveReporterKeys takes a formatted receipt and refuses a bad one", () => {
    const d = vectors.derivations.find((v) => v.opslimit === 2);
    const keys = p.deriveReporterKeys(p.formatReceipt(d.receipt), b64(d.salt), d.opslimit, d.memlimit);
    assert.equal(p.b64encode(keys.lookup), d.lookup);
    assert.equal(p.b64encode(keys.secretKey), d.reporter_secret_key);
    assert.throws(() => p.deriveReporterKeys("1234", b64(d.salt), d.opslimit, d.memlimit), p.ReceiptError);
  });
});

describe("key pairs", () => {
  test("keyPairFromSecretKey gives the vector inspector's public key", () => {
    const doc = vectors.document;
    const pair = p.keyPairFromSecretKey(b64(doc.inspector_secret_key));
    assert.equal(p.b64encode(pair.publicKey), doc.inspector_public_key);
    assert.throws(() => p.keyPairFromSecretKey(new Uint8Array(31)), p.ShapeError);
  });

  test("generateKeyPair gives matching halves", () => {
    const pair = p.generateKeyPair();
    assert.equal(pair.publicKey.length, 32);
    assert.deepEqual(p.keyPairFromSecretKey(pair.secretKey).publicKey, pair.publicKey);
    assert.notDeepEqual(p.generateKeyPair().secretKey, pair.secretKey);
  });

  test("fingerprint is the first 10 bytes of the key's BLAKE2b in groups of four hex digits", () => {
    const publicKey = b64(vectors.document.inspector_public_key);
    const digest = toHex(p.lookupHash(publicKey).subarray(0, 10)); // the same unkeyed 32-byte hash
    assert.equal(p.fingerprint(publicKey), digest.match(/.{4}/g).join(" "));
    assert.match(p.fingerprint(publicKey), /^([0-9a-f]{4} ){4}[0-9a-f]{4}$/);
  });

  test("key files round-trip, escape non-ASCII like Python, and refuse mismatches", () => {
    const pair = p.keyPairFromSecretKey(b64(vectors.document.inspector_secret_key));
    const text = p.dumpKeyFile(pair, "Inspecteur — Zoë");
    assert.ok(text.includes('"label": "Inspecteur \\u2014 Zo\\u00eb"'), text);
    assert.ok(text.startsWith('{\n  "kind": "integrity-x25519-key",\n  "version": 1,\n') && text.endsWith("}\n"));
    assert.deepEqual(p.loadKeyFile(text), pair);
    const other = JSON.parse(text);
    other.public_key = p.b64encode(p.generateKeyPair().publicKey);
    assert.throws(() => p.loadKeyFile(JSON.stringify(other)), p.KeyFileError);
    assert.throws(() => p.loadKeyFile("not json"), p.KeyFileError);
    assert.throws(() => p.loadKeyFile('{"kind": "other"}'), p.KeyFileError);
    assert.throws(() => p.loadKeyFile('{"kind": "integrity-x25519-key", "secret_key": "AA=="}'), p.EncodingError);
  });
});

describe("padding", () => {
  for (const { plain_hex: plainHex, block, padded_hex: paddedHex } of vectors.padding) {
    test(`${plainHex.length / 2} bytes in blocks of ${block}`, () => {
      assert.equal(toHex(p.pad(hex(plainHex), block)), paddedHex);
      assert.equal(toHex(p.unpad(hex(paddedHex), block)), plainHex);
    });
  }

  test("unpad refuses bad padding", () => {
    assert.throws(() => p.unpad(new Uint8Array(16), 16), p.DecryptionError);
    assert.throws(() => p.unpad(new Uint8Array(0), 16), p.DecryptionError);
  });
});

describe("sealed documents", () => {
  const doc = vectors.document;
  const reporter = () => {
    const d = vectors.derivations.find((v) => v.receipt === "12345678901234567890" && v.opslimit === 2);
    return b64(d.reporter_secret_key);
  };

  test("encodeJson gives Python's bytes for the vector document", () => {
    const bytes = p.encodeJson(JSON.parse(doc.json));
    assert.equal(Buffer.from(bytes).toString("utf8"), doc.json);
    assert.deepEqual(bytes, new TextEncoder().encode(doc.json));
  });

  test("sealPayload with the fixed key and nonce gives the vector payload", () => {
    const payload = p.sealPayload(p.encodeJson(JSON.parse(doc.json)), b64(doc.key), doc.pad_block, b64(doc.nonce));
    assert.equal(p.b64encode(payload), doc.payload);
    p.checkPayloadLength(payload.length, doc.pad_block, 1 << 20);
  });

  test("openPayload opens the vector payload, and only with its key", () => {
    const plain = p.openPayload(b64(doc.payload), b64(doc.key), doc.pad_block);
    assert.equal(Buffer.from(plain).toString("utf8"), doc.json);
    assert.throws(() => p.openPayload(b64(doc.payload), new Uint8Array(32), doc.pad_block), p.DecryptionError);
    const tampered = b64(doc.payload);
    tampered[tampered.length - 1] ^= 1;
    assert.throws(() => p.openPayload(tampered, b64(doc.key), doc.pad_block), p.DecryptionError);
    assert.throws(() => p.openPayload(new Uint8Array(39), b64(doc.key), doc.pad_block), p.DecryptionError);
  });

  test("both vector key slots open to the document key", () => {
    assert.equal(p.b64encode(p.openKeySlot(b64(vectors.key_slots.inspector), b64(doc.inspector_secret_key))), doc.key);
    assert.equal(p.b64encode(p.openKeySlot(b64(vectors.key_slots.reporter), reporter())), doc.key);
  });

  test("openDocument opens the vector payload through each slot", () => {
    const expected = JSON.parse(doc.json);
    assert.deepEqual(p.openDocument(b64(doc.payload), b64(vectors.key_slots.inspector),
      b64(doc.inspector_secret_key), doc.pad_block), expected);
    assert.deepEqual(p.openDocument(b64(doc.payload), b64(vectors.key_slots.reporter), reporter(), doc.pad_block),
      expected);
  });

  test("a slot does not open with another key, and must be 80 bytes", () => {
    assert.throws(() => p.openKeySlot(b64(vectors.key_slots.inspector), reporter()), p.DecryptionError);
    assert.throws(() => p.openKeySlot(b64(vectors.key_slots.inspector).subarray(1), reporter()), p.ShapeError);
  });

  test("sealDocument round-trips for several readers; a stranger cannot open it", () => {
    const readers = { a: p.generateKeyPair(), b: p.generateKeyPair(), reporter: p.generateKeyPair() };
    const document = { answers: { what: "Ünïcode ✓ and \"quotes\"", n: 3 }, attachments: [] };
    const sealed = p.sealDocument(document,
      Object.fromEntries(Object.entries(readers).map(([id, pair]) => [id, pair.publicKey])), 1024);
    assert.deepEqual(Object.keys(sealed.keySlots).sort(), ["a", "b", "reporter"]);
    assert.equal(sealed.key.length, 32);
    p.checkPayloadLength(sealed.payload.length, 1024, 1 << 20);
    for (const [id, pair] of Object.entries(readers)) {
      assert.equal(sealed.keySlots[id].length, p.SLOT_BYTES);
      assert.deepEqual(p.openDocument(sealed.payload, sealed.keySlots[id], pair.secretKey, 1024), document);
    }
    const stranger = p.generateKeyPair();
    assert.throws(() => p.openDocument(sealed.payload, sealed.keySlots.a, stranger.secretKey, 1024),
      p.DecryptionError);
    assert.throws(() => p.openDocument(sealed.payload, sealed.keySlots.a, readers.b.secretKey, 1024),
      p.DecryptionError);
  });

  test("sealDocument takes a Map and pads to whole blocks", () => {
    const pair = p.generateKeyPair();
    const document = { text: "x".repeat(1500) };
    const sealed = p.sealDocument(document, new Map([["r", pair.publicKey]]), 1024);
    assert.equal(sealed.payload.length, 40 + 2 * 1024);
    assert.deepEqual(p.openDocument(sealed.payload, sealed.keySlots.r, pair.secretKey, 1024), document);
  });

  test("openDocument refuses a payload that is not a JSON object", () => {
    const pair = p.generateKeyPair();
    const key = new Uint8Array(32).fill(9);
    const slot = p.sealKey(key, pair.publicKey);
    for (const plain of ["[1,2]", "null", "{not json", "\"text\""]) {
      const payload = p.sealPayload(new TextEncoder().encode(plain), key, 64);
      assert.throws(() => p.openDocument(payload, slot, pair.secretKey, 64), p.DecryptionError, plain);
    }
    const invalidUtf8 = p.sealPayload(Uint8Array.of(0x7b, 0xff, 0x7d), key, 64);
    assert.throws(() => p.openDocument(invalidUtf8, slot, pair.secretKey, 64), p.DecryptionError);
  });
});

describe("payload lengths", () => {
  const { pad_block: block, valid, invalid } = vectors.payload_lengths;
  test("accept the valid vectors", () => {
    for (const length of valid) p.checkPayloadLength(length, block, 1 << 20);
  });
  test("refuse the invalid vectors", () => {
    for (const length of invalid) {
      assert.throws(() => p.checkPayloadLength(length, block, 1 << 20), p.ShapeError, String(length));
    }
  });
  test("refuse a valid length above the limit as too large", () => {
    const length = Math.max(...valid);
    assert.throws(() => p.checkPayloadLength(length, block, length - 1), p.TooLargeError);
  });
});

describe("stream lengths", () => {
  const { valid, invalid } = vectors.stream_lengths;
  test("valid vectors", () => {
    for (const length of valid) {
      assert.equal(p.validStreamLength(length), true, String(length));
      p.checkStreamLength(length, 1 << 30);
    }
  });
  test("invalid vectors", () => {
    for (const length of invalid) {
      assert.equal(p.validStreamLength(length), false, String(length));
      assert.throws(() => p.checkStreamLength(length, 1 << 30), p.ShapeError, String(length));
    }
  });
  test("too large", () => {
    assert.throws(() => p.checkStreamLength(valid[1], valid[1] - 1), p.TooLargeError);
  });
  test("constants and sealedLength", () => {
    assert.deepEqual([p.HEADER_BYTES, p.CHUNK_PLAIN, p.CHUNK_SEALED], [24, 65536, 65553]);
    assert.equal(p.sealedLength(0), 41);
    assert.equal(p.sealedLength(65536), 24 + 65553);
    assert.equal(p.sealedLength(65537), 24 + 65553 + 18);
    for (let n = 0; n < 3 * 65536; n += 4099) assert.ok(p.validStreamLength(p.sealedLength(n)), String(n));
  });
});

describe("streams", () => {
  const v = vectors.stream;

  test("the vector stream opens to the fixed plaintext, from bytes and from a Blob", async () => {
    const expected = plainBytes(v.plain_length);
    const sealed = b64(v.sealed);
    assert.equal(sealed.length, p.sealedLength(v.plain_length));
    assert.deepEqual(await p.openStream(sealed, b64(v.key)), expected);
    assert.deepEqual(await p.openStream(new Blob([sealed]), b64(v.key)), expected);
  });

  test("the vector stream fails with a wrong key, cut short, extended or tampered", async () => {
    const sealed = b64(v.sealed);
    const key = b64(v.key);
    await assert.rejects(p.openStream(sealed, new Uint8Array(32)), p.DecryptionError);
    await assert.rejects(p.openStream(sealed.subarray(0, sealed.length - 1), key), p.DecryptionError);
    await assert.rejects(p.openStream(sealed.subarray(0, 24 + 65553), key), /cut short/);
    await assert.rejects(p.openStream(sealed.subarray(0, 23), key), p.DecryptionError);
    await assert.rejects(p.openStream(concat([sealed, [0]]), key), p.DecryptionError);
    const tampered = sealed.slice();
    tampered[100] ^= 1;
    await assert.rejects(p.openStream(tampered, key), p.DecryptionError);
  });

  for (const size of [0, 1, 65535, 65536, 65537, 200000, 64 * 65536, 64 * 65536 + 5, 130 * 65536]) {
    test(`sealStream of ${size} bytes: exactly sealedLength, and it opens back`, async () => {
      const plain = plainBytes(size);
      for (const source of [plain, new Blob([plain])]) {
        const progress = [];
        const { key, parts } = await p.sealStream(source, null, (done, total) => progress.push([done, total]));
        assert.equal(key.length, 32);
        // The header, then one part per read window: 16 chunks of 64 KiB first, then 64 (an
        // empty file still has one chunk): no empty extra chunk.
        const chunks = Math.max(1, Math.ceil(size / 65536));
        const windows = 1 + Math.ceil(Math.max(0, chunks - 16) / 64);
        assert.equal(parts.length, 1 + windows);
        assert.equal(parts[0].length, 24);
        // Progress comes once per read window, and always at the end.
        assert.equal(progress.length, windows);
        assert.deepEqual(progress.at(-1), [size, size]);
        const sealed = concat(parts);
        assert.equal(sealed.length, p.sealedLength(size));
        assert.equal(new Blob(parts).size, p.sealedLength(size));
        assert.ok(p.validStreamLength(sealed.length));
        assert.deepEqual(await p.openStream(sealed, key), plain);
        assert.deepEqual(await p.openStream(new Blob(parts), key), plain);
        await assert.rejects(p.openStream(sealed.subarray(0, sealed.length - 1), key), p.DecryptionError);
        await assert.rejects(p.openStream(concat([sealed, [1]]), key), p.DecryptionError);
        if (size > 0 && size % 65536 === 0) {
          // A full final chunk is read whole, so the extra byte is seen as trailing data.
          await assert.rejects(p.openStream(concat([sealed, [1]]), key), /after its final chunk/);
        }
        if (chunks > 1) {
          await assert.rejects(p.openStream(concat(parts.slice(0, -1)), key), /cut short/);
        }
      }
    });
  }

  test("sealStream with a given key opens with that key only", async () => {
    const key = new Uint8Array(32).fill(5);
    const { key: used, parts } = await p.sealStream(plainBytes(1000), key);
    assert.deepEqual(used, key);
    assert.deepEqual(await p.openStream(concat(parts), key), plainBytes(1000));
    await assert.rejects(p.openStream(concat(parts), new Uint8Array(32)), p.DecryptionError);
  });
});

describe("proof of work", () => {
  assert.ok(vectors.pow.some((v) => v.bits > 8));
  for (const v of vectors.pow) {
    test(`${v.bits} bits: hash, verification, and the smallest nonce`, () => {
      const challenge = b64(v.challenge);
      assert.equal(p.b64encode(p.powHash(challenge, v.nonce)), v.hash);
      assert.equal(p.b64encode(p.powHash(challenge, BigInt(v.nonce))), v.hash);
      assert.ok(p.leadingZeroBits(b64(v.hash)) >= v.bits);
      assert.equal(p.verifyPow(challenge, v.nonce, v.bits), true);
      assert.equal(p.solvePow(challenge, v.bits), v.nonce);
      for (let nonce = 0; nonce < v.nonce; nonce++) assert.equal(p.verifyPow(challenge, nonce, v.bits), false);
    });
  }

  test("leadingZeroBits counts from the top bit of byte 0", () => {
    assert.equal(p.leadingZeroBits(Uint8Array.of(0x80)), 0);
    assert.equal(p.leadingZeroBits(Uint8Array.of(0x01, 0xff)), 7);
    assert.equal(p.leadingZeroBits(Uint8Array.of(0x00, 0x10)), 11);
    assert.equal(p.leadingZeroBits(new Uint8Array(4)), 32);
  });

  test("nonces are uint64, little-endian; anything else does not verify", () => {
    const challenge = b64(vectors.pow[0].challenge);
    assert.deepEqual(p.powHash(challenge, 2 ** 40 + 3), p.powHash(challenge, 2n ** 40n + 3n));
    assert.notDeepEqual(p.powHash(challenge, 2 ** 32), p.powHash(challenge, 1));
    const manual = new Uint8Array(24);
    manual.set(challenge);
    manual.set([0x29, 0x22], 16); // 8745 = 0x2229
    assert.deepEqual(p.powHash(challenge, 8745), p.lookupHash(manual));
    for (const nonce of [-1, 1.5, "0", null, true, 2 ** 53, -1n, 2n ** 64n]) {
      assert.equal(p.verifyPow(challenge, nonce, 0), false, String(nonce));
    }
    assert.equal(p.verifyPow(challenge, 2n ** 64n - 1n, 0), true);
  });

  test("solvePow reports progress and can start elsewhere", () => {
    const v = vectors.pow.find((x) => x.bits === 12);
    const challenge = b64(v.challenge);
    assert.equal(p.solvePow(challenge, v.bits, null, v.nonce), v.nonce);
    assert.ok(p.solvePow(challenge, v.bits, null, v.nonce + 1) > v.nonce);
    const calls = [];
    const nonce = p.solvePow(challenge, 17, (tried, expected) => calls.push([tried, expected]));
    assert.ok(p.verifyPow(challenge, nonce, 17));
    assert.equal(calls.length, Math.floor(nonce / 65536)); // one call per 65,536 failed tries
    for (const [, expected] of calls) assert.equal(expected, 2 ** 17);
  });
});

describe("built bundle static/dist/protocol.js", () => {
  const bundle = fileURLToPath(new URL("../../static/dist/protocol.js", import.meta.url));
  const skip = !existsSync(bundle) && "not built: npm run build";

  test("is self-contained and gives the vectors' bytes", { skip }, async () => {
    assert.doesNotMatch(readFileSync(bundle, "utf8"), /\bfrom\s*["']|\bimport\s*\(|\brequire\s*\(/);
    // Node reads a .js file outside a "type": "module" package as CommonJS, so load a copy.
    const dir = mkdtempSync(join(tmpdir(), "protocol-bundle-"));
    try {
      copyFileSync(bundle, join(dir, "protocol.mjs"));
      const b = await import(pathToFileURL(join(dir, "protocol.mjs")).href);
      await b.ready();
      const d = vectors.derivations.find((v) => v.opslimit === 2);
      const keys = b.deriveReporterKeys(d.receipt, b.b64decode(d.salt), d.opslimit, d.memlimit);
      assert.equal(b.b64encode(keys.secretKey), d.reporter_secret_key);
      const doc = vectors.document;
      const payload = b.sealPayload(b.encodeJson(JSON.parse(doc.json)), b.b64decode(doc.key), doc.pad_block,
        b.b64decode(doc.nonce));
      assert.equal(b.b64encode(payload), doc.payload);
      assert.deepEqual(await b.openStream(b.b64decode(vectors.stream.sealed), b.b64decode(vectors.stream.key)),
        plainBytes(vectors.stream.plain_length));
      assert.equal(b.solvePow(b.b64decode(vectors.pow[2].challenge), vectors.pow[2].bits), vectors.pow[2].nonce);
      // Minifying renames classes; the error names must survive it (the worker sends them).
      assert.throws(() => b.normaliseReceipt("1"), (err) => err instanceof b.ReceiptError && err.name === "ReceiptError");
      assert.equal(new b.TooLargeError("x").name, "TooLargeError");
      assert.equal(typeof b.WorkerClient, "function");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
