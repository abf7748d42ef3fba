// Inspector sign-in and key wrapping from one passphrase (docs/inspector-keys.md), on
// libsodium-wrappers-sumo. It mirrors crypto/staff_keys.py function for function (camelCase
// names), and both are tested against tests/vectors/staff-keys-v1.json. Call `await ready()`
// (the one of protocol.mjs, re-exported here) before anything else. Pages reach these functions
// through the worker (static/js/worker.mjs), so Argon2id never runs on the main thread.

import _sodium from "libsodium-wrappers-sumo";

import { frame } from "./protocol2.mjs";
import {
  CryptoError, DecryptionError, KEY_BYTES, KeyFileError, MAC_BYTES, NONCE_BYTES, SALT_BYTES, ShapeError,
  b64decode, b64encode, keyFileData, loadKeyFile, ready, toBytes,
} from "./protocol.mjs";

export { KEY_BYTES, MAC_BYTES, NONCE_BYTES, SALT_BYTES, ready };
export const WRAPPED_BYTES = NONCE_BYTES + MAC_BYTES + KEY_BYTES; // 72
const textEncoder = new TextEncoder();
export const LOGIN_CONTEXT = textEncoder.encode("integrity/v1/staff-login");
export const WRAP_CONTEXT = textEncoder.encode("integrity/v1/staff-wrap");
export const SHARE_CONTEXT = textEncoder.encode("integrity/v2/wrap-share");
export const WRAP_V2_CONTEXT = textEncoder.encode("integrity/v2/staff-wrap");
export const PEPPER_KEY_CONTEXT = textEncoder.encode("integrity/v2/login-pepper-key");
export const PEPPER_CONTEXT = textEncoder.encode("integrity/v2/login-pepper");

function sodium() {
  // The functions below appear on the module object once its WebAssembly has loaded.
  if (typeof _sodium.crypto_pwhash !== "function") {
    throw new CryptoError("The protocol module is not ready: await ready() first.");
  }
  return _sodium;
}

function checkLength(value, length, what) {
  const bytes = toBytes(value, what);
  if (bytes.length !== length) throw new ShapeError(`The ${what} must be ${length} bytes.`);
  return bytes;
}

/** `utf8(NFKC(passphrase))`: the same passphrase typed on any keyboard gives these bytes. */
export function normalisePassphrase(passphrase) {
  if (typeof passphrase !== "string") throw new TypeError("The passphrase must be text.");
  return textEncoder.encode(passphrase.normalize("NFKC"));
}

/** `crypto_pwhash(32, utf8(NFKC(passphrase)), salt, opslimit, memlimit, ARGON2ID13)`. */
export function deriveStaffMaster(passphrase, salt, opslimit, memlimit) {
  const s = sodium();
  const bytes = normalisePassphrase(passphrase);
  try {
    return s.crypto_pwhash(KEY_BYTES, bytes, checkLength(salt, SALT_BYTES, "salt"), opslimit, memlimit,
      s.crypto_pwhash_ALG_ARGON2ID13);
  } finally {
    bytes.fill(0);
  }
}

/** The two independent values `{authValue, wrappingKey}` that follow from the master, one keyed hash each. */
export function staffKeysFromMaster(master) {
  const key = checkLength(master, KEY_BYTES, "master key");
  const s = sodium();
  return {
    authValue: s.crypto_generichash(KEY_BYTES, LOGIN_CONTEXT, key),
    wrappingKey: s.crypto_generichash(KEY_BYTES, WRAP_CONTEXT, key),
  };
}

/** The sign-in value and the wrapping key `{authValue, wrappingKey}` of `passphrase` under the inspector's salt. */
export function deriveStaffKeys(passphrase, salt, opslimit, memlimit) {
  const master = deriveStaffMaster(passphrase, salt, opslimit, memlimit);
  try {
    return staffKeysFromMaster(master);
  } finally {
    master.fill(0); // only the two derived values leave this function
  }
}

/** What the sign-in form sends in place of the passphrase: `b64(authValue)`. */
export function loginValue(keys) {
  return b64encode(checkLength(keys?.authValue, KEY_BYTES, "authentication value"));
}

/** A fresh per-inspector salt (16 random bytes), drawn when the passphrase is set. */
export function newStaffSalt() {
  return sodium().randombytes_buf(SALT_BYTES);
}

/** `nonce || crypto_secretbox_easy(secretKey, nonce, wrappingKey)`: 72 bytes, with a random nonce by default. */
export function wrapPrivateKey(secretKey, wrappingKey, nonce = null) {
  const s = sodium();
  const sk = checkLength(secretKey, KEY_BYTES, "secret key");
  const key = checkLength(wrappingKey, KEY_BYTES, "wrapping key");
  const n = nonce === null || nonce === undefined ? s.randombytes_buf(NONCE_BYTES) : checkLength(nonce, NONCE_BYTES, "nonce");
  const box = s.crypto_secretbox_easy(sk, n, key);
  const wrapped = new Uint8Array(WRAPPED_BYTES);
  wrapped.set(n);
  wrapped.set(box, NONCE_BYTES);
  return wrapped;
}

