// static/js/staff-keys.mjs against the shared vectors (tests/vectors/staff-keys-v1.json), and round trips.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";

import sodium from "libsodium-wrappers-sumo";

import * as p from "../../static/js/protocol.mjs";
import * as s from "../../static/js/staff-keys.mjs";

const vectors = JSON.parse(readFileSync(new URL("../vectors/staff-keys-v1.json", import.meta.url), "utf8"));
const b64 = (text) => p.b64decode(text);
const hex = (bytes) => Buffer.from(bytes).toString("hex");
const SALT = "EBESExQVFhcYGRobHB0eHw"; // bytes 16 to 31
const CHEAP = [2, 8388608];
const derivation = (name, opslimit = 2) => vectors.derivations.find(
  (d) => d.name === name && d.opslimit === opslimit && d.salt === SALT);
const label = (d) => `${d.name} (${d.opslimit}, ${d.salt.slice(0, 4)})`;

before(async () => {
  await s.ready();
});

describe("the module", () => {
  test("shares ready() with protocol.mjs and follows crypto/staff_keys.py's sizes and contexts", () => {
    assert.equal(s.ready, p.ready);
    assert.equal(s.WRAPPED_BYTES, vectors.sizes.wrapped);
    assert.equal(s.SALT_BYTES, vectors.sizes.salt);
    assert.equal(new TextDecoder().decode(s.LOGIN_CONTEXT), vectors.contexts.login);
    assert.equal(new TextDecoder().decode(s.WRAP_CONTEXT), vectors.contexts.wrap);
  });

  test("the vectors cover the cheap cost, the real cost and two salts", () => {
    const costs = new Set(vectors.derivations.map((d) => `${d.opslimit}/${d.memlimit}`));
    assert.deepEqual([...costs].sort(), ["2/8388608", "3/67108864"]);
    assert.equal(new Set(vectors.derivations.map((d) => d.salt)).size, 2);
  });
});

