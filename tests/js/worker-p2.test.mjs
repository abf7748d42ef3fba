// The worker's protocol 2 operations (static/js/worker-p2.mjs), through the worker's handler, and
// the judgement helpers of static/js/thread-view.mjs that need no DOM.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import * as p from "../../static/js/protocol.mjs";
import * as p2 from "../../static/js/protocol2.mjs";
import { inSeqOrder, intact, marks, safeToSeal, THREAD_STRINGS } from "../../static/js/thread-view.mjs";
import { handleRequest } from "../../static/js/worker.mjs";

async function call(op, request) {
  const messages = [];
  await handleRequest(structuredClone({ id: 1, op, ...request }), (m) => messages.push(structuredClone(m)));
  const last = messages.at(-1);
  if (last.error) throw new Error(`${last.error.name}: ${last.error.message}`);
  return last.result;
}

const b64 = p.b64encode;
let org;
let inspectors;
let reporter;
const PAD = 1024;

before(async () => {
  await p.ready();
  org = p2.orgKeyFromSeed(new Uint8Array(32).fill(4));
  inspectors = ["7", "12", "30"].map((id) => {
    const pair = p.generateKeyPair();
    return { id, pair, public_key: b64(pair.publicKey), certificate: b64(p2.signInspectorKey(org, id, pair.publicKey)) };
  });
  reporter = p.generateKeyPair();
});

async function fileReport(excluded = ["12"]) {
  const readers = inspectors.slice(0, 2).filter((r) => !excluded.includes(r.id));
  const sealed = await call("p2-seal-report", {
    document: { answers: { what: "x" }, attachments: [], language: "en" }, reporterPublicKey: reporter.publicKey,
    route: { channel: "integrity", category: null, orgUnit: null }, excluded, recoveryKey: null, padBlock: PAD,
    readers: readers.map((r) => [r.id, r.public_key]),
  });
  return { payload: sealed.payload, slots: sealed.keySlots };
}

