// The part of the reporting protocol that needs no libsodium: errors, base64url, receipt text,
// stream lengths, and the client of the worker (static/js/worker.mjs) that does the cryptography.
// Page bundles import this module only, so libsodium is loaded once per page, in the worker.
// static/js/protocol.mjs re-exports everything here.

// ---------------------------------------------------------------- errors (crypto/errors.py)

/** Base of every error this library raises. */
export class CryptoError extends Error {}
/** A value is not canonical base64url without padding, or not the expected length. */
export class EncodingError extends CryptoError {}
/** A receipt is not exactly 20 digits. */
export class ReceiptError extends CryptoError {}
/** A payload, key slot or stream does not have the shape the protocol requires. */
export class ShapeError extends CryptoError {}
/** Ciphertext did not open with the key given (wrong key, or tampered data). */
export class DecryptionError extends CryptoError {}
/** A key file cannot be read as one of the project's key files. */
export class KeyFileError extends CryptoError {}
/** Well formed, but larger than the limit in force. */
export class TooLargeError extends ShapeError {}
/** The keyring holds no key for that handle (nothing unlocked yet, or wiped since). */
export class LockedError extends CryptoError {}

/** The error classes by name, to rebuild an error that crossed postMessage as `{name, message}`. */
export const ERROR_CLASSES = {
  CryptoError, EncodingError, ReceiptError, ShapeError, DecryptionError, KeyFileError, TooLargeError, LockedError,
};
// Set on the prototype rather than from the constructor's name, which minifying renames.
for (const [name, cls] of Object.entries(ERROR_CLASSES)) {
  Object.defineProperty(cls.prototype, "name", { value: name, writable: true, configurable: true });
}

// ---------------------------------------------------------------- bytes

/** A Uint8Array view of bytes (Uint8Array, ArrayBuffer or another view); TypeError otherwise. */
export function toBytes(data, what = "value") {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`The ${what} must be bytes (a Uint8Array).`);
}

// ---------------------------------------------------------------- encoding (crypto/encoding.py)

const B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64_VALUES = new Map([...B64_ALPHABET].map((ch, i) => [ch, i]));
const B64_TEXT = /^[A-Za-z0-9_-]*$/;

/** Encode bytes as base64url with no `=` padding. */
export function b64encode(bytes) {
  const data = toBytes(bytes);
  const out = [];
  for (let i = 0; i < data.length; i += 3) {
    const left = data.length - i;
    const n = (data[i] << 16) | ((left > 1 ? data[i + 1] : 0) << 8) | (left > 2 ? data[i + 2] : 0);
    out.push(B64_ALPHABET[(n >> 18) & 63], B64_ALPHABET[(n >> 12) & 63]);
    if (left > 1) out.push(B64_ALPHABET[(n >> 6) & 63]);
    if (left > 2) out.push(B64_ALPHABET[n & 63]);
  }
  return out.join("");
}

/** Decode canonical unpadded base64url, optionally requiring `length` bytes; else EncodingError. */
export function b64decode(text, length = null, what = "value") {
  if (typeof text !== "string" || !B64_TEXT.test(text) || text.length % 4 === 1) {
    throw new EncodingError(`The ${what} is not base64url without padding.`);
  }
  const data = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (const ch of text) {
    acc = ((acc << 6) | B64_VALUES.get(ch)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      data[j++] = (acc >> bits) & 0xff;
    }
  }
  if (b64encode(data) !== text) {
    // Stray low bits in the last character: another text for the same bytes.
    throw new EncodingError(`The ${what} is not canonical base64url.`);
  }
  if (length !== null && length !== undefined && data.length !== length) {
    throw new EncodingError(`The ${what} must be ${length} bytes.`);
  }
  return data;
}

// ---------------------------------------------------------------- receipt text (crypto/receipt.py)

export const RECEIPT_DIGITS = 20;

/** Remove every non-digit; refuse (ReceiptError) anything but exactly 20 digits. */
export function normaliseReceipt(text) {
  let digits = "";
  for (const ch of typeof text === "string" ? text : "") {
    const value = decimalValue(ch);
    if (value !== null) digits += value;
  }
  if (digits.length !== RECEIPT_DIGITS) throw new ReceiptError("A receipt has exactly 20 digits.");
  return digits;
}

const DECIMAL = /^\p{Nd}$/u;

// The value of a decimal digit of any script (Arabic-Indic, Persian, Devanagari, fullwidth…),
// as Python's unicodedata.decimal gives it: Unicode encodes each script's digits as whole
// runs of ten, 0 to 9, so the value is the distance from the start of the run of digits.
function decimalValue(ch) {
  if (ch >= "0" && ch <= "9") return ch.charCodeAt(0) - 48;
  if (!DECIMAL.test(ch)) return null;
  const cp = ch.codePointAt(0);
  let start = cp;
  while (DECIMAL.test(String.fromCodePoint(start - 1))) start -= 1;
  return (cp - start) % 10;
}

/** `12345678901234567890` as `1234 5678 9012 3456 7890`. */
export function formatReceipt(receipt) {
  return normaliseReceipt(receipt).match(/.{4}/g).join(" ");
}

// ---------------------------------------------------------------- stream lengths (crypto/stream.py)

export const HEADER_BYTES = 24;
export const CHUNK_PLAIN = 65536;
export const CHUNK_OVERHEAD = 17; // 1 tag byte + 16 MAC bytes
export const CHUNK_SEALED = CHUNK_PLAIN + CHUNK_OVERHEAD;