describe("derivation", () => {
  for (const d of vectors.derivations) {
    test(`reproduces ${label(d)}`, () => {
      // The file's text must not have been normalised on the way.
      assert.equal(hex(new TextEncoder().encode(d.passphrase)), d.passphrase_utf8_hex);
      assert.equal(hex(s.normalisePassphrase(d.passphrase)), d.nfkc_utf8_hex);
      assert.equal(hex(new TextEncoder().encode(d.passphrase.normalize("NFKC"))), d.nfkc_utf8_hex);
      const master = s.deriveStaffMaster(d.passphrase, b64(d.salt), d.opslimit, d.memlimit);
      assert.equal(p.b64encode(master), d.master);
      const fromMaster = s.staffKeysFromMaster(master);
      const keys = s.deriveStaffKeys(d.passphrase, b64(d.salt), d.opslimit, d.memlimit);
      for (const k of [fromMaster, keys]) {
        assert.equal(p.b64encode(k.authValue), d.auth_value);
        assert.equal(p.b64encode(k.wrappingKey), d.wrapping_key);
        assert.equal(s.loginValue(k), d.login_value);
      }
      assert.deepEqual(Object.keys(keys).sort(), ["authValue", "wrappingKey"]);
    });
  }

  test("passphrases equal after NFKC give the same values; different ones do not", () => {
    const groups = new Map();
    for (const d of vectors.derivations) {
      const key = `${d.nfkc_utf8_hex}|${d.salt}|${d.opslimit}`;
      groups.set(key, [...(groups.get(key) ?? []), d]);
    }
    let typedDifferently = 0;
    for (const members of groups.values()) {
      assert.equal(new Set(members.map((m) => `${m.master}|${m.auth_value}|${m.wrapping_key}`)).size, 1);
      if (new Set(members.map((m) => m.passphrase)).size > 1) typedDifferently += 1;
    }
    assert.ok(typedDifferently >= 3, "fullwidth, decomposed accents, Arabic presentation forms");
    const masters = [...groups.values()].map((members) => members[0].master);
    assert.equal(new Set(masters).size, masters.length);
    assert.notEqual(derivation("pass-phrase/ascii").master, derivation("lower-case/ascii").master);
    assert.notEqual(derivation("arabic-digits/arabic-indic").master, derivation("arabic-digits/ascii").master);
  });

  test("fullwidth Latin and Arabic presentation forms are the passphrase they look like", () => {
    const plain = s.deriveStaffKeys("Pass phrase", b64(SALT), ...CHEAP);
    const wide = s.deriveStaffKeys("Ｐａｓｓ phrase", b64(SALT), ...CHEAP);
    assert.deepEqual(wide, plain);
    const arabic = s.deriveStaffKeys("كلمة سر لا تنسى", b64(SALT), ...CHEAP);
    const forms = s.deriveStaffKeys("\ufedb\ufee0\ufee4\ufe94 \ufeb3\ufeae \ufefb \ufe97\ufee8\ufeb4\ufef0",
      b64(SALT), ...CHEAP);
    assert.deepEqual(forms, arabic);
    assert.notDeepEqual(arabic, plain);
  });

  test("the two values are distinct 32-byte values, and neither is the master", () => {
    for (const d of vectors.derivations) {
      const [auth, wrap, master] = [b64(d.auth_value), b64(d.wrapping_key), b64(d.master)];
      assert.deepEqual([auth.length, wrap.length, master.length], [32, 32, 32]);
      assert.equal(new Set([d.auth_value, d.wrapping_key, d.master]).size, 3, label(d));
      // Neither follows from the other by a hash under either context: each needs the master.
      for (const [value, other] of [[auth, wrap], [wrap, auth]]) {
        for (const context of [s.LOGIN_CONTEXT, s.WRAP_CONTEXT]) {
          assert.notEqual(hex(sodium.crypto_generichash(32, context, value)), hex(other));
        }
        assert.notEqual(hex(sodium.crypto_generichash(32, value, null)), hex(other));
      }
      // The formulas, with libsodium called directly.
      assert.equal(p.b64encode(sodium.crypto_generichash(32, s.LOGIN_CONTEXT, master)), d.auth_value);
      assert.equal(p.b64encode(sodium.crypto_generichash(32, s.WRAP_CONTEXT, master)), d.wrapping_key);
    }
  });

  test("a different salt gives different values", () => {
    const other = vectors.derivations.find((d) => d.salt !== SALT);
    const same = derivation(other.name);
    assert.equal(other.passphrase, same.passphrase);
    assert.notEqual(other.auth_value, same.auth_value);
    assert.notEqual(other.wrapping_key, same.wrapping_key);
  });

  test("refuses a salt that is not 16 bytes and a passphrase that is not text", () => {
    assert.throws(() => s.deriveStaffKeys("Pass phrase", new Uint8Array(15), ...CHEAP), p.ShapeError);
    assert.throws(() => s.deriveStaffKeys(new TextEncoder().encode("Pass phrase"), b64(SALT), ...CHEAP), TypeError);
  });

  test("new salts are 16 fresh bytes", () => {
    const salts = new Set(Array.from({ length: 50 }, () => p.b64encode(s.newStaffSalt())));
    assert.equal(salts.size, 50);
    for (const salt of salts) assert.equal(b64(salt).length, 16);
  });
});