describe("protocol 2 worker operations", () => {
  test("p2-certify keeps the certified keys and names the others", async () => {
    const forged = { ...inspectors[1], public_key: b64(p.generateKeyPair().publicKey) };
    const result = await call("p2-certify", {
      orgKey: b64(org.publicKey), recipients: [inspectors[0], forged, { ...inspectors[2], certificate: null }],
    });
    assert.deepEqual(result.certified, ["7"]);
    assert.deepEqual(result.uncertified, ["12", "30"]);
    assert.equal(result.fingerprints["7"], p2.fingerprint(inspectors[0].pair.publicKey));
    assert.equal(result.recovery, null);
    const none = await call("p2-certify", { orgKey: "", recipients: [inspectors[0]] });
    assert.deepEqual(none.uncertified, ["7"]);
  });

  test("a sealed report carries its thread; open-document hands it back without the secret", async () => {
    const report = await fileReport();
    assert.deepEqual(Object.keys(report.slots).sort(), ["7", "reporter"]);
    const opened = await call("open-document", {
      payload: report.payload, slot: report.slots.reporter, secretKey: reporter.secretKey, padBlock: PAD,
    });
    assert.equal(opened.protocol, 2);
    assert.equal(opened.thread.secret, undefined);
    assert.equal(opened.thread.reporter_public_key, b64(reporter.publicKey));
    assert.deepEqual(opened.excluded, ["12"]);
    assert.deepEqual(opened.readers.map((r) => r.id), ["7"]);
  });

  test("messages sealed with their links are judged intact; a forged one is not", async () => {
    const report = await fileReport();
    const asReporter = { report: { payload: report.payload, key_slot: report.slots.reporter }, secretKey: reporter.secretKey, padBlock: PAD };
    const asInspector = {
      report: { payload: report.payload, key_slot: report.slots["7"] }, secretKey: inspectors[0].pair.secretKey, padBlock: PAD,
    };
    const listed = [];
    const readers = { 7: inspectors[0].public_key, reporter: b64(reporter.publicKey) };
    for (const [who, role, sender] of [[asReporter, "reporter", ""], [asInspector, "inspector", "7"], [asReporter, "reporter", ""]]) {
      const sealed = await call("p2-seal-message", {
        ...who, chain: "thread", messages: listed, role, sender, readers,
        document: { protocol: 2, text: `from ${role}`, attachments: [] },
      });
      listed.push({ payload: sealed.payload, link: { chain: "thread", role, sender, ...sealed.link } });
    }
    assert.deepEqual(listed.map((m) => m.link.seq), [1, 2, 3]);
    const forged = { payload: listed[0].payload, link: { ...listed[2].link, seq: 4, auth: b64(new Uint8Array(32)) } };
    const judged = await call("p2-judge", {
      ...asReporter, orgKey: b64(org.publicKey), chains: { thread: [...listed, forged] },
      documents: [], recipients: [inspectors[0]], recoveryKey: null,
    });
    assert.deepEqual(judged.checks.thread.map(intact), [true, true, true, false]);
    assert.deepEqual(judged.changes, []);
    assert.equal(judged.reporterPublicKey, b64(reporter.publicKey));
    assert.ok(safeToSeal(judged));
    assert.deepEqual(marks(judged.checks.thread[3], THREAD_STRINGS), [THREAD_STRINGS.notAuthentic]);
  });

  test("a share message is recorded; an excluded reader and an unrecorded one are alarms", async () => {
    const report = await fileReport();
    const asInspector = {
      report: { payload: report.payload, key_slot: report.slots["7"] }, secretKey: inspectors[0].pair.secretKey, padBlock: PAD,
    };
    const share = await call("p2-seal-message", {
      ...asInspector, chain: "thread", messages: [], role: "inspector", sender: "7",
      share: { id: "30", publicKey: inspectors[2].public_key },
      readers: { 7: inspectors[0].public_key, 30: inspectors[2].public_key, reporter: b64(reporter.publicKey) },
    });
    const shareDocument = p2.shareDocument("30", inspectors[2].pair.publicKey);
    const listed = [{ payload: share.payload, link: { chain: "thread", role: "inspector", sender: "7", ...share.link } }];
    const judged = await call("p2-judge", {
      ...asInspector, orgKey: b64(org.publicKey), chains: { thread: listed }, documents: [shareDocument],
      recipients: inspectors, recoveryKey: null,
    });
    assert.deepEqual(judged.changes, [
      { kind: "excluded_reader", reader: "12", alarm: true },
      { kind: "shared", reader: "30", alarm: false },
    ]);
    const unshared = await call("p2-judge", {
      ...asInspector, orgKey: b64(org.publicKey), chains: { thread: [] }, documents: [],
      recipients: [inspectors[0], inspectors[2]], recoveryKey: null,
    });
    assert.deepEqual(unshared.changes, [{ kind: "unrecorded", reader: "30", alarm: true }]);
  });
});

describe("thread view helpers", () => {
  test("marks and seq order", () => {
    const check = (seq, extra = {}) => ({
      seq, authentic: true, replayed: false, conflicting: false, missing_before: false, out_of_order: false, ...extra,
    });
    assert.deepEqual(marks(check(1), THREAD_STRINGS), []);
    assert.deepEqual(marks(check(2, { replayed: true, missing_before: true }), THREAD_STRINGS),
      [THREAD_STRINGS.replayed, THREAD_STRINGS.missingBefore]);
    const ordered = inSeqOrder(["c", "a", "x", "b"], [check(3), check(1), { seq: undefined }, check(2)]);
    assert.deepEqual(ordered.map(([m]) => m), ["a", "b", "c", "x"]);
    assert.ok(!safeToSeal({ uncertified: ["7"], recoveryCertified: null }));
    assert.ok(!safeToSeal({ uncertified: [], recoveryCertified: false }));
  });
});
