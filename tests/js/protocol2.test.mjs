// static/js/protocol2.mjs against the protocol 2 vectors (tests/vectors/protocol-v2.json), and
// what a reader must conclude from altered input.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";

import * as p from "../../static/js/protocol.mjs";
import * as q from "../../static/js/protocol2.mjs";

const vectors = JSON.parse(readFileSync(new URL("../vectors/protocol-v2.json", import.meta.url), "utf8"));
const hex = (text) => new Uint8Array(Buffer.from(text, "hex"));
const toHex = (bytes) => Buffer.from(bytes).toString("hex");
const b64 = (text) => p.b64decode(text);
const filled = (byte, length = 32) => new Uint8Array(length).fill(byte);
const range = (first, length) => Uint8Array.from({ length }, (_, i) => first + i);
const flip = (bytes, index = 0) => {
  const out = Uint8Array.from(bytes);
  out[index] ^= 1;
  return out;
};
const boxPublicKey = (secretKey) => p.keyPairFromSecretKey(secretKey).publicKey;
let sodiumHash; // unkeyed or keyed crypto_generichash(32, ...), once libsodium is ready
const hash = (data, key = null) => sodiumHash(data, key);

/** A vector link or listed message with its byte fields decoded. */
const message = (v) => ({ seq: v.seq, role: v.role, sender: v.sender, prev: b64(v.prev), payload: b64(v.payload),
  auth: b64(v.auth) });

const certs = vectors.certificates;
const threads = vectors.threads;
const reportPayload = () => b64(threads.report_payload);
const secret = () => b64(threads.thread_secret);

before(async () => {
  await q.ready();
  const sodium = (await import("libsodium-wrappers-sumo")).default;
  sodiumHash = (data, key) => sodium.crypto_generichash(32, data, key);
});

describe("the module", () => {
  test("shares ready() with protocol.mjs and checks the vectors' version", () => {
    assert.equal(q.ready, p.ready);
    assert.equal(vectors.protocol, q.PROTOCOL);
    assert.equal(new q.FloorError("x").name, "FloorError");
    assert.ok(new q.FloorError("x") instanceof p.CryptoError);
  });
});

describe("frames", () => {
  test("reproduce every vector", () => {
    assert.ok(vectors.frames.length >= 5);
    for (const v of vectors.frames) {
      assert.equal(toHex(q.frame(...v.parts_hex.map(hex))), v.frame_hex);
    }
  });

  test("take text as its UTF-8 bytes, and tell apart where the parts split", () => {
    assert.equal(toHex(q.frame("a", "bc")), "0100000061020000006263");
    assert.notEqual(toHex(q.frame("ab", "c")), toHex(q.frame("a", "bc")));
    assert.equal(toHex(q.frame("é")), "02000000c3a9");
    assert.equal(q.frame().length, 0);
    assert.throws(() => q.frame(42), TypeError);
  });
});

