// The staff keyring: one SharedWorker (static/dist/keyring.js) that every staff page of a browser
// connects to, and the only place an inspector's secret key and wrapping key live
// (docs/inspector-keys.md, "The keyring"). Pages hand it passphrases and wrapped keys and get
// back handles (the key's public half, in base64url), login values, wrapped keys and opened
// documents: never a secret key or a wrapping key. It is started with `extendedLifetime`, so it
// outlives the moment between one page and the next; where a browser has no SharedWorker the
// same script runs as a page's own worker, and keys then last for that page only.
//
// It forgets everything on `wipe` (sign-out, the sign-in page, a new split of a passphrase), after
// `idleMinutes` without a request, and when its last page has gone.
//
// Requests and answers are those of static/js/worker.mjs, with these operations:
//   ping {idleMinutes?}          -> {ready, pending, wrapping, unlocked: [handle]}; `pending`: a
//                                   sign-in waits for the server's share; `wrapping`: a wrapping
//                                   key is held
//   touch                        -> {}: the inspector is active (resets the idle time)
//   wipe                         -> {}
//   split-passphrase {passphrase, salt, opslimit, memlimit}
//                                -> {loginValue}: wipes, then keeps what the passphrase gives
//                                   towards the wrapping key until `complete`
//   complete {share, scheme, wrapped?, publicKey?}
//                                -> {wrapped}: the wrapping key completed with the server's
//                                   share; a scheme-1 key re-wrapped under it (else "")
//   unlock-passphrase {passphrase, salt, opslimit, memlimit, share?, wrapped, publicKey}
//                                -> {handle}: the same from the passphrase, on a page that finds
//                                   the keyring empty; share is null for a scheme-1 key
//   unlock {wrapped, publicKey}  -> {handle}; LockedError when no wrapping key is held
//   key-file {text, passphrase?, expect?, keep?}
//                                -> {publicKey, handle}: an offline key file's key, kept when
//                                   its public key is `expect` (or no `expect` is given) unless
//                                   `keep` is false; handle is null when not kept
//   new-key                      -> {publicKey, wrapped}: a fresh pair, kept, its secret wrapped
//   change-passphrase {current, fresh, salt, newSalt, opslimit, memlimit, share?, scheme,
//                      wrapped?, publicKey?}
//                                -> {current, fresh, wrapped}: both login values and the key
//                                   wrapped anew; DecryptionError if `current` does not open it
//   open-document, reseal, p2-judge, p2-seal-message, p2-replacement  with {keyHandle} in place of {secretKey}
//   open-stream, seal, seal-document, p2-certify      as in static/js/worker.mjs

import { KEY_BYTES, SALT_BYTES, ShapeError, b64decode, b64encode, generateKeyPair } from "./protocol.mjs";
import {
  deriveStaffKeys, loginValue, readKeyFile, sharedWrappingKey, unwrapPrivateKey, wrapPrivateKey,
} from "./staff-keys.mjs";
import { KEYRING_NAME, LockedError } from "./worker-client.mjs";
import { OPERATIONS as WORKER_OPERATIONS, handleRequest } from "./worker.mjs";

const MINUTE = 60 * 1000;
const DEFAULT_IDLE_MINUTES = 30;

function bytes(value, what, length) {
  if (typeof value === "string") return b64decode(value, length, what);
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new ShapeError(`The ${what} must be ${length} bytes.`);
  }
  return value;
}

function text(value, what) {
  if (typeof value !== "string") throw new ShapeError(`The ${what} must be text.`);
  return value;
}

/** What one browser holds for its signed-in inspector, and for how long. */
export class Keyring {
  /** `now`, `setTimer` and `clearTimer` replace the clock (for tests). */
  constructor({
    now = () => Date.now(), setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (id) => clearTimeout(id),
  } = {}) {
    this.now = now;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.idleMs = DEFAULT_IDLE_MINUTES * MINUTE;
    this.lastUse = null;
    this.timer = null;
    this.base = null; // what the passphrase gives, until the server's share completes it
    this.wrappingKey = null;
    this.keys = new Map(); // handle (b64 public key) -> secret key
  }

  /** Forget everything, overwriting the bytes first. */
  wipe() {
    for (const key of [this.base, this.wrappingKey, ...this.keys.values()]) key?.fill(0);
    this.base = null;
    this.wrappingKey = null;
    this.keys.clear();
  }

  /** Use the idle time a page gives (the server's, in minutes), if it is a sensible one. */
  configure(idleMinutes) {
    if (Number.isSafeInteger(idleMinutes) && idleMinutes > 0) this.idleMs = idleMinutes * MINUTE;
  }

