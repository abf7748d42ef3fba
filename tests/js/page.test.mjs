// The libsodium-free side of the pages: startWorker (Subresource Integrity, ping), the shared
// page helpers (static/js/page.mjs), and the page bundles, which must not carry libsodium.

import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import * as p from "../../static/js/protocol.mjs";
import * as client from "../../static/js/worker-client.mjs";
import {
  Api, ApiError, fileLimitError, fill, formatBytes, formatDay, pageStrings, readersFor,
} from "../../static/js/page.mjs";
import { STRINGS as MAILBOX_STRINGS, safeFileName } from "../../static/js/mailbox.mjs";
import { STRINGS as REPORT_STRINGS } from "../../static/js/report.mjs";
import { handleRequest } from "../../static/js/worker.mjs";

const vectors = JSON.parse(readFileSync(new URL("../vectors/protocol-v1.json", import.meta.url), "utf8"));
const cheap = vectors.derivations.find((d) => d.receipt === "12345678901234567890" && d.opslimit === 2);
const plainBytes = (length) => Uint8Array.from({ length }, (_, i) => (i * 31 + 7) % 251);

// A Worker-like object that answers through handleRequest.
class FakeWorker {
  constructor(url = null) {
    this.url = url;
  }

  postMessage(data) {
    handleRequest(structuredClone(data), (message) => this.onmessage({ data: structuredClone(message) }));
  }

  terminate() {
    this.terminated = true;
  }
}

/** A browser's fetch, URL and Worker for startWorker, recording what it is asked. */
function fakeEnv({ ok = true, status = 200, script = "/* worker */", wasm = true, fetchError = null,
  WorkerClass = FakeWorker } = {}) {
  const seen = { fetches: [], created: [], revoked: [], workers: [] };
  const env = {
    WebAssembly: wasm ? {} : undefined,
    async fetch(url, init) {
      seen.fetches.push([url, init]);
      if (fetchError) throw fetchError;
      return { ok, status, blob: async () => new Blob([script]) };
    },
    URL: {
      createObjectURL(blob) {
        seen.created.push(blob);
        return `blob:test/${seen.created.length}`;
      },
      revokeObjectURL(url) {
        seen.revoked.push(url);
      },
    },
    Worker: class extends WorkerClass {
      constructor(url) {
        super(url);
        seen.workers.push(this);
      }
    },
  };
  return { env, seen };
}

before(async () => {
  await p.ready();
});