describe("key hashes and certificates", () => {
  const org = () => q.orgKeyFromSeed(b64(certs.org_seed));

  test("the organisation key follows from its seed (bytes 1 to 32)", () => {
    assert.deepEqual(b64(certs.org_seed), range(1, 32));
    assert.equal(p.b64encode(org().publicKey), certs.org_public_key);
    assert.equal(q.fingerprint(org().publicKey), certs.org_fingerprint);
  });

  for (const v of certs.inspectors) {
    test(`inspector ${v.id}: key hash, fingerprint, message and certificate`, () => {
      const secretKey = filled(Number(v.id));
      const publicKey = boxPublicKey(secretKey);
      assert.equal(p.b64encode(publicKey), v.public_key);
      assert.equal(p.b64encode(q.keyHash(publicKey)), v.key_hash);
      assert.equal(q.fingerprint(publicKey), v.fingerprint);
      assert.equal(p.fingerprint(publicKey), v.fingerprint); // protocol 1's display text is the same
      assert.equal(toHex(q.inspectorKeyMessage(v.id, publicKey)), v.message_hex);
      assert.equal(p.b64encode(q.signInspectorKey(org(), v.id, publicKey)), v.signature);
      assert.ok(q.verifyInspectorKey(org().publicKey, v.id, publicKey, b64(v.signature)));
    });
  }

  test("the recovery key (63 × 32): message and certificate", () => {
    const v = certs.recovery;
    const publicKey = boxPublicKey(filled(0x63));
    assert.equal(p.b64encode(publicKey), v.public_key);
    assert.equal(toHex(q.recoveryKeyMessage(publicKey)), v.message_hex);
    assert.equal(p.b64encode(q.signRecoveryKey(org(), publicKey)), v.signature);
    assert.ok(q.verifyRecoveryKey(org().publicKey, publicKey, b64(v.signature)));
  });

  test("the refused certificates do not verify", () => {
    assert.ok(certs.refused.length >= 4);
    for (const v of certs.refused) {
      assert.equal(q.verifyInspectorKey(org().publicKey, v.id, b64(v.public_key), b64(v.signature)), false, v.why);
    }
  });

  test("an inspector certificate is not a recovery certificate, nor the reverse", () => {
    const [inspector] = certs.inspectors;
    assert.equal(q.verifyRecoveryKey(org().publicKey, b64(inspector.public_key), b64(inspector.signature)), false);
    const recovery = certs.recovery;
    assert.equal(q.verifyInspectorKey(org().publicKey, "7", b64(recovery.public_key), b64(recovery.signature)),
      false);
  });

  test("a flipped bit, a wrong length or another organisation key does not verify", () => {
    const [v] = certs.inspectors;
    const signature = b64(v.signature);
    const verify = (sig, orgKey = org().publicKey) => q.verifyInspectorKey(orgKey, v.id, b64(v.public_key), sig);
    for (const index of [0, 31, 32, 63]) assert.equal(verify(flip(signature, index)), false, `bit in byte ${index}`);
    assert.equal(verify(signature.subarray(0, 63)), false);
    assert.equal(verify(new Uint8Array([...signature, 0])), false);
    assert.equal(verify(new Uint8Array(0)), false);
    assert.equal(verify(signature, q.orgKeyFromSeed(filled(1)).publicKey), false);
  });

  test("refuse malformed ids and keys as shape errors", () => {
    const publicKey = b64(certs.inspectors[0].public_key);
    for (const id of ["", "x", "7 ", " 7", "-7", "1".repeat(21), "٧", "７", 7, null]) {
      assert.throws(() => q.inspectorKeyMessage(id, publicKey), p.ShapeError, JSON.stringify(id));
    }
    assert.equal(q.inspectorKeyMessage("1".repeat(20), publicKey).length, 4 + 26 + 4 + 20 + 4 + 32);
    assert.throws(() => q.inspectorKeyMessage("7", publicKey.subarray(1)), p.ShapeError);
    assert.throws(() => q.recoveryKeyMessage(new Uint8Array(33)), p.ShapeError);
    assert.throws(() => q.keyHash(new Uint8Array(31)), p.ShapeError);
    assert.throws(() => q.orgKeyFromSeed(new Uint8Array(31)), p.ShapeError);
  });
});

