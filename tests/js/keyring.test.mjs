// The staff keyring (static/js/keyring.mjs) against tests/vectors/staff-keys-v2.json: what it
// keeps, what it gives back (never a secret key or a wrapping key), when it forgets, and the
// built bundle as a SharedWorker that two pages share and as a page's own worker.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import * as p from "../../static/js/protocol.mjs";
import * as s from "../../static/js/staff-keys.mjs";
import { Keyring, keyringOperations } from "../../static/js/keyring.mjs";
import { openKeyring } from "../../static/js/keyring-client.mjs";
import { KEYRING_NAME, LockedError, WorkerClient } from "../../static/js/worker-client.mjs";
import { handleRequest } from "../../static/js/worker.mjs";
import { dedicatedWorker, sharedWorker } from "./fake-scopes.mjs";

const vectors = JSON.parse(readFileSync(new URL("../vectors/staff-keys-v2.json", import.meta.url), "utf8"));
const account = vectors.accounts[0];
const files = vectors.key_files;
const b64 = (text) => p.b64decode(text);
const PAD = 1024;
const SECRETS = [account.secret_key, account.wrapping_key_v1, account.wrapping_key_v2];

/** A keyring on a clock the test moves; `timers` holds what it scheduled. */
function clocked() {
  const clock = { now: 0, timers: [] };
  const keyring = new Keyring({
    now: () => clock.now,
    setTimer: (fn, ms) => clock.timers.push({ fn, at: clock.now + ms }) - 1,
    clearTimer: (id) => { clock.timers[id] = null; },
  });
  return { clock, keyring, operations: keyringOperations(keyring) };
}

/** Every base64url text and every byte string in an answer, to look for secrets in it. */
function contents(value, found = []) {
  if (typeof value === "string") found.push(value);
  else if (value instanceof Uint8Array) found.push(p.b64encode(value));
  else if (value && typeof value === "object") for (const item of Object.values(value)) contents(item, found);
  return found;
}

function assertNoSecret(answer) {
  for (const text of contents(answer)) {
    for (const secret of SECRETS) assert.ok(!text.includes(secret), "a secret left the keyring");
  }
}

async function call(ring, op, args = {}) {
  ring.keyring.touch();
  const messages = [];
  await handleRequest(structuredClone({ ...args, id: 1, op }), (message) => messages.push(structuredClone(message)),
    ring.operations);
  const last = messages.at(-1);
  if ("error" in last) throw Object.assign(new Error(last.error.message), { name: last.error.name });
  assertNoSecret(last.result);
  return last.result;
}

const split = { passphrase: account.passphrase, salt: account.salt, opslimit: account.opslimit, memlimit: account.memlimit };

/** A document sealed to the account's public key, as a case's report is. */
function sealedToAccount(document) {
  const sealed = p.sealDocument(document, { me: b64(account.public_key) }, PAD);
  return { payload: p.b64encode(sealed.payload), slot: p.b64encode(sealed.keySlots.me), padBlock: PAD };
}

before(async () => {
  await s.ready();
});