/** Length of the stream that seals `plainLength` bytes (at least one chunk). */
export function sealedLength(plainLength) {
  const chunks = Math.max(1, Math.ceil(plainLength / CHUNK_PLAIN));
  return HEADER_BYTES + plainLength + chunks * CHUNK_OVERHEAD;
}

/**
 * Padmé (crypto/stream.py: padme_length): `length` rounded up so that only its top
 * floor(log2 E) + 1 bits may be set, E = floor(log2 length); at most 12 % more.
 */
export function padmeLength(length) {
  if (length < 2) return length;
  const exponent = length.toString(2).length - 1;
  const step = 2 ** (exponent - exponent.toString(2).length);
  return Math.ceil(length / step) * step;
}

/** The longest plaintext whose sealed stream is at most `maxSealed` bytes (-1 if none). */
export function largestPlainLength(maxSealed) {
  const body = maxSealed - HEADER_BYTES;
  if (body < CHUNK_OVERHEAD) return -1;
  const full = Math.floor(body / CHUNK_SEALED);
  const rest = body % CHUNK_SEALED;
  return full * CHUNK_PLAIN + Math.max(0, rest - CHUNK_OVERHEAD);
}

/** How long a file of `length` bytes is made before sealing: its Padmé length, never so long
 * that the sealed stream passes `maxSealed` (when given), nor shorter than the file. */
export function paddedLength(length, maxSealed = null) {
  const padded = padmeLength(length);
  if (maxSealed === null || maxSealed === undefined) return padded;
  return Math.min(padded, Math.max(length, largestPlainLength(maxSealed)));
}

// ---------------------------------------------------------------- worker client (see worker.mjs)

/** The name of the staff keyring worker (static/js/keyring.mjs), shared by every staff page. */
export const KEYRING_NAME = "integrity-keyring";

function rebuildError(error) {
  const known = Object.prototype.hasOwnProperty.call(ERROR_CLASSES, error?.name);
  const cls = known ? ERROR_CLASSES[error.name] : Error;
  const err = new cls(error?.message ?? "The worker failed.");
  if (cls === Error && error?.name) err.name = error.name;
  return err;
}

/** Calls into static/dist/worker.js from a page: `await client.call(op, args, onProgress)`. */
export class WorkerClient {
  /** Start the worker at `url` (classic by default), or wrap a Worker-like object with postMessage. */
  constructor(urlOrWorker, options = undefined) {
    this.worker = typeof urlOrWorker === "string" || urlOrWorker instanceof URL
      ? new Worker(urlOrWorker, options)
      : urlOrWorker;
    this.pending = new Map();
    this.nextId = 1;
    this.worker.onmessage = (event) => this.receive(event.data);
    this.worker.onerror = (event) => {
      // The script failed to load or threw outside a request (for example blocked by CSP).
      this.failAll(new Error(event?.message || "The worker failed."));
    };
  }

  /** Send `{id, op, ...args}`; resolves with the result, rejects with the error rebuilt as its class. */
  call(op, args = {}, onProgress = null) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ ...args, id, op });
    });
  }

  /** Stop the worker; every call still pending is rejected. */
  terminate() {
    if (typeof this.worker.terminate === "function") this.worker.terminate();
    this.failAll(new Error("The worker was stopped."));
  }

  /** Handle one message from the worker (installed as its onmessage). */
  receive(message) {
    const call = this.pending.get(message?.id);
    if (!call) return;
    if ("progress" in message) {
      if (call.onProgress) call.onProgress(message.progress);
      return;
    }
    this.pending.delete(message.id);
    if ("error" in message) call.reject(rebuildError(message.error));
    else call.resolve(message.result);
  }

  /** Reject every pending call with `error`. */
  failAll(error) {
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(error);
  }
}

/** Reject with `message` if `promise` has not settled within `ms` milliseconds. */
export function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Start the worker script at `url` under Subresource Integrity and check that libsodium is ready.
 *
 * The script is fetched with `integrity` (when not empty: a development build has none), then
 * run from a Blob URL, so the browser refuses to run anything but the expected bytes. Resolves
 * with a WorkerClient once the worker has answered `ping`; rejects if anything fails (no
 * WebAssembly, a mismatched hash, a policy that blocks the worker, or no answer in time).
 * `env` replaces the browser's fetch, Worker and URL (for tests).
 */
export async function startWorker(url, integrity = "", { timeoutMs = 30000, env = globalThis } = {}) {
  if (typeof env.WebAssembly !== "object" || env.WebAssembly === null) {
    throw new Error("This browser has no WebAssembly.");
  }
  // The address carries the content's version (asset_url), so a kept copy is never stale.
  // Started by the page script as soon as it runs, not preloaded by the page itself: a
  // preload would cost a visitor without JavaScript the whole worker for nothing.
  const init = { credentials: "omit" };
  if (integrity) init.integrity = integrity;
  const response = await env.fetch(url, init);
  if (!response.ok) throw new Error(`The worker script could not be loaded (${response.status}).`);
  const script = await response.blob();
  const blobUrl = env.URL.createObjectURL(new Blob([script], { type: "text/javascript" }));
  let client;
  try {
    client = new WorkerClient(new env.Worker(blobUrl));
    const answer = await withTimeout(client.call("ping"), timeoutMs, "The worker did not answer in time.");
    if (!answer || answer.ready !== true) throw new Error("The worker is not ready.");
  } catch (err) {
    if (client) client.terminate();
    throw err;
  } finally {
    env.URL.revokeObjectURL(blobUrl); // the worker has loaded (or failed to) by now
  }
  return client;
}