describe("the protocol 2 report document", () => {
  const v = vectors.report_document;
  const inspectorKey = (id) => b64(certs.inspectors.find((i) => i.id === id).public_key);
  const built = () => q.reportDocument({
    answers: { what: "Bribe at gate 3 — 200 €" },
    attachments: [],
    language: "en",
    threadSecret: range(0x40, 32),
    reporterPublicKey: boxPublicKey(filled(0x2a)),
    route: { channel: "airport", category: null, orgUnit: "4" },
    readers: [["7", inspectorKey("7")], ["12", inspectorKey("12")]],
    excluded: ["9"],
    recoveryKey: b64(certs.recovery.public_key),
  });

  test("reportDocument gives the vector's JSON byte for byte", () => {
    assert.equal(new TextDecoder().decode(p.encodeJson(built())), v.json);
  });

  test("sealed with the vector key and nonce, it is threads.report_payload", () => {
    const payload = p.sealPayload(p.encodeJson(built()), b64(v.key), v.pad_block, b64(v.nonce));
    assert.equal(p.b64encode(payload), threads.report_payload);
    assert.equal(new TextDecoder().decode(p.openPayload(payload, b64(v.key), v.pad_block)), v.json);
  });

  test("reportDocument leaves out a missing language, and refuses a malformed route or reader", () => {
    const args = (change) => ({
      answers: {}, threadSecret: range(0x40, 32), reporterPublicKey: boxPublicKey(filled(0x2a)),
      route: { channel: "airport" }, readers: new Map([["7", inspectorKey("7")]]), ...change,
    });
    const d = q.reportDocument(args({}));
    assert.deepEqual(Object.keys(d), ["protocol", "answers", "attachments", "thread", "route", "readers", "excluded",
      "recovery"]);
    assert.deepEqual(d.route, { channel: "airport", category: null, org_unit: null });
    assert.equal(d.recovery, null);
    assert.equal(q.reportThread(d).readers.size, 1);
    for (const change of [{ route: {} }, { route: { channel: "a", category: 3 } }, { route: { channel: "a", orgUnit: 4 } },
      { readers: { x: inspectorKey("7") } }, { readers: { 7: new Uint8Array(31) } }, { excluded: [9] },
      { threadSecret: new Uint8Array(31) }, { recoveryKey: new Uint8Array(16) }]) {
      assert.throws(() => q.reportDocument(args(change)), p.ShapeError, JSON.stringify(change));
    }
  });

  test("reportThread reads it back", () => {
    const thread = q.reportThread(JSON.parse(v.json));
    assert.deepEqual(thread.secret, range(0x40, 32));
    assert.equal(p.b64encode(thread.secret), threads.thread_secret);
    assert.deepEqual(thread.reporterPublicKey, boxPublicKey(filled(0x2a)));
    assert.deepEqual(thread.route, { channel: "airport", category: null, orgUnit: "4" });
    assert.deepEqual([...thread.readers.keys()], ["7", "12"]);
    for (const i of certs.inspectors) assert.equal(p.b64encode(thread.readers.get(i.id)), i.key_hash);
    assert.deepEqual(thread.excluded, ["9"]);
    assert.deepEqual(thread.recovery, q.keyHash(b64(certs.recovery.public_key)));
  });

  test("reportThread refuses protocol 1 and malformed documents with a shape error", () => {
    const good = () => JSON.parse(v.json);
    const cases = {
      "protocol 1": (d) => { d.protocol = 1; },
      "no protocol": (d) => { delete d.protocol; },
      "protocol as text": (d) => { d.protocol = "2"; },
      "no thread": (d) => { delete d.thread; },
      "thread is a list": (d) => { d.thread = []; },
      "short secret": (d) => { d.thread.secret = "AAAA"; },
      "secret not base64url": (d) => { d.thread.secret = `${d.thread.secret.slice(0, -1)}=`; },
      "no reporter key": (d) => { delete d.thread.reporter_public_key; },
      "no route": (d) => { delete d.route; },
      "category a number": (d) => { d.route.category = 3; },
      "category missing": (d) => { delete d.route.category; },
      "org_unit a number": (d) => { d.route.org_unit = 4; },
      "readers an object": (d) => { d.readers = {}; },
      "reader without id": (d) => { delete d.readers[0].id; },
      "reader id a number": (d) => { d.readers[0].id = 7; },
      "reader fingerprint short": (d) => { d.readers[1].fingerprint = "AAAA"; },
      "reader listed twice": (d) => { d.readers[1].id = "7"; },
      "no excluded": (d) => { delete d.excluded; },
      "excluded not a list": (d) => { d.excluded = "9"; },
      "recovery short": (d) => { d.recovery = "AAAA"; },
    };
    for (const [name, change] of Object.entries(cases)) {
      const d = good();
      change(d);
      assert.throws(() => q.reportThread(d), p.ShapeError, name);
    }
    for (const value of [null, [], "x", 2]) assert.throws(() => q.reportThread(value), p.ShapeError);
    const noRecovery = good();
    noRecovery.recovery = null;
    assert.equal(q.reportThread(noRecovery).recovery, null);
  });
});

