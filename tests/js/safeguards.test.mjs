// The pages' safeguards that need no browser: the floors without libsodium (static/js/floors.mjs),
// documents opened one by one (openOrNull, fileEntries), downloads typed application/octet-stream,
// and no plain submission in place of protected mode without the person's choice.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";

import * as p from "../../static/js/protocol.mjs";
import * as q from "../../static/js/protocol2.mjs";
import * as floors from "../../static/js/floors.mjs";
import { WorkerClient } from "../../static/js/worker-client.mjs";
import {
  asOctetStream, fileEntries, interceptInProtectedMode, openOrNull,
} from "../../static/js/page.mjs";
import { STRINGS as MAILBOX_STRINGS } from "../../static/js/mailbox.mjs";
import { STRINGS as REPORT_STRINGS } from "../../static/js/report.mjs";
import { handleRequest } from "../../static/js/worker.mjs";

const PAD = 1024;
const GOOD = { argon2id: { opslimit: 3, memlimit: 67108864 }, pad_block: 1024 };

class FakeWorker {
  postMessage(data) {
    handleRequest(structuredClone(data), (message) => this.onmessage({ data: structuredClone(message) }));
  }
}

before(async () => {
  await p.ready();
});

describe("floors.mjs", () => {
  test("needs no libsodium, and protocol2.mjs re-exports it whole", () => {
    const source = readFileSync(new URL("../../static/js/floors.mjs", import.meta.url), "utf8");
    const imports = [...source.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    assert.deepEqual(imports, ["./worker-client.mjs"]);
    for (const name of Object.keys(floors)) assert.equal(q[name], floors[name], name);
    assert.ok(new floors.FloorError("x") instanceof p.CryptoError);
  });

  test("its sentences are the doc's, in the table's order", () => {
    const doc = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");
    const table = doc.slice(doc.indexOf("### Floors"), doc.indexOf("### Keyed lookup hashes"));
    const rows = [...table.matchAll(/^\| `([a-z_.0-9]+)` \| [^|]+ \| "([^"]+)" \|$/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(rows, [
      ["argon2id.opslimit", floors.FLOOR_SENTENCES.opslimit],
      ["argon2id.memlimit", floors.FLOOR_SENTENCES.memlimit],
      ["pad_block", floors.FLOOR_SENTENCES.padBlock],
    ]);
  });

  test("checkConfigFloors reads the config's fields and says which parameter decided", () => {
    floors.checkConfigFloors(GOOD);
    const cases = [
      [{ ...GOOD, argon2id: { opslimit: 2, memlimit: 67108864 } }, "opslimit"],
      [{ ...GOOD, argon2id: { opslimit: 3, memlimit: 67108863 } }, "memlimit"],
      [{ ...GOOD, pad_block: 512 }, "padBlock"],
      [{ ...GOOD, argon2id: undefined }, "opslimit"],
      [{ argon2id: { opslimit: 1, memlimit: 1 }, pad_block: 1 }, "opslimit"],
      [null, "opslimit"],
    ];
    for (const [config, parameter] of cases) {
      assert.throws(() => floors.checkConfigFloors(config),
        { name: "FloorError", message: floors.FLOOR_SENTENCES[parameter], parameter }, parameter);
    }
  });

  test("checkConfigFloors gives the page's translated sentence when it has one", () => {
    const strings = { floor_padBlock: "Le serveur demande un bloc de remplissage trop petit." };
    assert.throws(() => floors.checkConfigFloors({ ...GOOD, pad_block: 16 }, strings),
      { name: "FloorError", message: strings.floor_padBlock, parameter: "padBlock" });
    assert.throws(() => floors.checkConfigFloors({ ...GOOD, pad_block: 3.5, argon2id: { opslimit: 2 } }, strings),
      { message: floors.FLOOR_SENTENCES.opslimit });
  });

  test("the report and mailbox pages carry the sentences as strings to translate", () => {
    for (const strings of [REPORT_STRINGS, MAILBOX_STRINGS]) {
      assert.equal(strings.floor_opslimit, floors.FLOOR_SENTENCES.opslimit);
      assert.equal(strings.floor_memlimit, floors.FLOOR_SENTENCES.memlimit);
      assert.equal(strings.floor_padBlock, floors.FLOOR_SENTENCES.padBlock);
    }
  });
});