describe("keyring", () => {
  test("sign-in: the split gives the login value and keeps the rest until the share completes it", async () => {
    const ring = clocked();
    const { loginValue } = await call(ring, "split-passphrase", split);
    assert.equal(loginValue, account.login_value);
    assert.deepEqual(await call(ring, "ping"), { ready: true, pending: true, wrapping: false, unlocked: [] });
    assert.deepEqual(await call(ring, "complete", { share: account.share, scheme: 2 }), { wrapped: "" });
    assert.deepEqual(ring.keyring.wrappingKey, b64(account.wrapping_key_v2));
    const { handle } = await call(ring, "unlock", { wrapped: account.wrapped_v2, publicKey: account.public_key });
    assert.equal(handle, account.public_key);
    assert.deepEqual(await call(ring, "ping"), { ready: true, pending: false, wrapping: true, unlocked: [handle] });
    const document = { answers: { what: "a bribe" } };
    assert.deepEqual(await call(ring, "open-document", { ...sealedToAccount(document), keyHandle: handle }), document);
    await assert.rejects(call(ring, "complete", { share: account.share, scheme: 2 }), { name: "LockedError" });
  });

  test("a scheme-1 key is re-wrapped under the completed key, checked, and kept", async () => {
    const ring = clocked();
    await call(ring, "split-passphrase", split);
    const { wrapped } = await call(ring, "complete", {
      share: account.share, scheme: 1, wrapped: account.wrapped_v1, publicKey: account.public_key,
    });
    assert.equal(p.b64encode(s.unwrapPrivateKey(b64(wrapped), b64(account.wrapping_key_v2), b64(account.public_key))),
      account.secret_key);
    assert.deepEqual((await call(ring, "ping")).unlocked, [account.public_key]);
  });

  test("nothing unlocked: LockedError for a handle, for unlock, for a new key", async () => {
    const ring = clocked();
    const sealed = sealedToAccount({ answers: {} });
    await assert.rejects(call(ring, "open-document", { ...sealed, keyHandle: account.public_key }), { name: "LockedError" });
    await assert.rejects(call(ring, "unlock", { wrapped: account.wrapped_v2, publicKey: account.public_key }),
      { name: "LockedError" });
    await assert.rejects(call(ring, "new-key"), { name: "LockedError" });
    // A secret key handed in place of a handle is not used.
    await assert.rejects(call(ring, "open-document", { ...sealed, secretKey: account.secret_key }), { name: "LockedError" });
    assert.throws(() => ring.keyring.secretKey(undefined), LockedError);
  });

  test("unlock on a page with the passphrase (and the share for a scheme-2 key); a wrong one is refused", async () => {
    const ring = clocked();
    const args = { ...split, share: account.share, wrapped: account.wrapped_v2, publicKey: account.public_key };
    await assert.rejects(call(ring, "unlock-passphrase", { ...args, passphrase: "not it" }), { name: "DecryptionError" });
    assert.equal(ring.keyring.wrappingKey, null);
    assert.deepEqual(await call(ring, "unlock-passphrase", args), { handle: account.public_key });
    const scheme1 = clocked();
    assert.deepEqual(await call(scheme1, "unlock-passphrase", { ...args, share: null, wrapped: account.wrapped_v1 }),
      { handle: account.public_key });
  });

  test("wipe, sign-in and idle time forget everything", async () => {
    const ring = clocked();
    await call(ring, "unlock-passphrase", { ...split, share: account.share, wrapped: account.wrapped_v2,
      publicKey: account.public_key });
    const held = ring.keyring.keys.get(account.public_key);
    await call(ring, "wipe");
    assert.deepEqual(await call(ring, "ping"), { ready: true, pending: false, wrapping: false, unlocked: [] });
    assert.ok(held.every((byte) => byte === 0), "the secret key's bytes are overwritten");

    await call(ring, "unlock-passphrase", { ...split, share: account.share, wrapped: account.wrapped_v2,
      publicKey: account.public_key });
    await call(ring, "split-passphrase", split); // a new sign-in
    assert.deepEqual((await call(ring, "ping")).unlocked, []);

    // Idle: 30 minutes by default, or what a page gives; a request after that finds nothing.
    await call(ring, "ping", { idleMinutes: 5 });
    await call(ring, "complete", { share: account.share, scheme: 2 });
    ring.clock.now += 4 * 60 * 1000;
    assert.equal((await call(ring, "ping")).wrapping, true);
    ring.clock.now += 5 * 60 * 1000;
    assert.equal((await call(ring, "ping")).wrapping, false);
    // And the timer wipes with no request at all.
    await call(ring, "unlock-passphrase", { ...split, share: account.share, wrapped: account.wrapped_v2,
      publicKey: account.public_key });
    const timer = ring.clock.timers.filter(Boolean).at(-1);
    assert.equal(timer.at, ring.clock.now + 5 * 60 * 1000);
    timer.fn();
    assert.deepEqual(ring.keyring.status(), { pending: false, wrapping: false, unlocked: [] });
    await call(ring, "ping", { idleMinutes: -1 }); // not a sensible time: kept as it was
    assert.equal(ring.keyring.idleMs, 5 * 60 * 1000);
  });

  test("offline key files of both versions; another account's file is not kept", async () => {
    const ring = clocked();
    assert.deepEqual(await call(ring, "key-file", { text: files.plain }), { publicKey: files.public_key, handle: files.public_key });
    const other = clocked();
    await assert.rejects(call(other, "key-file", { text: files.protected }), { name: "KeyFileError" });
    await assert.rejects(call(other, "key-file", { text: files.protected, passphrase: "wrong" }), { name: "KeyFileError" });
    assert.deepEqual(await call(other, "key-file", { text: files.protected, passphrase: files.passphrase,
      expect: "someone-else" }), { publicKey: files.public_key, handle: null });
    assert.deepEqual(other.keyring.status().unlocked, []);
    assert.deepEqual(await call(other, "key-file", { text: files.plain, keep: false }),
      { publicKey: files.public_key, handle: null });
    assert.deepEqual(other.keyring.status().unlocked, []);
    assert.deepEqual(await call(other, "key-file", { text: files.protected, passphrase: files.passphrase,
      expect: files.public_key }), { publicKey: files.public_key, handle: files.public_key });
  });

  test("a new key is made and kept here; only its public half and its wrapped secret go back", async () => {
    const ring = clocked();
    await call(ring, "split-passphrase", split);
    await call(ring, "complete", { share: account.share, scheme: 2 });
    const { publicKey, wrapped } = await call(ring, "new-key");
    const secretKey = s.unwrapPrivateKey(b64(wrapped), b64(account.wrapping_key_v2), b64(publicKey));
    assert.equal(secretKey.length, 32);
    assert.deepEqual(ring.keyring.status().unlocked, [publicKey]);
  });

  test("a passphrase change re-wraps the key under the new passphrase and keeps the new wrapping key", async () => {
    const ring = clocked();
    const newSalt = p.b64encode(new Uint8Array(16).fill(9));
    const args = { current: account.passphrase, fresh: "four unrelated words here", salt: account.salt, newSalt,
      opslimit: account.opslimit, memlimit: account.memlimit, share: account.share, scheme: 2,
      wrapped: account.wrapped_v2, publicKey: account.public_key };
    await assert.rejects(call(ring, "change-passphrase", { ...args, current: "not it" }), { name: "DecryptionError" });
    const values = await call(ring, "change-passphrase", args);
    assert.equal(values.current, account.login_value);
    const after = s.deriveStaffKeys(args.fresh, b64(newSalt), account.opslimit, account.memlimit);
    assert.equal(values.fresh, s.loginValue(after));
    const newKey = s.sharedWrappingKey(after.wrappingKey, b64(account.share));
    assert.equal(p.b64encode(s.unwrapPrivateKey(b64(values.wrapped), newKey, b64(account.public_key))), account.secret_key);
    assert.deepEqual(ring.keyring.wrappingKey, newKey);
    assert.deepEqual(ring.keyring.status().unlocked, [account.public_key]);
  });

  test("operations that hand out secrets are not the keyring's", async () => {
    const ring = clocked();
    for (const op of ["staff-derive", "staff-unwrap", "staff-share-key", "staff-keypair", "derive", "staff-rewrap"]) {
      await assert.rejects(call(ring, op, {}), /Unknown operation/);
    }
  });
});