describe("authenticated threads", () => {
  test("newThreadSecret draws 32 fresh bytes", () => {
    assert.equal(q.newThreadSecret().length, 32);
    assert.notDeepEqual(q.newThreadSecret(), q.newThreadSecret());
  });

  for (const [chain, v] of Object.entries(threads.chains)) {
    describe(`the "${chain}" chain`, () => {
      test("authentication key and root", () => {
        assert.equal(p.b64encode(q.authKey(secret(), chain)), v.auth_key);
        assert.equal(p.b64encode(q.threadRoot(chain, reportPayload())), v.root);
        assert.equal(v.links[0].prev, v.root);
      });

      test("each link's input, authenticator and link hash", () => {
        for (const link of v.links) {
          const input = q.linkInput(chain, message(link));
          assert.equal(toHex(input), link.input_hex, `seq ${link.seq}`);
          assert.equal(p.b64encode(q.linkAuth(b64(v.auth_key), input)), link.auth);
          assert.equal(p.b64encode(q.linkHash(chain, message(link))), link.link_hash);
        }
      });

      test("nextLink makes the four links from the report", () => {
        let previous = null;
        for (const link of v.links) {
          const made = q.nextLink(secret(), chain, reportPayload(), previous, link.role, link.sender, b64(link.payload));
          assert.deepEqual(made, message(link));
          previous = made;
        }
      });

      for (const listing of v.listings) {
        test(`listing "${listing.name}" is judged as the vectors say`, () => {
          const checks = q.checkLinks(secret(), chain, reportPayload(), listing.listed.map(message));
          assert.deepEqual(checks, listing.checks);
          const allIntact = listing.checks.every(q.intact);
          assert.equal(checks.every(q.intact), allIntact);
        });
      }
    });
  }

  test("the vectors' listings include every mark but conflicting", () => {
    const checks = Object.values(threads.chains).flatMap((c) => c.listings.flatMap((l) => l.checks));
    for (const mark of ["replayed", "missing_before", "out_of_order"]) assert.ok(checks.some((c) => c[mark]), mark);
    assert.ok(checks.some((c) => !c.authentic));
    assert.ok(threads.chains.thread.listings.find((l) => l.name === "tail deleted").checks.every(q.intact));
  });

  const links = (chain = "thread") => threads.chains[chain].links.map(message);
  const judge = (listed, chain = "thread", threadSecret = secret(), payload = reportPayload()) => (
    q.checkLinks(threadSecret, chain, payload, listed));

  test("a link from the other chain, another report or another secret is not authentic", () => {
    assert.ok(judge(links("notes")).every((c) => !c.authentic));
    assert.ok(judge(links(), "notes").every((c) => !c.authentic));
    assert.ok(judge(links(), "thread", flip(secret())).every((c) => !c.authentic));
    // Another report: the authenticators still hold, but seq 1's prev is not this report's root.
    const moved = judge(links(), "thread", secret(), flip(reportPayload(), 100));
    assert.ok(moved.every((c) => c.authentic));
    assert.deepEqual(moved.map((c) => c.missing_before), [true, false, false, false]);
  });

  test("a flipped bit in any field makes that message not authentic", () => {
    for (const field of ["prev", "payload", "auth"]) {
      for (const last of [false, true]) {
        const listed = links();
        const bytes = listed[1][field];
        const index = last ? bytes.length - 1 : 0;
        listed[1] = { ...listed[1], [field]: flip(bytes, index) };
        const checks = judge(listed);
        assert.deepEqual(checks.map((c) => c.authentic), [true, false, true, true], `${field}[${index}]`);
        assert.equal(checks[2].missing_before, true);
      }
    }
    const changed = [{ seq: 5 }, { role: "inspector", sender: "12" }, { role: "reporter", sender: "" },
      { sender: "8" }];
    for (const change of changed) {
      const listed = links();
      listed[1] = { ...listed[1], ...change };
      assert.equal(judge(listed)[1].authentic, false, JSON.stringify(change));
    }
  });

  test("malformed links do not throw, and are not authentic", () => {
    const good = links()[0];
    const malformed = [
      null, undefined, 42, "link", [], {},
      { ...good, seq: 0 }, { ...good, seq: -1 }, { ...good, seq: 1.5 }, { ...good, seq: "1" }, { ...good, seq: 2 ** 60 },
      { ...good, seq: 2n ** 63n }, { ...good, role: "admin" }, { ...good, role: undefined },
      { ...good, sender: "7" }, { ...good, sender: null }, { ...links()[1], sender: "" },
      { ...good, prev: good.prev.subarray(1) }, { ...good, prev: p.b64encode(good.prev) }, { ...good, prev: null },
      { ...good, auth: good.auth.subarray(1) }, { ...good, auth: new Uint8Array(64) }, { ...good, auth: "x" },
      { ...good, payload: null }, { ...good, payload: "first message payload" },
    ];
    const checks = judge(malformed);
    assert.equal(checks.length, malformed.length);
    checks.forEach((check, i) => {
      assert.equal(check.authentic, false, `case ${i}`);
      assert.ok(!check.replayed && !check.conflicting && !check.missing_before && !check.out_of_order);
    });
    // The good links around them are still judged as intact.
    assert.ok(judge([links()[0], ...malformed, ...links().slice(1)]).filter((c) => c.authentic).every(q.intact));
  });

  test("seq as a BigInt is the same link", () => {
    const [first] = links();
    assert.deepEqual(q.linkInput("thread", { ...first, seq: 1n }), q.linkInput("thread", first));
    assert.ok(judge([{ ...first, seq: 1n }, ...links().slice(1)]).every(q.intact));
  });

  test("a second authentic message at a seq conflicts; only the kept one walks the chain", () => {
    const listed = links();
    // A real reader wrote another seq 2 on the same seq 1 (the server kept one, showed both).
    const other = q.nextLink(secret(), "thread", reportPayload(), listed[0], "inspector", "12", new Uint8Array([1]));
    const checks = judge([...listed, other]);
    assert.deepEqual(checks.slice(0, 4).map(q.intact), [true, true, true, true]);
    assert.deepEqual(checks[4], { seq: 2, authentic: true, replayed: false, conflicting: true,
      missing_before: false, out_of_order: false });
    // Listed first, the other one is kept, and seq 3 no longer follows it.
    const swapped = judge([listed[0], other, ...listed.slice(1)]);
    assert.equal(swapped[2].conflicting, true);
    assert.equal(swapped[3].missing_before, true);
  });

  test("an empty listing, and a chain that starts after seq 1", () => {
    assert.deepEqual(judge([]), []);
    assert.deepEqual(judge(links().slice(1)).map((c) => c.missing_before), [true, false, false]);
  });

  test("refuses an unknown chain or a malformed secret rather than judging", () => {
    assert.throws(() => judge(links(), "Thread"), p.ShapeError);
    assert.throws(() => q.authKey(secret().subarray(1), "thread"), p.ShapeError);
    assert.throws(() => q.threadRoot("other", reportPayload()), p.ShapeError);
    assert.throws(() => q.linkAuth(new Uint8Array(16), new Uint8Array(1)), p.ShapeError);
  });
});