  /** A request arrived: wipe first if the keyring sat idle too long, then count the time again. */
  touch() {
    const now = this.now();
    if (this.lastUse !== null && now - this.lastUse >= this.idleMs) this.wipe();
    this.lastUse = now;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.wipe();
    }, this.idleMs);
  }

  status() {
    return { pending: this.base !== null, wrapping: this.wrappingKey !== null, unlocked: [...this.keys.keys()] };
  }

  /** The secret key behind `handle`; LockedError when there is none (never unlocked, or wiped). */
  secretKey(handle) {
    const key = typeof handle === "string" ? this.keys.get(handle) : undefined;
    if (!key) throw new LockedError("Nothing is unlocked in this browser for that key.");
    return key;
  }

  keep(publicKey, secretKey) {
    const handle = b64encode(publicKey);
    this.keys.get(handle)?.fill(0);
    this.keys.set(handle, secretKey);
    return handle;
  }

  /** Split a passphrase (sign-in, first passphrase): the login value goes back, the rest stays. */
  splitPassphrase({ passphrase, salt, opslimit, memlimit }) {
    this.wipe();
    const keys = deriveStaffKeys(text(passphrase, "passphrase"), bytes(salt, "salt", SALT_BYTES), opslimit, memlimit);
    const value = loginValue(keys);
    keys.authValue.fill(0);
    this.base = keys.wrappingKey;
    return { loginValue: value };
  }

  /** Complete the wrapping key with the server's share; re-wrap a scheme-1 key under it. */
  complete({ share, scheme, wrapped, publicKey }) {
    if (this.base === null) throw new LockedError("No sign-in waits for the server's share in this browser.");
    const base = this.base;
    this.base = null;
    try {
      const wrappingKey = sharedWrappingKey(base, bytes(share, "share", KEY_BYTES));
      let rewrapped = "";
      if (scheme === 1 && wrapped) {
        const key = bytes(publicKey, "public key", KEY_BYTES);
        const secretKey = unwrapPrivateKey(b64decode(text(wrapped, "wrapped key")), base, key);
        const fresh = wrapPrivateKey(secretKey, wrappingKey);
        unwrapPrivateKey(fresh, wrappingKey, key).fill(0); // it opens again before it is given
        this.keep(key, secretKey);
        rewrapped = b64encode(fresh);
      }
      this.wrappingKey?.fill(0);
      this.wrappingKey = wrappingKey;
      return { wrapped: rewrapped };
    } finally {
      base.fill(0);
    }
  }

  /** On a page that finds nothing unlocked: the wrapping key from the passphrase, then the key. */
  unlockWithPassphrase({ passphrase, salt, opslimit, memlimit, share, wrapped, publicKey }) {
    const keys = deriveStaffKeys(text(passphrase, "passphrase"), bytes(salt, "salt", SALT_BYTES), opslimit, memlimit);
    keys.authValue.fill(0);
    const wrappingKey = share ? sharedWrappingKey(keys.wrappingKey, bytes(share, "share", KEY_BYTES)) : keys.wrappingKey;
    if (wrappingKey !== keys.wrappingKey) keys.wrappingKey.fill(0);
    try {
      const key = bytes(publicKey, "public key", KEY_BYTES);
      const secretKey = unwrapPrivateKey(b64decode(text(wrapped, "wrapped key")), wrappingKey, key);
      this.wrappingKey?.fill(0);
      this.wrappingKey = wrappingKey;
      return { handle: this.keep(key, secretKey) };
    } catch (err) {
      wrappingKey.fill(0);
      throw err;
    }
  }

  /** The handle of the key wrapped in `wrapped`, unwrapping it with the wrapping key if need be. */
  unlock({ wrapped, publicKey }) {
    const key = bytes(publicKey, "public key", KEY_BYTES);
    const handle = b64encode(key);
    if (this.keys.has(handle)) return { handle };
    if (this.wrappingKey === null) throw new LockedError("This browser holds no unlocked key.");
    return { handle: this.keep(key, unwrapPrivateKey(b64decode(text(wrapped, "wrapped key")), this.wrappingKey, key)) };
  }

  /** An offline key file's pair: kept when it is the expected key; the page learns its public half. */
  keyFile({ text: fileText, passphrase, expect, keep = true }) {
    const pair = readKeyFile(text(fileText, "key file"), typeof passphrase === "string" ? passphrase : null);
    const publicKey = b64encode(pair.publicKey);
    if ((expect && expect !== publicKey) || keep === false) {
      pair.secretKey.fill(0);
      return { publicKey, handle: null };
    }
    return { publicKey, handle: this.keep(pair.publicKey, pair.secretKey) };
  }

  /** A fresh pair made here: kept, and its secret half wrapped for the server. */
  newKey() {
    if (this.wrappingKey === null) throw new LockedError("This browser holds no wrapping key.");
    const pair = generateKeyPair();
    const wrapped = b64encode(wrapPrivateKey(pair.secretKey, this.wrappingKey));
    this.keep(pair.publicKey, pair.secretKey);
    return { publicKey: b64encode(pair.publicKey), wrapped };
  }

  /** Both passphrases split, the key (if any) re-wrapped under the new one, which is kept. */
  changePassphrase({ current, fresh, salt, newSalt, opslimit, memlimit, share, scheme, wrapped, publicKey }) {
    const before = deriveStaffKeys(text(current, "passphrase"), bytes(salt, "salt", SALT_BYTES), opslimit, memlimit);
    const after = deriveStaffKeys(text(fresh, "passphrase"), bytes(newSalt, "salt", SALT_BYTES), opslimit, memlimit);
    const complete = (keys) => (share ? sharedWrappingKey(keys.wrappingKey, bytes(share, "share", KEY_BYTES)) : keys.wrappingKey);
    const newKey = complete(after);
    const oldKey = scheme === 1 ? before.wrappingKey : complete(before);
    try {
      let rewrapped = "";
      if (wrapped) {
        const key = bytes(publicKey, "public key", KEY_BYTES);
        const secretKey = unwrapPrivateKey(b64decode(text(wrapped, "wrapped key")), oldKey, key);
        const again = wrapPrivateKey(secretKey, newKey);
        unwrapPrivateKey(again, newKey, key).fill(0);
        this.keep(key, secretKey);
        rewrapped = b64encode(again);
      }
      const result = { current: loginValue(before), fresh: loginValue(after), wrapped: rewrapped };
      this.wrappingKey?.fill(0);
      this.wrappingKey = newKey.slice();
      return result;
    } finally {
      for (const value of [before.authValue, before.wrappingKey, after.authValue, after.wrappingKey, oldKey, newKey]) {
        value.fill(0);
      }
    }
  }
}