describe("documents opened one by one", () => {
  const reader = () => p.generateKeyPair();

  test("openOrNull: the document, or null when altered, padded wrongly or not JSON", async () => {
    const client = new WorkerClient(new FakeWorker());
    const pair = reader();
    const sealed = p.sealDocument({ text: "hello" }, { me: pair.publicKey }, PAD);
    const request = (payload, slot = sealed.keySlots.me) => ({ payload, slot, secretKey: pair.secretKey, padBlock: PAD });
    assert.deepEqual(await openOrNull(client, request(sealed.payload)), { text: "hello" });

    const flipped = sealed.payload.slice();
    flipped[40] ^= 1;
    assert.equal(await openOrNull(client, request(flipped)), null);
    const slot = sealed.keySlots.me.slice();
    slot[50] ^= 1;
    assert.equal(await openOrNull(client, request(sealed.payload, slot)), null);
    assert.equal(await openOrNull(client, request(sealed.payload, "not base64!")), null);
    assert.equal(await openOrNull(client, request(sealed.payload.slice(0, 100))), null);
    // The right key over bytes that are not a padded JSON object.
    const other = reader();
    const keyOf = (doc) => p.sealDocument(doc, { me: other.publicKey }, PAD);
    const notJson = keyOf({ a: 1 });
    const array = keyOf({ b: 2 });
    for (const { payload, keySlots } of [notJson, array]) {
      const key = p.openKeySlot(keySlots.me, other.secretKey);
      const bad = payload === notJson.payload
        ? p.sealPayload(new TextEncoder().encode("{not json"), key, PAD)
        : p.sealPayload(new TextEncoder().encode("[1,2]"), key, PAD);
      assert.equal(await openOrNull(client, { payload: bad, slot: keySlots.me, secretKey: other.secretKey, padBlock: PAD }),
        null);
    }
  });

  test("openOrNull passes on what is not damage (the worker gone)", async () => {
    const gone = { call: async () => { throw new Error("The worker was stopped."); } };
    await assert.rejects(openOrNull(gone, {}), { message: "The worker was stopped." });
  });

  test("fileEntries keeps the entries that can be offered", () => {
    const good = { id: "a", key: "k", name: "x" };
    assert.deepEqual(fileEntries({ attachments: [good, null, 3, { id: 1, key: "k" }, { id: "b" }, [good]] }), [good]);
    assert.deepEqual(fileEntries({ attachments: "x" }), []);
    assert.deepEqual(fileEntries(null), []);
  });

  test("asOctetStream keeps the bytes and drops the declared type", async () => {
    const page = new Blob(["<script>alert(1)</script>"], { type: "text/html" });
    const typed = asOctetStream(page);
    assert.equal(typed.type, "application/octet-stream");
    assert.equal(await typed.text(), "<script>alert(1)</script>");
  });
});

describe("interceptInProtectedMode without a worker", () => {
  const saved = {};
  before(() => {
    saved.document = globalThis.document;
    saved.form = globalThis.HTMLFormElement;
    saved.warn = console.warn;
    globalThis.document = { getElementById: () => null };
    console.warn = () => {};
    globalThis.HTMLFormElement = class {
      constructor() {
        this.dataset = {}; // no worker script: protected mode cannot start
        this.plainSubmits = 0;
        this.listeners = [];
        this.attributes = {};
        this.button = { disabled: false };
      }

      setAttribute(name, value) {
        this.attributes[name] = value;
      }

      querySelectorAll() {
        return [this.button];
      }

      addEventListener(type, listener) {
        if (type === "submit") this.listeners.push(listener);
      }

      submit() {
        this.plainSubmits += 1;
      }

      async send() {
        const event = { prevented: false, preventDefault() { this.prevented = true; } };
        const handled = Promise.all(this.listeners.map((listener) => listener(event)));
        // What the press changed before anything was awaited: the person sees it at once.
        event.busyAtPress = this.attributes["aria-busy"];
        event.disabledAtPress = this.button.disabled;
        await handled;
        return event;
      }
    };
  });
  after(() => {
    globalThis.document = saved.document;
    globalThis.HTMLFormElement = saved.form;
    console.warn = saved.warn;
  });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

  test("asks first, and sends the plain form only on the person's choice", async () => {
    const form = new HTMLFormElement();
    const asked = [];
    interceptInProtectedMode(form, "report", () => assert.fail("no worker, no work"), {
      askBasic: (sendPlain) => asked.push(sendPlain),
    });
    // Sent before the check ended, then after: neither goes in the clear.
    const early = await form.send();
    await settle();
    const late = await form.send();
    assert.ok(early.prevented && late.prevented);
    // Busy and disabled in the press's own task, before the worker check had ended; idle again.
    assert.equal(early.busyAtPress, "true");
    assert.equal(early.disabledAtPress, true);
    assert.equal(form.attributes["aria-busy"], "false");
    assert.equal(form.button.disabled, false);
    assert.equal(asked.length, 2);
    assert.equal(form.plainSubmits, 0);
    asked[1]();
    assert.equal(form.plainSubmits, 1);
  });

  test("without askBasic the plain form goes as before (the mailbox)", async () => {
    const form = new HTMLFormElement();
    interceptInProtectedMode(form, "mailbox", () => assert.fail("no worker, no work"));
    await settle();
    const event = await form.send();
    assert.equal(event.prevented, false); // the browser submits it itself
    assert.equal(form.plainSubmits, 0);
  });
});
