// The reporting protocol (docs/protocol.md) for the browser, on libsodium-wrappers-sumo.
// It mirrors the Python package crypto/ function for function (camelCase names), and both are
// tested against tests/vectors/protocol-v1.json. Call `await ready()` once before anything else.

import _sodium from "libsodium-wrappers-sumo";

import {
  CHUNK_OVERHEAD, CHUNK_PLAIN, CHUNK_SEALED, CryptoError, DecryptionError, HEADER_BYTES, KeyFileError,
  RECEIPT_DIGITS, ShapeError, TooLargeError, b64decode, b64encode, normaliseReceipt, toBytes,
} from "./worker-client.mjs";

// What needs no libsodium lives in worker-client.mjs (the pages import only that); it is part
// of this module's interface all the same.
export * from "./worker-client.mjs";

let sodiumReady = false;

/** Load libsodium (WebAssembly); every function below needs this promise to have resolved. */
export async function ready() {
  await _sodium.ready;
  sodiumReady = true;
}

function sodium() {
  if (!sodiumReady) throw new CryptoError("The protocol module is not ready: await ready() first.");
  return _sodium;
}

// ---------------------------------------------------------------- bytes

const textEncoder = new TextEncoder();

function concatBytes(pieces) {
  const out = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

// ---------------------------------------------------------------- receipts (crypto/receipt.py)

/** 20 digits drawn uniformly from the cryptographic RNG (about 66 bits). */
export function generateReceipt() {
  // Five independent uniform draws below 10^4 (libsodium rejects instead of taking a modulo)
  // make one uniform draw below 10^20, which a JavaScript number cannot hold exactly.
  const s = sodium();
  let digits = "";
  for (let i = 0; i < RECEIPT_DIGITS / 4; i++) {
    digits += String(s.randombytes_uniform(10000)).padStart(4, "0");
  }
  return digits;
}

// ---------------------------------------------------------------- keys (crypto/keys.py)

export const SALT_BYTES = 16;
export const KEY_BYTES = 32;
const LOOKUP_CONTEXT = textEncoder.encode("integrity/v1/lookup");
const REPORTER_BOX_CONTEXT = textEncoder.encode("integrity/v1/reporter-box");
const KEY_FILE_KIND = "integrity-x25519-key";

function generichash(data, key = null) {
  return sodium().crypto_generichash(32, data, key);
}

/** `crypto_pwhash(32, ascii(receipt), salt, opslimit, memlimit, ARGON2ID13)`. */
export function deriveSeed(receipt, salt, opslimit, memlimit) {
  const digits = normaliseReceipt(receipt);
  const s = sodium();
  return s.crypto_pwhash(KEY_BYTES, textEncoder.encode(digits), toBytes(salt, "salt"),
    opslimit, memlimit, s.crypto_pwhash_ALG_ARGON2ID13);
}

/** The lookup token, its hash, and the reporter's box key pair that follow from the seed. */
export function reporterKeysFromSeed(seed) {
  const lookup = generichash(LOOKUP_CONTEXT, seed);
  const pair = sodium().crypto_box_seed_keypair(generichash(REPORTER_BOX_CONTEXT, seed));
  return { lookup, lookupHash: lookupHash(lookup), publicKey: pair.publicKey, secretKey: pair.privateKey };
}

/** Everything the receipt gives its holder: `{lookup, lookupHash, publicKey, secretKey}`. */
export function deriveReporterKeys(receipt, salt, opslimit, memlimit) {
  return reporterKeysFromSeed(deriveSeed(receipt, salt, opslimit, memlimit));
}

/** What the server stores in place of the lookup token: `crypto_generichash(32, lookup)`. */
export function lookupHash(lookup) {
  return generichash(toBytes(lookup, "lookup"));
}

/** A fresh X25519 key pair `{publicKey, secretKey}`. */
export function generateKeyPair() {
  const pair = sodium().crypto_box_keypair();
  return { publicKey: pair.publicKey, secretKey: pair.privateKey };
}

/** The key pair `{publicKey, secretKey}` of an X25519 secret key. */
export function keyPairFromSecretKey(secretKey) {
  const sk = toBytes(secretKey, "secret key");
  if (sk.length !== KEY_BYTES) throw new ShapeError(`A secret key is ${KEY_BYTES} bytes.`);
  return { publicKey: sodium().crypto_scalarmult_base(sk), secretKey: sk };
}

/** A short, readable fingerprint of a public key for comparing by eye. */
export function fingerprint(publicKey) {
  const digest = sodium().to_hex(generichash(toBytes(publicKey, "public key")).subarray(0, 10));
  return digest.match(/.{4}/g).join(" ");
}

/** The JSON of an offline key file, byte for byte as crypto/keys.py writes it. */
export function dumpKeyFile(pair, label) {
  const text = JSON.stringify({
    kind: KEY_FILE_KIND, version: 1, label,
    public_key: b64encode(pair.publicKey), secret_key: b64encode(pair.secretKey),
  }, null, 2);
  // Python's json.dumps escapes every non-ASCII character (ensure_ascii) in lower-case hex.
  return text.replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`) + "\n";
}

/** The JSON object of a key file of this system, of either version; KeyFileError otherwise. */
export function keyFileData(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new KeyFileError("The key file is not JSON.");
  }
  if (data === null || typeof data !== "object" || Array.isArray(data) || data.kind !== KEY_FILE_KIND) {
    throw new KeyFileError("This is not an X25519 key file of this system.");
  }
  return data;
}

/** Read a key file written by dumpKeyFile (or the CLI) and check its halves belong together. */
export function loadKeyFile(text) {
  const data = keyFileData(text);
  const pair = keyPairFromSecretKey(b64decode(data.secret_key, KEY_BYTES, "secret key"));
  if (b64encode(pair.publicKey) !== data.public_key) {
    throw new KeyFileError("The key file's public key does not match its secret key.");
  }
  return pair;
}

// ---------------------------------------------------------------- documents (crypto/documents.py)

export const NONCE_BYTES = 24;
export const MAC_BYTES = 16;
export const SLOT_BYTES = 80; // crypto_box_seal of a 32-byte key: 32 ephemeral + 32 + 16 MAC
export const PAYLOAD_OVERHEAD = NONCE_BYTES + MAC_BYTES;

/** `sodium_pad`: ISO/IEC 7816-4 padding up to a multiple of `block`. */
export function pad(plain, block) {
  return sodium().pad(toBytes(plain), block);
}

/** `sodium_unpad`; DecryptionError when the padding is not valid. */
export function unpad(padded, block) {
  try {
    return sodium().unpad(toBytes(padded), block);
  } catch {
    throw new DecryptionError("The document's padding is not valid.");
  }
}

/** UTF-8 JSON with no spaces, as Python's `json.dumps(..., ensure_ascii=False, separators=(",", ":"))`. */
export function encodeJson(document) {
  // Identical for objects, arrays, strings, integers, booleans and null, which is all a document
  // holds; the two differ on floats such as 1.0 (JavaScript writes 1), on NaN, and on key order
  // when a key looks like an integer (JavaScript puts those first).
  return textEncoder.encode(JSON.stringify(document));
}

/** One key slot: `crypto_box_seal(key, publicKey)`. */
export function sealKey(key, publicKey) {
  return sodium().crypto_box_seal(toBytes(key, "key"), toBytes(publicKey, "public key"));
}

/** The document key in `slot`, for the holder of `secretKey`. */
export function openKeySlot(slot, secretKey) {
  const sealed = toBytes(slot, "key slot");
  if (sealed.length !== SLOT_BYTES) throw new ShapeError(`A key slot is ${SLOT_BYTES} bytes.`);
  const pair = keyPairFromSecretKey(secretKey);
  try {
    return sodium().crypto_box_seal_open(sealed, pair.publicKey, pair.secretKey);
  } catch {
    throw new DecryptionError("This key cannot open that key slot.");
  }
}

/** `nonce || crypto_secretbox_easy(sodium_pad(plain), nonce, key)`, with a random nonce by default. */
export function sealPayload(plain, key, padBlock, nonce = null) {
  const s = sodium();
  const n = nonce === null || nonce === undefined ? s.randombytes_buf(NONCE_BYTES) : toBytes(nonce, "nonce");
  return concatBytes([n, s.crypto_secretbox_easy(pad(plain, padBlock), n, toBytes(key, "key"))]);
}

/** The plaintext of a payload; DecryptionError for a wrong key, tampering or bad padding. */
export function openPayload(payload, key, padBlock) {
  const data = toBytes(payload, "payload");
  if (data.length < PAYLOAD_OVERHEAD) throw new DecryptionError("The document does not open with this key.");
  let padded;
  try {
    padded = sodium().crypto_secretbox_open_easy(data.subarray(NONCE_BYTES), data.subarray(0, NONCE_BYTES),
      toBytes(key, "key"));
  } catch {
    throw new DecryptionError("The document does not open with this key.");
  }
  return unpad(padded, padBlock);
}

/** Seal `document` (JSON) so each reader (`{id: publicKey}` or a Map) can open it: `{payload, keySlots, key}`. */
export function sealDocument(document, readers, padBlock) {
  const key = sodium().randombytes_buf(KEY_BYTES);
  const payload = sealPayload(encodeJson(document), key, padBlock);
  const entries = readers instanceof Map ? [...readers.entries()] : Object.entries(readers);
  const keySlots = Object.fromEntries(entries.map(([reader, publicKey]) => [reader, sealKey(key, publicKey)]));
  return { payload, keySlots, key }; // the document key; callers drop it once the slots are made
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The JSON object sealed in `payload`, opened through the reader's `slot`. */
export function openDocument(payload, slot, secretKey, padBlock) {
  const plain = openPayload(payload, openKeySlot(slot, secretKey), padBlock);
  let document;
  try {
    document = JSON.parse(strictUtf8.decode(plain));
  } catch {
    throw new DecryptionError("The document is not UTF-8 JSON.");
  }
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw new DecryptionError("The document is not a JSON object.");
  }
  return document;
}

/** The server's shape check: `40 + k * padBlock` bytes for k >= 1 (ShapeError), within the limit (TooLargeError). */
export function checkPayloadLength(length, padBlock, maxLength) {
  const padded = length - PAYLOAD_OVERHEAD;
  if (padded < padBlock || padded % padBlock) {
    throw new ShapeError(`The payload must be 40 bytes plus a whole number of ${padBlock}-byte blocks.`);
  }
  if (length > maxLength) throw new TooLargeError("The payload is larger than this server accepts.");
}

// ---------------------------------------------------------------- streams (crypto/stream.py)

/** Whether `length` is a header, full chunks, and a final chunk of 17 to 65,553 bytes. */
export function validStreamLength(length) {
  const body = length - HEADER_BYTES;
  if (body < CHUNK_OVERHEAD) return false;
  const last = body % CHUNK_SEALED;
  return last === 0 || last >= CHUNK_OVERHEAD;
}

/** The server's check of an uploaded stream's length: TooLargeError, or ShapeError. */
export function checkStreamLength(length, maxLength) {
  if (length > maxLength) throw new TooLargeError("The attachment is larger than this server accepts.");
  if (!validStreamLength(length)) {
    throw new ShapeError("The attachment is not a secretstream of 65,536-byte chunks with a final chunk.");
  }
}

function isBlob(source) {
  return typeof Blob !== "undefined" && source instanceof Blob;
}

async function readRange(source, start, end) {
  if (!isBlob(source)) return source.subarray(start, end);
  const piece = new Uint8Array(await source.slice(start, end).arrayBuffer());
  if (piece.length !== end - start) throw new ShapeError("The file changed while it was being read.");
  return piece;
}

const FIRST_WINDOW = 16; // chunks: 1 MiB
const READ_WINDOW = 64; // chunks: 4 MiB
const READ_AHEAD = 2; // windows asked for ahead of the one being sealed

/**
 * Pushes chunks through libsodium's own functions with one input and one output buffer kept in
 * its memory for the whole file, instead of the wrappers' allocation and copies per call; null
 * when the module does not expose them (then the wrappers are used).
 */
function rawPusher(state) {
  const L = _sodium.libsodium;
  if (!L || typeof L._crypto_secretstream_xchacha20poly1305_push !== "function"
      || typeof L._malloc !== "function" || typeof L._free !== "function") return null;
  const input = L._malloc(CHUNK_PLAIN);
  const output = L._malloc(CHUNK_SEALED);
  if (!input || !output) {
    if (input) L._free(input);
    if (output) L._free(output);
    return null;
  }
  return {
    /** Seal `plain` with `tag` into `target` at `offset`; returns the sealed length. */
    push(plain, tag, target, offset) {
      L.HEAPU8.set(plain, input); // HEAPU8 is read anew each time: memory may have grown
      // (state, c, clen_p, m, mlen low/high, ad, adlen low/high, tag)
      if (L._crypto_secretstream_xchacha20poly1305_push(state, output, 0, input, plain.length, 0, 0, 0, 0, tag) !== 0) {
        throw new CryptoError("A chunk could not be sealed.");
      }
      const sealed = plain.length + CHUNK_OVERHEAD;
      target.set(L.HEAPU8.subarray(output, output + sealed), offset);
      return sealed;
    },
    free() {
      L.HEAPU8.fill(0, input, input + CHUNK_PLAIN); // no plaintext left behind in its memory
      L._free(input);
      L._free(output);
    },
  };
}

/** Seal a Blob (File) or bytes in 64 KiB chunks, the last tagged FINAL: `{key, parts}` for `new Blob(parts)`. */
export async function sealStream(source, key = null, onProgress = null) {
  const s = sodium();
  const input = isBlob(source) ? source : toBytes(source, "file");
  const total = isBlob(input) ? input.size : input.length;
  const fileKey = key === null || key === undefined ? s.randombytes_buf(KEY_BYTES) : toBytes(key, "key");
  const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(fileKey);
  const parts = [header];
  // The size is known, so is the last chunk: an empty file is one empty FINAL chunk, and a
  // multiple of 64 KiB ends with a full FINAL chunk, as crypto/stream.py reads it.
  const chunks = Math.max(1, Math.ceil(total / CHUNK_PLAIN));
  const raw = rawPusher(state);
  let next = null;
  try {
    // Read the file a few megabytes at a time and seal each window into one part: a read or
    // a Blob part per 64 KiB chunk costs more than the sealing itself. The next windows are
    // being read (by the browser, off this thread) while this one is sealed; the first is
    // small, so that sealing starts soon.
    const windows = []; // [first chunk, chunk count]
    for (let first = 0, count = FIRST_WINDOW; first < chunks; first += count, count = READ_WINDOW) {
      windows.push([first, Math.min(count, chunks - first)]);
    }
    const read = (index) => {
      if (index >= windows.length) return null;
      const [first, count] = windows[index];
      return readRange(input, first * CHUNK_PLAIN, Math.min(total, (first + count) * CHUNK_PLAIN));
    };
    next = Array.from({ length: READ_AHEAD }, (_, index) => read(index));
    for (let index = 0; index < windows.length; index++) {
      const [first, count] = windows[index];
      const start = first * CHUNK_PLAIN;
      const end = Math.min(total, (first + count) * CHUNK_PLAIN);
      const window = await next.shift();
      next.push(read(index + READ_AHEAD));
      const out = new Uint8Array(end - start + count * CHUNK_OVERHEAD);
      let offset = 0;
      for (let i = 0; i < count; i++) {
        const plain = window.subarray(i * CHUNK_PLAIN, Math.min(window.length, (i + 1) * CHUNK_PLAIN));
        const tag = first + i === chunks - 1
          ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL
          : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
        if (raw) {
          offset += raw.push(plain, tag, out, offset);
        } else {
          const sealed = s.crypto_secretstream_xchacha20poly1305_push(state, plain, null, tag);
          out.set(sealed, offset);
          offset += sealed.length;
        }
      }
      parts.push(out);
      if (onProgress) onProgress(end, total);
    }
  } finally {
    if (raw) raw.free();
    for (const pending of next || []) pending?.catch(() => {}); // reads under way when sealing stopped
  }
  return { key: fileKey, parts };
}

/** The plaintext of a sealed stream (Blob or bytes); DecryptionError for a wrong key, truncation or trailing data. */
export async function openStream(sealed, key, onProgress = null) {
  const s = sodium();
  const input = isBlob(sealed) ? sealed : toBytes(sealed, "attachment");
  const total = isBlob(input) ? input.size : input.length;
  if (total < HEADER_BYTES) throw new DecryptionError("The attachment ends before its header.");
  const wrongKey = () => new DecryptionError("The attachment does not open with this key.");
  let state;
  try {
    state = s.crypto_secretstream_xchacha20poly1305_init_pull(await readRange(input, 0, HEADER_BYTES),
      toBytes(key, "key"));
  } catch {
    throw wrongKey();
  }
  const pieces = [];
  let position = HEADER_BYTES;
  for (;;) {
    if (position >= total) throw new DecryptionError("The attachment was cut short: no final chunk.");
    const end = Math.min(total, position + CHUNK_SEALED);
    const chunk = await readRange(input, position, end);
    position = end;
    let opened;
    try {
      opened = s.crypto_secretstream_xchacha20poly1305_pull(state, chunk, null); // false when forged
    } catch {
      opened = false; // shorter than a tag and MAC
    }
    if (!opened) throw wrongKey();
    pieces.push(opened.message);
    if (onProgress) onProgress(position, total);
    if (opened.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL) break;
  }
  if (position < total) throw new DecryptionError("The attachment has data after its final chunk.");
  return concatBytes(pieces);
}

// ---------------------------------------------------------------- proof of work (crypto/pow.py)

export const MAX_NONCE = 2n ** 64n - 1n;
const TWO_32 = 2 ** 32;

function isNonce(nonce) {
  if (typeof nonce === "bigint") return nonce >= 0n && nonce <= MAX_NONCE;
  return Number.isSafeInteger(nonce) && nonce >= 0;
}

function writeLe64(view, offset, nonce) {
  if (typeof nonce === "bigint") {
    view.setBigUint64(offset, nonce, true);
  } else {
    view.setUint32(offset, nonce >>> 0, true);
    view.setUint32(offset + 4, Math.floor(nonce / TWO_32), true);
  }
}

/** `crypto_generichash(32, challenge || le64(nonce))`; the nonce is a safe integer Number or a BigInt. */
export function powHash(challenge, nonce) {
  if (!isNonce(nonce)) throw new RangeError("The nonce is not a uint64.");
  const c = toBytes(challenge, "challenge");
  const input = new Uint8Array(c.length + 8);
  input.set(c);
  writeLe64(new DataView(input.buffer), c.length, nonce);
  return generichash(input);
}

/** Zero bits at the start, most significant bit of byte 0 first. */
export function leadingZeroBits(digest) {
  let count = 0;
  for (const byte of digest) {
    if (byte) return count + Math.clz32(byte) - 24;
    count += 8;
  }
  return count;
}

/** Whether `nonce` (a uint64 as Number or BigInt) solves `challenge` at `bits`. */
export function verifyPow(challenge, nonce, bits) {
  if (!isNonce(nonce)) return false;
  return leadingZeroBits(powHash(challenge, nonce)) >= bits;
}

/** The smallest nonce from `start` that solves `challenge`, as a Number; onProgress(tried, expected) now and then. */
export function solvePow(challenge, bits, onProgress = null, start = 0) {
  const s = sodium();
  const c = toBytes(challenge, "challenge");
  // One buffer rewritten in place: this loop runs about 2^bits times.
  const input = new Uint8Array(c.length + 8);
  input.set(c);
  const view = new DataView(input.buffer);
  const expected = 2 ** bits;
  for (let nonce = start; nonce <= Number.MAX_SAFE_INTEGER; nonce++) {
    writeLe64(view, c.length, nonce);
    if (leadingZeroBits(s.crypto_generichash(32, input, null)) >= bits) return nonce;
    if (onProgress && (nonce - start + 1) % 65536 === 0) onProgress(nonce - start + 1, expected);
  }
  throw new RangeError("No nonce below 2^53 solves this challenge.");
}