describe("worker-client.mjs", () => {
  test("needs no libsodium, and protocol.mjs re-exports it whole", () => {
    const source = readFileSync(new URL("../../static/js/worker-client.mjs", import.meta.url), "utf8");
    assert.doesNotMatch(source, /^\s*import\b|\bimport\s*\(/m);
    for (const name of Object.keys(client)) assert.equal(p[name], client[name], name);
    assert.equal(p.formatReceipt("12345678901234567890"), "1234 5678 9012 3456 7890");
    assert.equal(p.sealedLength(65537), 24 + 65553 + 18);
  });
});

describe("startWorker", () => {
  test("fetches the script with its integrity, runs it from a Blob URL, and pings it", async () => {
    const { env, seen } = fakeEnv({ script: "self.x = 1;" });
    const worker = await client.startWorker("/static/dist/worker.js", "sha384-abc", { env });
    assert.equal(seen.fetches.length, 1);
    const [url, init] = seen.fetches[0];
    assert.equal(url, "/static/dist/worker.js");
    assert.equal(init.integrity, "sha384-abc");
    assert.equal(init.credentials, "omit");
    assert.equal(init.cache, undefined); // a versioned address: a kept copy is the same bytes
    assert.equal(seen.created.length, 1);
    assert.equal(seen.created[0].type, "text/javascript");
    assert.equal(await seen.created[0].text(), "self.x = 1;");
    assert.equal(seen.workers.length, 1);
    assert.equal(seen.workers[0].url, "blob:test/1");
    assert.deepEqual(seen.revoked, ["blob:test/1"]);
    const keys = await worker.call("derive", { receipt: cheap.receipt, salt: cheap.salt, opslimit: cheap.opslimit,
      memlimit: cheap.memlimit });
    assert.equal(p.b64encode(keys.lookup), cheap.lookup);
  });

  test("fetches without integrity when the page gives none (a development build)", async () => {
    const { env, seen } = fakeEnv();
    await client.startWorker("/w.js", "", { env });
    assert.ok(!("integrity" in seen.fetches[0][1]));
  });

  test("refuses without WebAssembly, before fetching anything", async () => {
    const { env, seen } = fakeEnv({ wasm: false });
    await assert.rejects(client.startWorker("/w.js", "sha384-abc", { env }), /WebAssembly/);
    assert.equal(seen.fetches.length, 0);
  });

  test("refuses a failed fetch (a hash mismatch rejects it) or an error status, starting nothing", async () => {
    for (const options of [{ fetchError: new TypeError("Failed integrity metadata check.") }, { ok: false, status: 404 }]) {
      const { env, seen } = fakeEnv(options);
      await assert.rejects(client.startWorker("/w.js", "sha384-abc", { env }));
      assert.equal(seen.workers.length, 0);
      assert.equal(seen.created.length, 0);
    }
  });

  test("gives up on a worker that does not answer, and stops it", async () => {
    class Silent {
      postMessage() {}

      terminate() {
        this.terminated = true;
      }
    }
    const { env, seen } = fakeEnv({ WorkerClass: Silent });
    await assert.rejects(client.startWorker("/w.js", "", { env, timeoutMs: 30 }), /did not answer/);
    assert.equal(seen.workers[0].terminated, true);
    assert.deepEqual(seen.revoked, ["blob:test/1"]);
  });

  test("fails when the worker reports an error (libsodium did not load) or fails to load", async () => {
    class Broken extends FakeWorker {
      postMessage(data) {
        this.onmessage({ data: { id: data.id, error: { name: "Error", message: "no WebAssembly here" } } });
      }
    }
    const broken = fakeEnv({ WorkerClass: Broken });
    await assert.rejects(client.startWorker("/w.js", "", { env: broken.env }), /no WebAssembly here/);
    assert.equal(broken.seen.workers[0].terminated, true);

    class Blocked extends FakeWorker {
      postMessage() {
        queueMicrotask(() => this.onerror({ message: "Refused by the policy." }));
      }
    }
    const blocked = fakeEnv({ WorkerClass: Blocked });
    await assert.rejects(client.startWorker("/w.js", "", { env: blocked.env }), /Refused by the policy/);
  });
});

describe("page helpers", () => {
  test("fill replaces Python-style placeholders and leaves unknown ones", () => {
    assert.equal(fill("Please answer “%(label)s”.", { label: "When?" }), "Please answer “When?”.");
    assert.equal(fill("At most %(count)d files, %(other)s.", { count: 20 }), "At most 20 files, %(other)s.");
  });

  test("pageStrings takes translated strings from data-strings, key by key", () => {
    const defaults = { a: "A", b: "B" };
    assert.deepEqual(pageStrings({ dataset: { strings: '{"a": "Ä", "b": "", "c": 3}' } }, defaults),
      { a: "Ä", b: "B" });
    assert.deepEqual(pageStrings({ dataset: { strings: "{not json" } }, defaults), defaults);
    assert.deepEqual(pageStrings({ dataset: {} }, defaults), defaults);
    assert.deepEqual(pageStrings(null, defaults), defaults);
  });

  test("formatDay: the page's language, CLDR medium form, Latin digits", () => {
    assert.equal(formatDay("2027-06-01", "en"), "Jun 1, 2027");
    assert.equal(formatDay("2027-06-01", "fr"), "1 juin 2027");
    assert.match(formatDay("2027-06-01", "ru"), /^1 июн\. 2027/);
    assert.match(formatDay("2027-06-01", "ar"), /^01\u200f\/06\u200f\/2027$/);
    assert.equal(formatDay("not a day", "fr"), "not a day");
  });

  test("formatBytes", () => {
    assert.equal(formatBytes(50 * 1048576), "50 MB");
    assert.equal(formatBytes(900 * 1024), "900 KB");
    assert.equal(formatBytes(10), "1 KB");
  });

  test("fileLimitError checks the count, then each file's sealed size", () => {
    const config = { max_attachments: 2, max_attachment_bytes: client.sealedLength(1000) };
    const file = (name, size) => ({ name, size });
    assert.equal(fileLimitError([file("a", 1000), file("b", 10)], config, REPORT_STRINGS, client.sealedLength), "");
    assert.equal(fileLimitError([file("a", 1), file("b", 1), file("c", 1)], config, REPORT_STRINGS, client.sealedLength),
      "A report or message takes at most 2 attachments.");
    assert.match(fileLimitError([file("big.pdf", 1001)], config, REPORT_STRINGS, client.sealedLength), /“big\.pdf”/);
    assert.equal(fileLimitError([file("a", 1e9)], {}, REPORT_STRINGS, client.sealedLength), "");
  });

  test("readersFor: the recipients, the reporter, and recovery only when configured", () => {
    const recipients = [{ id: "3", public_key: "k3", name: "x" }, { id: "8", public_key: "k8" }];
    assert.deepEqual(readersFor(recipients, "kr", null), { 3: "k3", 8: "k8", reporter: "kr" });
    assert.deepEqual(readersFor(recipients, "kr", "kv"), { 3: "k3", 8: "k8", reporter: "kr", recovery: "kv" });
  });

  test("safeFileName keeps a name but no path or control characters", () => {
    assert.equal(safeFileName("evidence.bin"), "evidence.bin");
    assert.equal(safeFileName("../../etc/passwd"), "_.._etc_passwd");
    assert.equal(safeFileName("a\u0000b\nc:d"), "a_b_c_d");
    assert.equal(safeFileName("  ..  "), "attachment");
    assert.equal(safeFileName(undefined), "attachment");
    assert.equal(safeFileName("Zoë — photo.jpg"), "Zoë — photo.jpg");
    assert.equal(safeFileName("x".repeat(300)).length, 120);
  });

  test("every page string is a non-empty sentence or label", () => {
    for (const strings of [REPORT_STRINGS, MAILBOX_STRINGS]) {
      for (const [key, value] of Object.entries(strings)) assert.ok(typeof value === "string" && value.trim(), key);
    }
  });
});

describe("Api", () => {
  const saved = {};
  const calls = [];
  let answer;
  before(() => {
    saved.fetch = globalThis.fetch;
    saved.document = globalThis.document;
    globalThis.document = { documentElement: { lang: "fr" } };
    globalThis.fetch = async (url, init) => {
      calls.push([url, init]);
      return answer();
    };
  });
  after(() => {
    globalThis.fetch = saved.fetch;
    if (saved.document === undefined) delete globalThis.document;
    else globalThis.document = saved.document;
  });

  test("posts JSON without cookies, in the page's language", async () => {
    answer = () => new Response(JSON.stringify({ status: "received" }), { status: 201 });
    const api = new Api("/api/v1/");
    assert.deepEqual(await api.post("/reports", { a: 1 }), { status: "received" });
    const [url, init] = calls.at(-1);
    assert.equal(url, "/api/v1/reports");
    assert.equal(init.method, "POST");
    assert.equal(init.credentials, "omit");
    assert.equal(init.body, '{"a":1}');
    assert.deepEqual(init.headers, { "Accept-Language": "fr", "Content-Type": "application/json" });
  });

  test("uploads a Blob as application/octet-stream", async () => {
    answer = () => new Response(JSON.stringify({ id: "x" }), { status: 201 });
    const blob = new Blob([new Uint8Array(3)]);
    assert.deepEqual(await new Api("/api/v1").upload("/attachments", blob), { id: "x" });
    assert.equal(calls.at(-1)[1].body, blob);
    assert.equal(calls.at(-1)[1].headers["Content-Type"], "application/octet-stream");
  });

  test("a refusal carries the server's sentence and status", async () => {
    answer = () => new Response(JSON.stringify({ error: "Nothing matches this receipt." }), { status: 404 });
    await assert.rejects(new Api("/api/v1").post("/mailbox", {}),
      (err) => err instanceof ApiError && err.status === 404 && err.message === "Nothing matches this receipt.");
  });

  test("a failure without a sentence, or no answer at all, gets the page's own sentence", async () => {
    answer = () => new Response("<html>Bad gateway</html>", { status: 502 });
    await assert.rejects(new Api("/api/v1").get("/config"),
      (err) => err.status === 502 && /error 502/.test(err.message));
    answer = () => {
      throw new TypeError("Failed to fetch");
    };
    await assert.rejects(new Api("/api/v1", { network: "Offline." }).get("/config"),
      (err) => err instanceof ApiError && err.status === 0 && err.message === "Offline.");
  });
});

describe("built page bundles", () => {
  for (const name of ["report.js", "mailbox.js"]) {
    const bundle = fileURLToPath(new URL(`../../static/dist/${name}`, import.meta.url));
    const skip = !existsSync(bundle) && "not built: npm run build";
    test(`${name} is self-contained and carries no libsodium`, { skip }, () => {
      const code = readFileSync(bundle, "utf8");
      assert.doesNotMatch(code, /\bfrom\s*["']|\bimport\s*\(|\brequire\s*\(/);
      assert.doesNotMatch(code, /libsodium|crypto_pwhash|crypto_secretstream|_sodium/);
      // A reporter's page script stays small on a cheap phone and a poor link: under 80 KiB
      // minified (the mailbox's, with the voice recorder, records and reports of retaliation,
      // is about 64 KiB, 21 KB as sent with brotli); libsodium is the worker's alone.
      assert.ok(statSync(bundle).size < 80 * 1024, `${name} is ${statSync(bundle).size} bytes`);
      assert.match(code, /new Worker\(/);
    });
  }
});