describe("share messages", () => {
  const publicKey = () => boxPublicKey(filled(0x1e));

  test("shareDocument gives the vector for inspector 30", () => {
    assert.equal(new TextDecoder().decode(p.encodeJson(q.shareDocument("30", publicKey()))), vectors.share_document);
  });

  test("sharedReader reads it back; another message shares nothing", () => {
    const shared = q.sharedReader(JSON.parse(vectors.share_document));
    assert.equal(shared.id, "30");
    assert.deepEqual(shared.keyHash, q.keyHash(publicKey()));
    assert.equal(q.sharedReader(q.messageDocument("Hello", [])), null);
    assert.deepEqual(q.messageDocument("Hello"), { protocol: 2, text: "Hello", attachments: [] });
  });

  test("sharedReader refuses malformed shares", () => {
    const good = () => JSON.parse(vectors.share_document);
    const cases = [
      (d) => { d.protocol = 1; }, (d) => { d.share = null; }, (d) => { d.share = "30"; },
      (d) => { delete d.share.id; }, (d) => { d.share.id = 30; }, (d) => { d.share.fingerprint = "AAAA"; },
      (d) => { delete d.share.fingerprint; },
    ];
    for (const change of cases) {
      const d = good();
      change(d);
      assert.throws(() => q.sharedReader(d), p.ShapeError, String(change));
    }
    assert.throws(() => q.shareDocument("x", publicKey()), p.ShapeError);
  });
});