/** The secret key in `wrapped`; checked against `expectedPublicKey` when given (DecryptionError if not its key). */
export function unwrapPrivateKey(wrapped, wrappingKey, expectedPublicKey = null) {
  const s = sodium();
  const data = checkLength(wrapped, WRAPPED_BYTES, "wrapped private key");
  const key = checkLength(wrappingKey, KEY_BYTES, "wrapping key");
  let secretKey;
  try {
    secretKey = s.crypto_secretbox_open_easy(data.subarray(NONCE_BYTES), data.subarray(0, NONCE_BYTES), key);
  } catch {
    throw new DecryptionError("The passphrase does not unlock this key.");
  }
  if (expectedPublicKey !== null && expectedPublicKey !== undefined) {
    const expected = checkLength(expectedPublicKey, KEY_BYTES, "public key");
    if (!s.memcmp(s.crypto_scalarmult_base(secretKey), expected)) {
      secretKey.fill(0);
      throw new DecryptionError("The unwrapped key does not belong to this public key.");
    }
  }
  return secretKey;
}

/** The same private key wrapped under a new passphrase's key, for a passphrase change. */
export function rewrapPrivateKey(wrapped, oldWrappingKey, newWrappingKey, expectedPublicKey = null) {
  const secretKey = unwrapPrivateKey(wrapped, oldWrappingKey, expectedPublicKey);
  try {
    return wrapPrivateKey(secretKey, newWrappingKey);
  } finally {
    secretKey.fill(0);
  }
}

// Scheme 2 (docs/inspector-keys.md#scheme-2): the browser needs only shared_wrapping_key; the
// server-side values are here too so that both sides are tested against the same vectors.

/** The scheme-2 wrapping key: `hash(frame("integrity/v2/staff-wrap", share), key = wrappingKey)`. */
export function sharedWrappingKey(wrappingKey, share) {
  const key = checkLength(wrappingKey, KEY_BYTES, "wrapping key");
  const part = checkLength(share, KEY_BYTES, "share");
  return sodium().crypto_generichash(KEY_BYTES, frame(WRAP_V2_CONTEXT, part), key);
}

/** The server's share: `hash(frame("integrity/v2/wrap-share", ascii(userId)), key = installationSecret)`. */
export function wrapShare(installationSecret, userId) {
  if (!Number.isSafeInteger(userId) || userId < 0) throw new ShapeError("The user id must be a whole number.");
  const secret = toBytes(installationSecret, "installation secret");
  return sodium().crypto_generichash(KEY_BYTES, frame(SHARE_CONTEXT, textEncoder.encode(String(userId))), secret);
}

/** `hash(frame("integrity/v2/login-pepper-key"), key = installationSecret)`. */
export function loginPepperKey(installationSecret) {
  return sodium().crypto_generichash(KEY_BYTES, frame(PEPPER_KEY_CONTEXT), toBytes(installationSecret, "installation secret"));
}

/** `hash(frame("integrity/v2/login-pepper", authValue), key = pepperKey)`: what the server's hash covers. */
export function pepperedAuthValue(authValue, pepperKey) {
  const value = checkLength(authValue, KEY_BYTES, "authentication value");
  const key = checkLength(pepperKey, KEY_BYTES, "pepper key");
  return sodium().crypto_generichash(KEY_BYTES, frame(PEPPER_CONTEXT, value), key);
}

// ---------------------------------------------------------------- offline key files (crypto/keys.py)

const KEY_FILE_KDF = "argon2id13";

/** Whether the key file was written with `integrity keygen --passphrase` (version 2). */
export function keyFileNeedsPassphrase(text) {
  return "wrapped_secret_key" in keyFileData(text);
}

/**
 * Read a key file of either version, as crypto/keys.py load_key_file does: version 1 holds the
 * secret key; version 2 holds it wrapped (as an inspector's key is) under
 * crypto_pwhash(32, utf8(NFKC(passphrase)), salt, opslimit, memlimit, ARGON2ID13).
 */
export function readKeyFile(text, passphrase = null) {
  const data = keyFileData(text);
  if (!("wrapped_secret_key" in data)) return loadKeyFile(text);
  if (typeof passphrase !== "string") throw new KeyFileError("This key file is protected with a passphrase.");
  if (data.kdf !== KEY_FILE_KDF || !Number.isSafeInteger(data.opslimit) || !Number.isSafeInteger(data.memlimit)) {
    throw new KeyFileError("This key file's protection is not one this system knows.");
  }
  const publicKey = b64decode(data.public_key, KEY_BYTES, "public key");
  const key = deriveStaffMaster(passphrase, b64decode(data.salt, SALT_BYTES, "salt"), data.opslimit, data.memlimit);
  try {
    const secretKey = unwrapPrivateKey(b64decode(data.wrapped_secret_key, WRAPPED_BYTES, "wrapped secret key"),
      key, publicKey);
    return { publicKey, secretKey };
  } catch (err) {
    if (err instanceof DecryptionError) throw new KeyFileError("The passphrase does not open this key file.");
    throw err;
  } finally {
    key.fill(0);
  }
}