describe("wrapping", () => {
  for (const w of vectors.wraps) {
    test(`reproduces the wrap under ${w.derivation} and unwraps it`, () => {
      assert.equal(w.wrapping_key, derivation(w.derivation).wrapping_key);
      assert.equal(p.b64encode(p.keyPairFromSecretKey(b64(w.secret_key)).publicKey), w.public_key);
      const wrapped = s.wrapPrivateKey(b64(w.secret_key), b64(w.wrapping_key), b64(w.nonce));
      assert.equal(p.b64encode(wrapped), w.wrapped);
      assert.equal(wrapped.length, 72);
      assert.equal(p.b64encode(wrapped.subarray(0, 24)), w.nonce);
      assert.equal(p.b64encode(s.unwrapPrivateKey(b64(w.wrapped), b64(w.wrapping_key))), w.secret_key);
      assert.equal(p.b64encode(s.unwrapPrivateKey(b64(w.wrapped), b64(w.wrapping_key), b64(w.public_key))),
        w.secret_key);
    });
  }

  test("a wrong passphrase does not unwrap", () => {
    const [w, other] = vectors.wraps;
    const wrong = s.deriveStaffKeys("pass phrase", b64(SALT), ...CHEAP).wrappingKey;
    assert.throws(() => s.unwrapPrivateKey(b64(w.wrapped), wrong),
      { name: "DecryptionError", message: "The passphrase does not unlock this key." });
    assert.throws(() => s.unwrapPrivateKey(b64(w.wrapped), b64(other.wrapping_key)), p.DecryptionError);
  });

  test("a tampered wrapped key does not unwrap", () => {
    const w = vectors.wraps[0];
    for (const position of [0, 23, 24, 40, 71]) {
      const tampered = b64(w.wrapped);
      tampered[position] ^= 1;
      assert.throws(() => s.unwrapPrivateKey(tampered, b64(w.wrapping_key)), p.DecryptionError, String(position));
    }
  });

  test("a wrapped key of the wrong length is a ShapeError", () => {
    const w = vectors.wraps[0];
    const doubled = new Uint8Array([...b64(w.wrapped), ...b64(w.wrapped)]);
    for (const length of vectors.wrapped_invalid_lengths) {
      assert.throws(() => s.unwrapPrivateKey(doubled.subarray(0, length), b64(w.wrapping_key)),
        { name: "ShapeError", message: "The wrapped private key must be 72 bytes." }, String(length));
    }
  });

  test("keys and nonces of the wrong length are ShapeErrors", () => {
    const key = new Uint8Array(32);
    const calls = [
      () => s.wrapPrivateKey(new Uint8Array(31), key),
      () => s.wrapPrivateKey(key, new Uint8Array(33)),
      () => s.wrapPrivateKey(key, key, new Uint8Array(23)),
      () => s.unwrapPrivateKey(new Uint8Array(72), new Uint8Array(16)),
      () => s.unwrapPrivateKey(s.wrapPrivateKey(key, key), key, new Uint8Array(31)),
    ];
    for (const call of calls) assert.throws(call, p.ShapeError);
  });

  test("a key that is not the expected one is refused", () => {
    const w = vectors.wraps[0];
    assert.throws(() => s.unwrapPrivateKey(b64(w.wrapped), b64(w.wrapping_key), p.generateKeyPair().publicKey),
      { name: "DecryptionError", message: /public key/ });
  });

  test("round trip with a fresh key pair, salt and nonce", () => {
    const pair = p.generateKeyPair();
    const keys = s.deriveStaffKeys("correct horse — battery staple", s.newStaffSalt(), ...CHEAP);
    const one = s.wrapPrivateKey(pair.secretKey, keys.wrappingKey);
    const two = s.wrapPrivateKey(pair.secretKey, keys.wrappingKey);
    assert.notDeepEqual(one, two); // a fresh nonce each time
    for (const wrapped of [one, two]) {
      assert.deepEqual(s.unwrapPrivateKey(wrapped, keys.wrappingKey, pair.publicKey), pair.secretKey);
    }
  });

  test("a passphrase change rewraps the same key", () => {
    const pair = p.generateKeyPair();
    const old = s.deriveStaffKeys("old passphrase", s.newStaffSalt(), ...CHEAP);
    const renewed = s.deriveStaffKeys("new passphrase", s.newStaffSalt(), ...CHEAP);
    const wrapped = s.wrapPrivateKey(pair.secretKey, old.wrappingKey);
    const rewrapped = s.rewrapPrivateKey(wrapped, old.wrappingKey, renewed.wrappingKey, pair.publicKey);
    assert.deepEqual(s.unwrapPrivateKey(rewrapped, renewed.wrappingKey, pair.publicKey), pair.secretKey);
    assert.throws(() => s.unwrapPrivateKey(rewrapped, old.wrappingKey), p.DecryptionError);
    assert.throws(() => s.rewrapPrivateKey(wrapped, renewed.wrappingKey, renewed.wrappingKey), p.DecryptionError);
    assert.notDeepEqual(renewed.authValue, old.authValue);
  });
});
