// The cryptography of the reporting pages, off the main thread (bundled as static/dist/worker.js,
// a classic worker): the only place a page loads libsodium. Requests are `{id, op, ...}`;
// answers are `{id, progress}` (0 to 1) while working, then `{id, result}` or
// `{id, error: {name, message}}`. Pages use WorkerClient (static/js/worker-client.mjs).
//
// Operations:
//   ping                                              -> {ready: true} once libsodium is loaded
//   receipt                                           -> {receipt}: 20 fresh digits
//   derive  {receipt, salt, opslimit, memlimit}        -> {lookup, lookupHash, publicKey, secretKey}
//   seal    {file: Blob}                               -> {key, blob}: the sealed stream (progress)
//   pow     {challenge, bits}                          -> {nonce} (progress)
//   seal-document {document, readers: {id: key}, padBlock} -> {payload, keySlots: {id: slot}} (b64)
//   open-document {payload, slot, secretKey, padBlock} -> the document (an object)
//   open-stream   {blob, key}                          -> {blob}: the plaintext (progress)
//   staff-derive  {passphrase, salt, opslimit, memlimit} -> {loginValue (b64), wrappingKey} (progress)
//   staff-wrap    {secretKey, wrappingKey}             -> {wrapped} (b64, 72 bytes)
//   staff-unwrap  {wrapped, wrappingKey, publicKey?}   -> {secretKey}
//   staff-keypair                                      -> {publicKey, secretKey}: a fresh X25519 pair
//   staff-share-key {wrappingKey, share}              -> {wrappingKey}: the scheme-2 wrapping key
//   staff-rewrap  {wrapped, oldWrappingKey, newWrappingKey, publicKey} -> {wrapped} (b64), checked
//   key-file      {text, passphrase?}                  -> {publicKey, secretKey} of an offline key file
//   reseal        {slots: [slot], secretKey, publicKey} -> {slots: [slot]} (b64): each slot's key
//                                                         sealed anew to publicKey
//   p2-certify, p2-seal-report, p2-judge, p2-seal-message  protocol 2 (static/js/worker-p2.mjs)
// Binary inputs may be bytes or the b64 text the API gives.

import {
  KEY_BYTES, SALT_BYTES, SLOT_BYTES, ShapeError, b64decode, b64encode, deriveReporterKeys, generateKeyPair,
  generateReceipt, openDocument, openKeySlot, openStream, ready, sealDocument, sealKey, sealStream,
  solvePow,
} from "./protocol.mjs";
import {
  deriveStaffKeys, loginValue, readKeyFile, sharedWrappingKey, unwrapPrivateKey, wrapPrivateKey,
} from "./staff-keys.mjs";
import { KEYRING_NAME, paddedLength } from "./worker-client.mjs";
import { P2_OPERATIONS } from "./worker-p2.mjs";

function binary(value, what, length = null) {
  if (typeof value === "string") return b64decode(value, length, what);
  if (!(value instanceof Uint8Array)) throw new ShapeError(`The ${what} must be bytes or base64url.`);
  if (length !== null && value.length !== length) throw new ShapeError(`The ${what} must be ${length} bytes.`);
  return value;
}

function padBlock(value) {
  if (!Number.isSafeInteger(value) || value < 1 || value > 1 << 24) {
    throw new ShapeError("The pad block must be a positive whole number of bytes.");
  }
  return value;
}

function plainObject(value, what) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ShapeError(`The ${what} must be an object.`);
  }
  return value;
}