/** The operations of `keyring`, in the form handleRequest takes. */
export function keyringOperations(keyring) {
  const answer = (method) => (request) => [method.call(keyring, request), []];
  // A worker operation that needs a secret key gets a copy of the one behind `keyHandle`.
  const withKey = (name) => async (request, progress) => {
    const secretKey = keyring.secretKey(request.keyHandle).slice();
    try {
      return await WORKER_OPERATIONS[name]({ ...request, secretKey }, progress);
    } finally {
      secretKey.fill(0);
    }
  };
  return {
    ping(request) {
      keyring.configure(request.idleMinutes);
      return [{ ready: true, ...keyring.status() }, []];
    },
    touch: () => [{}, []],
    wipe() {
      keyring.wipe();
      return [{}, []];
    },
    "split-passphrase": answer(keyring.splitPassphrase),
    complete: answer(keyring.complete),
    "unlock-passphrase": answer(keyring.unlockWithPassphrase),
    unlock: answer(keyring.unlock),
    "key-file": answer(keyring.keyFile),
    "new-key": answer(keyring.newKey),
    "change-passphrase": answer(keyring.changePassphrase),
    "open-document": withKey("open-document"),
    reseal: withKey("reseal"),
    "p2-judge": withKey("p2-judge"),
    "p2-seal-message": withKey("p2-seal-message"),
    "p2-replacement": withKey("p2-replacement"),
    "open-stream": WORKER_OPERATIONS["open-stream"],
    seal: WORKER_OPERATIONS.seal,
    "seal-document": WORKER_OPERATIONS["seal-document"],
    "p2-certify": WORKER_OPERATIONS["p2-certify"],
  };
}

/** Serve one connection (a SharedWorker port, or a page's own worker). */
export function serve(keyring, operations, endpoint) {
  endpoint.onmessage = (event) => {
    keyring.touch();
    handleRequest(event.data, (message, transfer) => endpoint.postMessage(message, transfer), operations);
  };
}

// Only inside the keyring worker: importing this module elsewhere (the tests) installs nothing.
if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope && self.name === KEYRING_NAME) {
  const keyring = new Keyring();
  const operations = keyringOperations(keyring);
  if (typeof SharedWorkerGlobalScope !== "undefined" && self instanceof SharedWorkerGlobalScope) {
    self.onconnect = (event) => serve(keyring, operations, event.ports[0]);
  } else {
    serve(keyring, operations, self);
  }
}
