// Protocol 2's constructs (docs/protocol.md, "Protocol 2: the constructs") for the browser, on
// libsodium-wrappers-sumo: frames, key hashes, the organisation key's certificates, authenticated
// thread links and how a listing is judged, the protocol 2 report and share documents, reader
// changes and floors. Tested against tests/vectors/protocol-v2.json. Call `await ready()` (the
// one of protocol.mjs, re-exported here) before anything else. Bytes are Uint8Arrays; the
// documents carry them as base64url text, as protocol 1's do.

import _sodium from "libsodium-wrappers-sumo";

import {
  CryptoError, EncodingError, KEY_BYTES, ShapeError, b64decode, b64encode, ready, toBytes,
} from "./protocol.mjs";

export { ready };
// The floors need no libsodium: they live in floors.mjs, which the page bundles import.
export { FLOORS, FLOOR_SENTENCES, FloorError, checkFloors, checkConfigFloors } from "./floors.mjs";

export const PROTOCOL = 2;
export const HASH_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const CHAINS = Object.freeze(["thread", "notes"]);
export const ROLES = Object.freeze(["reporter", "inspector"]);
const MAX_SEQ = 2n ** 63n; // exclusive

const textEncoder = new TextEncoder();
const CONTEXT = {
  inspectorKey: "integrity/v2/inspector-key",
  recoveryKey: "integrity/v2/recovery-key",
  threadAuth: "integrity/v2/thread-auth",
  threadRoot: "integrity/v2/thread-root",
  link: "integrity/v2/link",
  linkHash: "integrity/v2/link-hash",
  replacement: "integrity/v2/replacement",
};

function sodium() {
  // The functions below appear on the module object once its WebAssembly has loaded.
  if (typeof _sodium.crypto_sign_detached !== "function") {
    throw new CryptoError("The protocol module is not ready: await ready() first.");
  }
  return _sodium;
}

function checkLength(value, length, what) {
  const bytes = toBytes(value, what);
  if (bytes.length !== length) throw new ShapeError(`The ${what} must be ${length} bytes.`);
  return bytes;
}

function hash(data, key = null) {
  return sodium().crypto_generichash(HASH_BYTES, data, key);
}

function sameBytes(a, b) {
  return a.length === b.length && sodium().memcmp(a, b);
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A Map of an object, a Map or a list of `[key, value]` pairs, in its given order. */
function entriesOf(value, what) {
  if (value instanceof Map) return new Map(value);
  if (Array.isArray(value)) return new Map(value);
  if (isObject(value)) return new Map(Object.entries(value));
  throw new TypeError(`The ${what} must be a Map or an object.`);
}

// ---------------------------------------------------------------- frames

function le32(n) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

function le64(n) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}