export const OPERATIONS = {
  // -> {ready: true}: handleRequest has awaited libsodium before any operation runs.
  ping() {
    return [{ ready: true }, []];
  },

  // -> {receipt}: 20 digits from libsodium's RNG.
  receipt() {
    return [{ receipt: generateReceipt() }, []];
  },

  // {receipt, salt, opslimit, memlimit} -> {lookup, lookupHash, publicKey, secretKey}
  derive(request, progress) {
    progress(0);
    const keys = deriveReporterKeys(request.receipt, binary(request.salt, "salt", SALT_BYTES),
      request.opslimit, request.memlimit);
    progress(1);
    const result = {
      lookup: keys.lookup, lookupHash: keys.lookupHash, publicKey: keys.publicKey, secretKey: keys.secretKey,
    };
    return [result, [...new Set(Object.values(result).map((bytes) => bytes.buffer))]];
  },

  // {file: Blob, maxSealed?} -> {key, blob}: the sealed stream, ready to upload. The file is
  // padded with zero bytes to its Padmé length first (never so long that the stream passes
  // maxSealed); the document's attachment entry carries its true size.
  async seal(request, progress) {
    const file = request.file instanceof Blob ? request.file : binary(request.file, "file");
    const size = file instanceof Blob ? file.size : file.length;
    const maxSealed = Number.isSafeInteger(request.maxSealed) ? request.maxSealed : null;
    const padding = new Uint8Array(paddedLength(size, maxSealed) - size);
    const padded = new Blob([file, padding]);
    progress(0);
    const { key, parts } = await sealStream(padded, null, (done, total) => progress(total ? done / total : 1));
    return [{ key, blob: new Blob(parts, { type: "application/octet-stream" }) }, [key.buffer]];
  },

  // {challenge, bits} -> {nonce}
  pow(request, progress) {
    progress(0);
    // The chance of having found a solution after `tried` hashes, as a progress estimate.
    const nonce = solvePow(binary(request.challenge, "challenge"), request.bits,
      (tried, expected) => progress(1 - Math.exp(-tried / expected)));
    progress(1);
    return [{ nonce }, []];
  },

  // {document, readers: {id: public key}, padBlock} -> {payload, keySlots: {id: slot}}, as b64.
  // The document key never leaves the worker: it is wiped once the slots are made.
  "seal-document"(request) {
    const document = plainObject(request.document, "document");
    const readers = Object.entries(plainObject(request.readers, "readers"));
    if (!readers.length) throw new ShapeError("A document needs at least one reader.");
    const keys = Object.fromEntries(readers.map(([id, key]) => [id, binary(key, `public key of “${id}”`, KEY_BYTES)]));
    const sealed = sealDocument(document, keys, padBlock(request.padBlock));
    sealed.key.fill(0);
    const keySlots = Object.fromEntries(Object.entries(sealed.keySlots).map(([id, slot]) => [id, b64encode(slot)]));
    return [{ payload: b64encode(sealed.payload), keySlots }, []];
  },

  // {payload, slot, secretKey, padBlock} -> the JSON object sealed in the payload.
  "open-document"(request) {
    const document = openDocument(binary(request.payload, "payload"), binary(request.slot, "key slot", SLOT_BYTES),
      binary(request.secretKey, "secret key", KEY_BYTES), padBlock(request.padBlock));
    // A protocol 2 report's thread secret stays here: the p2 operations open the report again.
    if (document?.thread && typeof document.thread === "object") delete document.thread.secret;
    return [document, []];
  },

  // {blob: Blob, key, size?} -> {blob}: the opened stream, as an application/octet-stream Blob,
  // cut to `size` (the entry's true size: what follows is padding).
  async "open-stream"(request, progress) {
    const sealed = request.blob instanceof Blob ? request.blob : binary(request.blob, "attachment");
    const key = binary(request.key, "key", KEY_BYTES);
    progress(0);
    const plain = await openStream(sealed, key, (done, total) => progress(total ? done / total : 1));
    const size = Number.isSafeInteger(request.size) && request.size >= 0 ? request.size : plain.length;
    return [{ blob: new Blob([plain.subarray(0, Math.min(size, plain.length))], { type: "application/octet-stream" }) }, []];
  },

  // {passphrase, salt, opslimit, memlimit} -> {loginValue (b64), wrappingKey}: Argon2id, once.
  // The master and the authentication value stay here; only what the page needs goes back.
  "staff-derive"(request, progress) {
    if (typeof request.passphrase !== "string") throw new ShapeError("The passphrase must be text.");
    const salt = binary(request.salt, "salt", SALT_BYTES);
    progress(0);
    const keys = deriveStaffKeys(request.passphrase, salt, request.opslimit, request.memlimit);
    progress(1);
    const result = { loginValue: loginValue(keys), wrappingKey: keys.wrappingKey };
    keys.authValue.fill(0);
    return [result, [keys.wrappingKey.buffer]];
  },

  // {secretKey, wrappingKey} -> {wrapped}: nonce || secretbox, as b64 for the API.
  "staff-wrap"(request) {
    const wrapped = wrapPrivateKey(binary(request.secretKey, "secret key", KEY_BYTES),
      binary(request.wrappingKey, "wrapping key", KEY_BYTES));
    return [{ wrapped: b64encode(wrapped) }, []];
  },

  // {wrapped, wrappingKey, publicKey?} -> {secretKey}; DecryptionError for a wrong passphrase,
  // ShapeError for a wrapped key that is not 72 bytes (b64 or not).
  "staff-unwrap"(request) {
    const publicKey = request.publicKey === undefined || request.publicKey === null
      ? null
      : binary(request.publicKey, "public key", KEY_BYTES);
    const secretKey = unwrapPrivateKey(binary(request.wrapped, "wrapped private key"),
      binary(request.wrappingKey, "wrapping key", KEY_BYTES), publicKey);
    return [{ secretKey }, [secretKey.buffer]];
  },

  // {wrappingKey, share} -> {wrappingKey}: the scheme-2 wrapping key (docs/inspector-keys.md).
  "staff-share-key"(request) {
    const wrappingKey = sharedWrappingKey(binary(request.wrappingKey, "wrapping key", KEY_BYTES),
      binary(request.share, "share", KEY_BYTES));
    return [{ wrappingKey }, [wrappingKey.buffer]];
  },

  // {wrapped, oldWrappingKey, newWrappingKey, publicKey} -> {wrapped}: the same private key
  // under a new wrapping key, checked to open again (with the public key) before it is given.
  "staff-rewrap"(request) {
    const publicKey = binary(request.publicKey, "public key", KEY_BYTES);
    const newKey = binary(request.newWrappingKey, "wrapping key", KEY_BYTES);
    const secretKey = unwrapPrivateKey(binary(request.wrapped, "wrapped private key"),
      binary(request.oldWrappingKey, "wrapping key", KEY_BYTES), publicKey);
    try {
      const wrapped = wrapPrivateKey(secretKey, newKey);
      unwrapPrivateKey(wrapped, newKey, publicKey).fill(0);
      return [{ wrapped: b64encode(wrapped) }, []];
    } finally {
      secretKey.fill(0);
    }
  },

  // -> {publicKey, secretKey}: a fresh X25519 key pair, made on this device.
  "staff-keypair"() {
    const pair = generateKeyPair();
    return [{ publicKey: pair.publicKey, secretKey: pair.secretKey }, [pair.publicKey.buffer, pair.secretKey.buffer]];
  },

  // {text, passphrase?} -> {publicKey, secretKey}: the pair in a key file `integrity keygen`
  // wrote (its passphrase when it was written with --passphrase).
  "key-file"(request) {
    if (typeof request.text !== "string") throw new ShapeError("The key file must be text.");
    const pair = readKeyFile(request.text, typeof request.passphrase === "string" ? request.passphrase : null);
    return [{ publicKey: pair.publicKey, secretKey: pair.secretKey }, [pair.publicKey.buffer, pair.secretKey.buffer]];
  },

  // {slots: [slot], secretKey, publicKey} -> {slots}: sharing a case. Each document key is
  // opened with secretKey and sealed to publicKey; the keys never leave the worker.
  reseal(request) {
    if (!Array.isArray(request.slots)) throw new ShapeError("The key slots must be a list.");
    const secretKey = binary(request.secretKey, "secret key", KEY_BYTES);
    const publicKey = binary(request.publicKey, "public key", KEY_BYTES);
    const slots = request.slots.map((slot) => {
      const key = openKeySlot(binary(slot, "key slot", SLOT_BYTES), secretKey);
      try {
        return b64encode(sealKey(key, publicKey));
      } finally {
        key.fill(0);
      }
    });
    return [{ slots }, []];
  },

  ...P2_OPERATIONS,
};

/**
 * Answer one request with one of `operations` (these by default); `post(message, transfer)`
 * sends the progress messages and the answer.
 */
export async function handleRequest(request, post, operations = OPERATIONS) {
  const id = request?.id;
  try {
    const op = request?.op;
    if (!Object.prototype.hasOwnProperty.call(operations, op)) throw new TypeError(`Unknown operation: ${op}.`);
    await ready();
    const [result, transfer] = await operations[op](request, (progress) => post({ id, progress }, []));
    post({ id, result }, transfer);
  } catch (err) {
    post({ id, error: { name: err?.name ?? "Error", message: String(err?.message ?? err) } }, []);
  }
}

// Only inside this worker: importing this module elsewhere (the tests, the keyring) installs nothing.
if (typeof DedicatedWorkerGlobalScope !== "undefined" && self instanceof DedicatedWorkerGlobalScope
    && self.name !== KEYRING_NAME) {
  self.onmessage = (event) => handleRequest(event.data, (message, transfer) => self.postMessage(message, transfer));
}