describe("reader changes", () => {
  const thread = () => q.reportThread(JSON.parse(vectors.report_document.json));
  const keys = (object) => Object.fromEntries(Object.entries(object).map(([id, key]) => [id, b64(key)]));
  const recovery = (key) => (key === null ? null : b64(key));

  for (const v of vectors.reader_changes) {
    test(`"${v.name}"`, () => {
      assert.deepEqual(
        q.readerChanges(thread(), keys(v.current), keys(v.shares), recovery(v.recovery_key), v.uncertified),
        v.changes,
      );
      // The same with Maps.
      const changes = q.readerChanges(thread(), new Map(Object.entries(keys(v.current))),
        new Map(Object.entries(keys(v.shares))), recovery(v.recovery_key), v.uncertified);
      assert.deepEqual(changes, v.changes);
    });
  }

  test("a recovery key added to a report sealed without one", () => {
    const t = thread();
    t.recovery = null;
    const current = keys(vectors.reader_changes[0].current);
    assert.deepEqual(q.readerChanges(t, current, {}, b64(certs.recovery.public_key)),
      [{ kind: "recovery_added", reader: "recovery", alarm: false }]);
    assert.deepEqual(q.readerChanges(t, current, {}, null), []);
  });

  test("several changes come sorted by reader id, then kind", () => {
    const other = boxPublicKey(filled(0x55));
    const changes = q.readerChanges(thread(), { 9: other, 30: other, 7: other }, {}, null);
    assert.deepEqual(changes, [
      { kind: "removed", reader: "12", alarm: false },
      { kind: "unrecorded", reader: "30", alarm: true },
      { kind: "key_changed", reader: "7", alarm: true },
      { kind: "excluded_reader", reader: "9", alarm: true },
      { kind: "recovery_removed", reader: "recovery", alarm: false },
    ]);
  });

  test("a share does not lift an exclusion", () => {
    const key = boxPublicKey(filled(0x1e));
    const current = { ...keys(vectors.reader_changes[0].current), 9: key };
    assert.deepEqual(q.readerChanges(thread(), current, { 9: q.keyHash(key) }, b64(certs.recovery.public_key)),
      [{ kind: "excluded_reader", reader: "9", alarm: true }]);
  });
});

describe("floors", () => {
  const v = vectors.floors;

  test("are the vectors' floors", () => {
    assert.deepEqual(q.FLOORS, { opslimit: v.opslimit, memlimit: v.memlimit, padBlock: v.pad_block });
  });

  test("accept the accepted parameters", () => {
    for (const params of v.accepted) q.checkFloors(...params);
  });

  test("refuse the refused parameters with the sentence of the first one below its floor", () => {
    const sentences = {
      opslimit: "The server asks for an Argon2id cost below 3 passes, which this client refuses.",
      memlimit: "The server asks for less than 64 MiB of Argon2id memory, which this client refuses.",
      padBlock: "The server asks for a padding block below 1024 bytes, which this client refuses.",
    };
    const first = ([ops, mem, pad]) => (
      ops < v.opslimit ? "opslimit" : mem < v.memlimit ? "memlimit" : pad < v.pad_block ? "padBlock" : null);
    for (const params of v.refused) {
      assert.throws(() => q.checkFloors(...params), { name: "FloorError", message: sentences[first(params)] },
        JSON.stringify(params));
    }
    for (const bad of [true, "3", 3.5, null, undefined, 3n, NaN, Infinity]) {
      assert.throws(() => q.checkFloors(bad, v.memlimit, v.pad_block), { message: sentences.opslimit }, String(bad));
      assert.throws(() => q.checkFloors(v.opslimit, bad === true ? true : bad, v.pad_block),
        { message: sentences.memlimit });
      assert.throws(() => q.checkFloors(v.opslimit, v.memlimit, bad), { message: sentences.padBlock });
    }
  });
});

describe("keyed lookup hashes (server side; the recipe of the doc)", () => {
  test("reproduce the vector from frame and keyed BLAKE2b", () => {
    const v = vectors.lookup;
    assert.deepEqual(b64(v.installation_secret), range(0xc8, 32));
    const lookupKey = hash(q.frame("integrity/v2/lookup-key"), b64(v.installation_secret));
    assert.equal(p.b64encode(lookupKey), v.lookup_key);
    assert.equal(p.b64encode(p.lookupHash(b64(v.lookup))), v.unkeyed);
    assert.equal(p.b64encode(hash(p.lookupHash(b64(v.lookup)), lookupKey)), v.keyed);
  });
});
