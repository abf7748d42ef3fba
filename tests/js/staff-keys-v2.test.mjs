// Scheme 2 of static/js/staff-keys.mjs (the server's share and the sign-in pepper) against
// tests/vectors/staff-keys-v2.json, the worker operations that use it, and the passphrase
// strength rules against tests/vectors/passphrase-strength.json (the same files as Python's).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";

import * as p from "../../static/js/protocol.mjs";
import * as s from "../../static/js/staff-keys.mjs";
import { COMMON, isWeakPassphrase, MIN_PASSPHRASE_LENGTH } from "../../static/js/passphrase-strength.mjs";
import { handleRequest } from "../../static/js/worker.mjs";

const read = (name) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), "utf8"));
const vectors = read("staff-keys-v2.json");
const strength = read("passphrase-strength.json");
const b64 = (text) => p.b64decode(text);
const text = (bytes) => new TextDecoder().decode(bytes);

async function run(request) {
  const messages = [];
  await handleRequest(structuredClone(request), (message) => messages.push(structuredClone(message)));
  return messages.at(-1);
}

before(async () => {
  await s.ready();
});

describe("scheme 2 against the shared vectors", () => {
  test("contexts", () => {
    assert.equal(text(s.SHARE_CONTEXT), vectors.contexts.share);
    assert.equal(text(s.WRAP_V2_CONTEXT), vectors.contexts.wrap);
    assert.equal(text(s.PEPPER_KEY_CONTEXT), vectors.contexts.pepper_key);
    assert.equal(text(s.PEPPER_CONTEXT), vectors.contexts.pepper);
  });

  test("shares and the pepper key", () => {
    const secret = b64(vectors.installation_secret);
    for (const entry of vectors.shares) {
      assert.equal(p.b64encode(s.wrapShare(secret, entry.user_id)), entry.share, String(entry.user_id));
    }
    assert.equal(p.b64encode(s.loginPepperKey(secret)), vectors.pepper_key);
    assert.throws(() => s.wrapShare(secret, -1), p.ShapeError);
  });

  for (const account of vectors.accounts) {
    test(`account ${account.user_id}: derive, pepper, complete, wrap, migrate`, () => {
      const keys = s.deriveStaffKeys(account.passphrase, b64(account.salt), account.opslimit, account.memlimit);
      assert.equal(s.loginValue(keys), account.login_value);
      assert.equal(p.b64encode(s.pepperedAuthValue(keys.authValue, b64(vectors.pepper_key))),
        account.peppered_auth_value);
      const wrappingKey = s.sharedWrappingKey(keys.wrappingKey, b64(account.share));
      assert.equal(p.b64encode(wrappingKey), account.wrapping_key_v2);
      const wrapped = s.wrapPrivateKey(b64(account.secret_key), wrappingKey, b64(account.nonce));
      assert.equal(p.b64encode(wrapped), account.wrapped_v2);
      assert.throws(() => s.unwrapPrivateKey(wrapped, keys.wrappingKey), p.DecryptionError);
      const rewrapped = s.rewrapPrivateKey(b64(account.wrapped_v1), keys.wrappingKey, wrappingKey, b64(account.public_key));
      assert.equal(p.b64encode(s.unwrapPrivateKey(rewrapped, wrappingKey, b64(account.public_key))), account.secret_key);
    });
  }
});

describe("the worker's scheme-2 operations", () => {
  const account = vectors.accounts[0];

  test("staff-share-key completes the wrapping key", async () => {
    const last = await run({ id: 1, op: "staff-share-key", wrappingKey: account.wrapping_key_v1, share: account.share });
    assert.equal(p.b64encode(last.result.wrappingKey), account.wrapping_key_v2);
  });

  test("staff-rewrap moves a scheme-1 key to scheme 2, checking the public key", async () => {
    const last = await run({ id: 2, op: "staff-rewrap", wrapped: account.wrapped_v1,
      oldWrappingKey: account.wrapping_key_v1, newWrappingKey: account.wrapping_key_v2, publicKey: account.public_key });
    const opened = s.unwrapPrivateKey(b64(last.result.wrapped), b64(account.wrapping_key_v2), b64(account.public_key));
    assert.equal(p.b64encode(opened), account.secret_key);
    const wrong = await run({ id: 3, op: "staff-rewrap", wrapped: account.wrapped_v1,
      oldWrappingKey: account.wrapping_key_v2, newWrappingKey: account.wrapping_key_v2, publicKey: account.public_key });
    assert.equal(wrong.error.name, "DecryptionError");
  });
});

describe("passphrase strength", () => {
  test("the same list and minimum as integrity/auth/strength.py", () => {
    assert.deepEqual(COMMON, strength.common);
    assert.equal(MIN_PASSPHRASE_LENGTH, strength.min_length);
  });

  test("refuses the weak examples and accepts the strong ones", () => {
    for (const passphrase of strength.weak) assert.equal(isWeakPassphrase(passphrase), true, passphrase);
    for (const passphrase of strength.strong) assert.equal(isWeakPassphrase(passphrase), false, passphrase);
  });
});