/** `le32(len(p1)) || p1 || … || le32(len(pn)) || pn`; a text part is its UTF-8 bytes. */
export function frame(...parts) {
  const bytes = parts.map((part) => (typeof part === "string" ? textEncoder.encode(part) : toBytes(part, "part")));
  const out = new Uint8Array(bytes.reduce((sum, part) => sum + 4 + part.length, 0));
  let offset = 0;
  for (const part of bytes) {
    if (part.length > 0xffffffff) throw new ShapeError("A frame part is at most 2^32 - 1 bytes.");
    out.set(le32(part.length), offset);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

// ---------------------------------------------------------------- key hashes and certificates

/** `hash(publicKey)`: what documents record a key by (their JSON field "fingerprint", in b64). */
export function keyHash(publicKey) {
  return hash(checkLength(publicKey, KEY_BYTES, "public key"));
}

/** The first 10 bytes of the key hash in lowercase hex, in five groups of four: `c8a7 416a a007 9da4 b847`. */
export function fingerprint(publicKey) {
  return sodium().to_hex(keyHash(publicKey).subarray(0, 10)).match(/.{4}/g).join(" ");
}

const INSPECTOR_ID = /^[0-9]{1,20}$/;

function checkId(id) {
  if (typeof id !== "string" || !INSPECTOR_ID.test(id)) {
    throw new ShapeError("An inspector id is 1 to 20 ASCII digits.");
  }
  return id;
}

/** `frame("integrity/v2/inspector-key", ascii(id), publicKey)`: what an inspector certificate signs. */
export function inspectorKeyMessage(id, publicKey) {
  return frame(CONTEXT.inspectorKey, checkId(id), checkLength(publicKey, KEY_BYTES, "public key"));
}

/** `frame("integrity/v2/recovery-key", publicKey)`: what a recovery certificate signs. */
export function recoveryKeyMessage(publicKey) {
  return frame(CONTEXT.recoveryKey, checkLength(publicKey, KEY_BYTES, "public key"));
}

/** The organisation's Ed25519 key pair `{publicKey, secretKey}` of its 32-byte seed (made offline; for tests here). */
export function orgKeyFromSeed(seed) {
  const pair = sodium().crypto_sign_seed_keypair(checkLength(seed, 32, "seed"));
  return { publicKey: pair.publicKey, secretKey: pair.privateKey };
}

function sign(orgKey, message) {
  return sodium().crypto_sign_detached(message, checkLength(orgKey?.secretKey, 64, "organisation secret key"));
}

/** The 64-byte certificate of inspector `id`'s key, signed with the organisation key `{secretKey}`. */
export function signInspectorKey(orgKey, id, publicKey) {
  return sign(orgKey, inspectorKeyMessage(id, publicKey));
}

/** The 64-byte certificate of the recovery key, signed with the organisation key `{secretKey}`. */
export function signRecoveryKey(orgKey, publicKey) {
  return sign(orgKey, recoveryKeyMessage(publicKey));
}

function verify(orgPublicKey, message, signature) {
  const pk = checkLength(orgPublicKey, KEY_BYTES, "organisation public key");
  const sig = toBytes(signature, "certificate");
  if (sig.length !== SIGNATURE_BYTES) return false;
  return sodium().crypto_sign_verify_detached(sig, message, pk);
}

/** Whether `signature` certifies `publicKey` as inspector `id`'s key under the pinned organisation key. */
export function verifyInspectorKey(orgPublicKey, id, publicKey, signature) {
  return verify(orgPublicKey, inspectorKeyMessage(id, publicKey), signature);
}

/** Whether `signature` certifies `publicKey` as the recovery key under the pinned organisation key. */
export function verifyRecoveryKey(orgPublicKey, publicKey, signature) {
  return verify(orgPublicKey, recoveryKeyMessage(publicKey), signature);
}

// ---------------------------------------------------------------- authenticated threads

function checkChain(chain) {
  if (!CHAINS.includes(chain)) throw new ShapeError('A chain is "thread" or "notes".');
  return chain;
}

function checkSeq(seq) {
  const valid = typeof seq === "bigint" ? seq >= 1n && seq < MAX_SEQ : Number.isSafeInteger(seq) && seq >= 1;
  if (!valid) throw new ShapeError("A link's seq is an integer from 1 to 2^63 - 1.");
  return seq;
}

/** 32 fresh random bytes: a report's thread secret, which only its readers learn. */
export function newThreadSecret() {
  return sodium().randombytes_buf(32);
}

/** `hash(frame("integrity/v2/thread-auth", chain), key = threadSecret)`. */
export function authKey(threadSecret, chain) {
  return hash(frame(CONTEXT.threadAuth, checkChain(chain)), checkLength(threadSecret, 32, "thread secret"));
}

/** `hash(frame("integrity/v2/thread-root", chain, hash(reportPayload)))`: the `prev` of seq 1. */
export function threadRoot(chain, reportPayload) {
  return hash(frame(CONTEXT.threadRoot, checkChain(chain), hash(toBytes(reportPayload, "report payload"))));
}

/**
 * `frame("integrity/v2/link", chain, le64(seq), role, utf8(sender), prev, hash(payload))` of a
 * message `{seq, role, sender, prev, payload}`; ShapeError (or TypeError) when a field is malformed.
 */
export function linkInput(chain, message) {
  if (!isObject(message)) throw new ShapeError("A link is an object.");
  const { seq, role, sender } = message;
  if (!ROLES.includes(role)) throw new ShapeError('A link\'s role is "reporter" or "inspector".');
  if (typeof sender !== "string" || (role === "reporter") !== (sender === "")) {
    throw new ShapeError("A link's sender is empty for the reporter and an inspector's id otherwise.");
  }
  // A payload replaced by a reader: the link covers the hash of the payload first sent.
  const digest = message.payloadHash === undefined || message.payloadHash === null
    ? hash(toBytes(message.payload, "payload")) : checkLength(message.payloadHash, HASH_BYTES, "payload hash");
  return frame(CONTEXT.link, checkChain(chain), le64(checkSeq(seq)), role, sender,
    checkLength(message.prev, HASH_BYTES, "prev"), digest);
}

/**
 * `frame("integrity/v2/replacement", chain, le64(seq), payloadHash, hash(replacement), replacedBy)`:
 * a reader replaced (redacted or deleted) the payload whose hash the link at `seq` covers.
 */
export function replacementInput(chain, seq, payloadHash, replacement, replacedBy) {
  if (typeof replacedBy !== "string" || !replacedBy) throw new ShapeError("A replacement names the inspector who made it.");
  return frame(CONTEXT.replacement, checkChain(chain), le64(checkSeq(seq)),
    checkLength(payloadHash, HASH_BYTES, "payload hash"), hash(toBytes(replacement, "replacement")), replacedBy);
}

/** `hash(replacementInput, key = authKey(threadSecret, chain))`: the authenticator of a replacement. */
export function replacementAuth(threadSecret, chain, seq, payloadHash, replacement, replacedBy) {
  return hash(replacementInput(chain, seq, payloadHash, replacement, replacedBy), authKey(threadSecret, chain));
}

/** The hash a message's link covers: of its payload, or the one kept when it was replaced. */
export function payloadDigest(message) {
  return message.payloadHash ? checkLength(message.payloadHash, HASH_BYTES, "payload hash")
    : hash(toBytes(message.payload, "payload"));
}

/** Whether a listed message was never replaced, or replaced by a reader of the thread. */
function replacementHolds(key, chain, message) {
  if (message.payloadHash === undefined || message.payloadHash === null) return true;
  const expected = hash(replacementInput(chain, message.seq, message.payloadHash, message.payload, message.replacedBy), key);
  return sameBytes(expected, checkLength(message.replacementAuth, HASH_BYTES, "replacement auth"));
}

/** `hash(linkInput, key = authKey)`: the authenticator of a link input. */
export function linkAuth(key, input) {
  return hash(toBytes(input, "link input"), checkLength(key, HASH_BYTES, "authentication key"));
}

/** `hash(frame("integrity/v2/link-hash", linkInput, auth))` of a message `{seq, role, sender, prev, payload, auth}`. */
export function linkHash(chain, message) {
  return hash(frame(CONTEXT.linkHash, linkInput(chain, message), checkLength(message.auth, HASH_BYTES, "auth")));
}

/**
 * The message `{seq, role, sender, prev, payload, auth}` that follows `previous` (the chain's last
 * message, or null for the first) in `chain` of the report whose payload is `reportPayload`.
 */
export function nextLink(threadSecret, chain, reportPayload, previous, role, sender, payload) {
  const seq = previous ? checkSeq(previous.seq) + (typeof previous.seq === "bigint" ? 1n : 1) : 1;
  const prev = previous ? linkHash(chain, previous) : threadRoot(chain, reportPayload);
  const message = { seq, role, sender, prev, payload: toBytes(payload, "payload") };
  return { ...message, auth: linkAuth(authKey(threadSecret, chain), linkInput(chain, message)) };
}

/** Whether a check of checkLinks has no mark: authentic, and not replayed, conflicting, after a gap or out of order. */
export function intact(check) {
  return check.authentic && !check.replayed && !check.conflicting && !check.missing_before && !check.out_of_order;
}

/**
 * Judge a chain's messages in the order the server listed them: for each, `{seq, authentic,
 * replayed, conflicting, missing_before, out_of_order}` (the vectors' field names). A malformed
 * message is not authentic; it never throws for one.
 */
export function checkLinks(threadSecret, chain, reportPayload, messages) {
  const key = authKey(threadSecret, chain);
  const root = threadRoot(chain, reportPayload);
  const checks = [];
  const hashes = []; // link hash of each authentic message
  for (const message of messages) {
    const check = {
      seq: message?.seq, authentic: false, replayed: false, conflicting: false, missing_before: false,
      out_of_order: false,
    };
    try {
      const input = linkInput(chain, message);
      const auth = checkLength(message.auth, HASH_BYTES, "auth");
      check.authentic = sameBytes(linkAuth(key, input), auth) // sodium_memcmp: constant time
        && replacementHolds(key, chain, message);
      if (check.authentic) hashes[checks.length] = hash(frame(CONTEXT.linkHash, input, auth));
    } catch (err) {
      if (!(err instanceof CryptoError || err instanceof TypeError || err instanceof RangeError)) throw err;
    }
    checks.push(check);
  }
  // The first authentic message listed at each seq is kept; later ones replay or conflict with it.
  const kept = new Map(); // seq (as BigInt) -> index
  checks.forEach((check, index) => {
    if (!check.authentic) return;
    const seq = BigInt(check.seq);
    if (!kept.has(seq)) {
      kept.set(seq, index);
    } else if (sameBytes(hashes[kept.get(seq)], hashes[index])) {
      check.replayed = true;
    } else {
      check.conflicting = true;
    }
  });
  // Walk the kept messages by seq from the root; a break in seq or prev marks a gap before.
  let expectedSeq = 1n;
  let expectedPrev = root;
  for (const [seq, index] of [...kept.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (seq !== expectedSeq || !sameBytes(toBytes(messages[index].prev), expectedPrev)) {
      checks[index].missing_before = true;
    }
    expectedSeq = seq + 1n;
    expectedPrev = hashes[index];
  }
  // Out of order: listed after a kept message with a higher seq.
  let highest = 0n;
  for (const index of [...kept.values()].sort((a, b) => a - b)) {
    const seq = BigInt(checks[index].seq);
    if (seq < highest) checks[index].out_of_order = true;
    if (seq > highest) highest = seq;
  }
  return checks;
}

// ---------------------------------------------------------------- documents

function b64field(value, what) {
  try {
    return b64decode(value, HASH_BYTES, what);
  } catch (err) {
    if (err instanceof EncodingError) throw new ShapeError(err.message);
    throw err;
  }
}

function optionalText(value, what) {
  if (value !== null && typeof value !== "string") throw new ShapeError(`The ${what} is neither text nor null.`);
  return value;
}

/**
 * The protocol 2 report document: `answers`, `attachments` and `language` as in protocol 1, then
 * `thread` (`threadSecret`, `reporterPublicKey`), `route` (`{channel, category, orgUnit}`), the
 * `readers` it is sealed to (id → public key; a Map, object or `[id, key]` list, in that order),
 * the `excluded` ids and the `recoveryKey` (or null). Seal it with protocol.mjs's sealDocument.
 */
export function reportDocument({
  answers, attachments = [], language = null, threadSecret, reporterPublicKey, route, readers, excluded = [],
  recoveryKey = null, minutes = null,
}) {
  const document = { protocol: PROTOCOL, answers, attachments };
  if (language !== null && language !== undefined) document.language = language;
  // An oral report recorded by an inspector: its minutes or transcript (docs/protocol.md).
  if (minutes !== null && minutes !== undefined) document.minutes = minutes;
  document.thread = {
    secret: b64encode(checkLength(threadSecret, 32, "thread secret")),
    reporter_public_key: b64encode(checkLength(reporterPublicKey, KEY_BYTES, "reporter public key")),
  };
  if (!isObject(route) || typeof route.channel !== "string") throw new ShapeError("The route names no channel.");
  document.route = {
    channel: route.channel,
    category: optionalText(route.category ?? null, "category"),
    org_unit: optionalText(route.orgUnit ?? null, "organisational unit"),
  };
  document.readers = [...entriesOf(readers, "readers")].map(([id, publicKey]) => (
    { id: checkId(id), fingerprint: b64encode(keyHash(publicKey)) }));
  document.excluded = excluded.map(checkId);
  document.recovery = recoveryKey === null || recoveryKey === undefined ? null : b64encode(keyHash(recoveryKey));
  return document;
}

/**
 * What a reader takes from an opened protocol 2 report: `{secret, reporterPublicKey, route:
 * {channel, category, orgUnit}, readers: Map(id → key hash), excluded: [id], recovery: key hash
 * | null}`. ShapeError for a protocol 1 report or a malformed one.
 */
export function reportThread(document) {
  if (!isObject(document) || document.protocol !== PROTOCOL) {
    throw new ShapeError("This is not a protocol 2 report document.");
  }
  const { thread, route, readers, excluded } = document;
  if (!isObject(thread)) throw new ShapeError("The report's thread is missing.");
  if (!isObject(route) || typeof route.channel !== "string") throw new ShapeError("The report's route is missing.");
  if (!Array.isArray(readers)) throw new ShapeError("The report's readers are missing.");
  if (!Array.isArray(excluded) || !excluded.every((id) => typeof id === "string")) {
    throw new ShapeError("The report's excluded readers are missing.");
  }
  const recorded = new Map();
  for (const reader of readers) {
    if (!isObject(reader) || typeof reader.id !== "string") throw new ShapeError("A reader has no id.");
    if (recorded.has(reader.id)) throw new ShapeError("A reader is listed twice.");
    recorded.set(reader.id, b64field(reader.fingerprint, "reader's fingerprint"));
  }
  const recovery = document.recovery ?? null;
  return {
    secret: b64field(thread.secret, "thread secret"),
    reporterPublicKey: b64field(thread.reporter_public_key, "reporter public key"),
    route: {
      channel: route.channel,
      category: optionalText(route.category, "category"),
      orgUnit: optionalText(route.org_unit, "organisational unit"),
    },
    readers: recorded,
    excluded: [...excluded],
    recovery: recovery === null ? null : b64field(recovery, "recovery fingerprint"),
  };
}

/** A protocol 2 message (or note) document: `{"protocol": 2, "text": …, "attachments": […]}`. */
export function messageDocument(text, attachments = []) {
  return { protocol: PROTOCOL, text, attachments };
}

/** The share message that adds inspector `id`, whose key the case was re-sealed to. */
export function shareDocument(id, publicKey) {
  return {
    protocol: PROTOCOL, text: "", attachments: [],
    share: { id: checkId(id), fingerprint: b64encode(keyHash(publicKey)) },
  };
}

/** `{id, keyHash}` of the inspector a share message adds; null for another message; ShapeError if malformed. */
export function sharedReader(document) {
  if (!isObject(document) || document.protocol !== PROTOCOL) {
    throw new ShapeError("This is not a protocol 2 message document.");
  }
  if (!("share" in document)) return null;
  const { share } = document;
  if (!isObject(share) || typeof share.id !== "string") throw new ShapeError("The share names no reader.");
  return { id: share.id, keyHash: b64field(share.fingerprint, "shared reader's fingerprint") };
}

// ---------------------------------------------------------------- visible readers

/**
 * The differences `[{kind, reader, alarm}]` between who can read the case now and the report's
 * record: `thread` from reportThread, `current` readers (id → public key, certificates already
 * verified), `shares` (id → key hash, from intact share messages), the current `recoveryKey` or
 * null, and the ids of `uncertified` current readers (their certificate does not verify).
 * Sorted by reader id, then kind; `alarm` marks the differences that mean tampering.
 */
export function readerChanges(thread, current, shares, recoveryKey, uncertified = []) {
  const now = entriesOf(current, "current readers");
  const shared = entriesOf(shares, "shares");
  const excluded = new Set(thread.excluded);
  const notCertified = new Set(uncertified);
  const changes = [];
  const change = (kind, reader, alarm) => changes.push({ kind, reader, alarm });
  for (const id of notCertified) change("uncertified", id, true);
  for (const [id, publicKey] of now) {
    if (notCertified.has(id)) continue;
    const hashNow = keyHash(publicKey);
    const share = shared.has(id) ? toBytes(shared.get(id), "share's key hash") : null;
    if (excluded.has(id)) {
      change("excluded_reader", id, true);
    } else if (thread.readers.has(id) && sameBytes(thread.readers.get(id), hashNow)) {
      // as recorded
    } else if (share !== null && sameBytes(share, hashNow)) {
      change("shared", id, false);
    } else if (thread.readers.has(id) || share !== null) {
      change("key_changed", id, true);
    } else {
      change("unrecorded", id, true);
    }
  }
  for (const id of thread.readers.keys()) {
    if (!now.has(id) && !notCertified.has(id)) change("removed", id, false);
  }
  const recorded = thread.recovery;
  if (recoveryKey === null || recoveryKey === undefined) {
    if (recorded !== null) change("recovery_removed", "recovery", false);
  } else if (recorded === null) {
    change("recovery_added", "recovery", false);
  } else if (!sameBytes(recorded, keyHash(recoveryKey))) {
    change("recovery_changed", "recovery", false);
  }
  const order = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return changes.sort((a, b) => order(a.reader, b.reader) || order(a.kind, b.kind));
}