describe("built bundle static/dist/keyring.js", () => {
  const bundle = fileURLToPath(new URL("../../static/dist/keyring.js", import.meta.url));
  const skip = !existsSync(bundle) && "not built: npm run build";

  test("as a SharedWorker: what one page unlocks, the next page uses; a wipe from either forgets it", { skip }, async () => {
    const worker = sharedWorker(readFileSync(bundle, "utf8"), KEYRING_NAME);
    const first = new WorkerClient(worker.connect());
    try {
      assert.equal((await first.call("split-passphrase", split)).loginValue, account.login_value);
      const second = new WorkerClient(worker.connect()); // the page after the sign-in
      assert.equal((await second.call("ping")).pending, true);
      await second.call("complete", { share: account.share, scheme: 2 });
      const third = new WorkerClient(worker.connect());
      const { handle } = await third.call("unlock", { wrapped: account.wrapped_v2, publicKey: account.public_key });
      const document = { answers: { where: "post 4" } };
      assert.deepEqual(await third.call("open-document", { ...sealedToAccount(document), keyHandle: handle }), document);
      await first.call("wipe");
      await assert.rejects(third.call("open-document", { ...sealedToAccount(document), keyHandle: handle }), LockedError);
    } finally {
      await worker.terminate();
    }
  });

  test("as a page's own worker when there is no SharedWorker", { skip }, async () => {
    const code = readFileSync(bundle, "utf8");
    const own = new WorkerClient(dedicatedWorker(code, KEYRING_NAME));
    try {
      assert.deepEqual(await own.call("ping"), { ready: true, pending: false, wrapping: false, unlocked: [] });
      await assert.rejects(own.call("staff-derive", split), /Unknown operation/);
    } finally {
      own.terminate();
    }
  });

  test("openKeyring: a SharedWorker named integrity-keyring with extendedLifetime, else a page's own worker", { skip }, async () => {
    const code = readFileSync(bundle, "utf8");
    const shared = sharedWorker(code, KEYRING_NAME);
    const started = [];
    const env = {
      WebAssembly,
      SharedWorker: class {
        constructor(url, options) {
          started.push(["shared", url, options]);
          this.port = shared.connect();
        }
      },
    };
    const owns = [];
    try {
      const first = await openKeyring("/static/dist/keyring.js?v=1", { idleMinutes: 5, env });
      assert.equal(first.shared, true);
      assert.deepEqual(first.status, { ready: true, pending: false, wrapping: false, unlocked: [] });
      await first.call("key-file", { text: files.plain });
      const second = await openKeyring("/static/dist/keyring.js?v=1", { env });
      assert.deepEqual(second.status.unlocked, [files.public_key]); // the same keyring
      assert.deepEqual(started[0], ["shared", "/static/dist/keyring.js?v=1",
        { name: KEYRING_NAME, extendedLifetime: true }]);

      const fallback = {
        WebAssembly,
        Worker: class {
          constructor(url, options) {
            started.push(["own", url, options]);
            const worker = dedicatedWorker(code, options.name);
            owns.push(worker);
            return worker;
          }
        },
      };
      const own = await openKeyring("/k.js", { env: fallback });
      assert.equal(own.shared, false);
      assert.deepEqual(own.status.unlocked, []); // this page's alone
      assert.deepEqual(started.at(-1), ["own", "/k.js", { name: KEYRING_NAME }]);
      await assert.rejects(openKeyring("", { env }), /names no keyring/);
      await assert.rejects(openKeyring("/k.js", { env: { SharedWorker: env.SharedWorker } }), /no WebAssembly/);
    } finally {
      await shared.terminate();
      for (const worker of owns) worker.terminate();
    }
  });
});
