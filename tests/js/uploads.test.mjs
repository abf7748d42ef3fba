// Resumable uploads in the page (static/js/uploads.mjs): the bytes go at the offset the server
// holds, a dropped connection waits 1 s, 2 s, 4 s… and resumes where the server stopped, a 409
// moves to the server's offset, and other refusals stop at once. The server side is
// tests/test_resumable_uploads.py; the whole path in Chromium, tests/browser/test_browser_reach.py.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as p from "../../static/js/protocol.mjs";
import { ApiError } from "../../static/js/page.mjs";
import {
  MAX_RETRIES, appendBytes, retryDelay, sealAndUpload, sendResumable,
} from "../../static/js/uploads.mjs";
import { WorkerClient, sealedLength } from "../../static/js/worker-client.mjs";
import { handleRequest } from "../../static/js/worker.mjs";

// A Worker-like object that answers through handleRequest.
class FakeWorker {
  postMessage(data) {
    handleRequest(structuredClone(data), (message) => this.onmessage({ data: structuredClone(message) }));
  }
}

/** A server holding uploads in memory, behind the two calls sendResumable makes. */
function fakeServer() {
  const server = { uploads: new Map(), posts: [], gets: 0 };
  server.api = {
    base: "/api/v1",
    strings: { network: "No link.", server: "Error %(status)s." },
    headers: (extra) => extra,
    async post(path, body) {
      server.posts.push([path, body]);
      const id = `u${server.uploads.size + 1}`;
      server.uploads.set(id, { length: body.length, bytes: [] });
      return { id, offset: 0, length: body.length, complete: false };
    },
    async get(path) {
      server.gets += 1;
      const upload = server.uploads.get(path.split("/").pop());
      return { offset: upload.bytes.length, length: upload.length, complete: upload.bytes.length === upload.length };
    },
  };
  return server;
}

const blobOf = (n) => new Blob([new Uint8Array(n).map((_, i) => i % 251)]);

/** An append that takes everything, or drops the link after `cut` bytes on the tries listed. */
function appender(server, drops = new Map()) {
  let tries = 0;
  const seen = [];
  const append = async (api, id, blob, offset, onSent) => {
    tries += 1;
    seen.push(offset);
    const upload = server.uploads.get(id);
    if (offset !== upload.bytes.length) {
      throw Object.assign(new ApiError("Elsewhere.", 409), { offset: upload.bytes.length });
    }
    const bytes = new Uint8Array(await blob.slice(offset).arrayBuffer());
    const cut = drops.get(tries);
    const kept = cut === undefined ? bytes : bytes.subarray(0, cut);
    upload.bytes.push(...kept);
    onSent(kept.length);
    if (cut !== undefined) throw new ApiError("No link.", 0);
    return { id, offset: upload.bytes.length, length: upload.length, complete: upload.bytes.length === upload.length };
  };
  return { append, seen };
}

describe("sendResumable", () => {
  test("one append when the link holds; progress up to every byte", async () => {
    const server = fakeServer();
    const blob = blobOf(5000);
    const sent = [];
    const { append } = appender(server);
    const id = await sendResumable(server.api, blob, { append, onSent: (bytes, total) => sent.push([bytes, total]) });
    assert.equal(id, "u1");
    assert.deepEqual(server.posts, [["/uploads", { length: 5000 }]]);
    assert.deepEqual(sent.at(-1), [5000, 5000]);
    assert.deepEqual(Uint8Array.from(server.uploads.get("u1").bytes), new Uint8Array(await blob.arrayBuffer()));
  });

  test("a dropped link waits, asks where the server stopped, and sends the rest", async () => {
    const server = fakeServer();
    const blob = blobOf(100_000);
    const waits = [];
    const retries = [];
    const { append, seen } = appender(server, new Map([[1, 40_000], [2, 0], [3, 10_000]]));
    const id = await sendResumable(server.api, blob, {
      append, wait: async (ms) => { waits.push(ms); }, onRetry: (seconds) => retries.push(seconds),
    });
    assert.deepEqual(waits, [1000, 2000, 4000]);
    assert.deepEqual(retries, [1, 2, 4]);
    assert.deepEqual(seen, [0, 40_000, 40_000, 50_000]);
    assert.equal(server.gets, 3);
    assert.deepEqual(Uint8Array.from(server.uploads.get(id).bytes), new Uint8Array(await blob.arrayBuffer()));
  });

  test("a 409 moves to the offset the server holds", async () => {
    const server = fakeServer();
    const blob = blobOf(3000);
    const { append, seen } = appender(server);
    const wrapped = async (api, id, b, offset, onSent) => append(api, id, b, offset === 0 && seen.length === 0 ? 7 : offset, onSent);
    await sendResumable(server.api, blob, { append: wrapped });
    assert.deepEqual(seen, [7, 0]);
  });

  test("other refusals stop at once; a link that never comes back gives up", async () => {
    const server = fakeServer();
    const refused = async () => { throw new ApiError("Too large.", 413); };
    await assert.rejects(sendResumable(server.api, blobOf(10), { append: refused }), /Too large/);
    let tries = 0;
    const dead = async () => { tries += 1; throw new ApiError("No link.", 0); };
    server.api.get = async () => { throw new ApiError("No link.", 0); };
    await assert.rejects(sendResumable(server.api, blobOf(10), { append: dead, wait: async () => {} }), /No link/);
    assert.equal(tries, MAX_RETRIES + 1);
  });

  test("the waits double from 1 s to at most 30 s", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map(retryDelay), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});

describe("appendBytes", () => {
  /** An XMLHttpRequest that records what it was asked to send and answers as told. */
  function fakeXhr(answer) {
    const made = [];
    class FakeXhr {
      constructor() {
        this.headers = {};
        this.upload = {};
        made.push(this);
      }

      open(method, url) { Object.assign(this, { method, url }); }

      setRequestHeader(name, value) { this.headers[name] = value; }

      async send(body) {
        this.body = body;
        this.upload.onprogress?.({ loaded: body.size });
        if (answer === "drop") { this.onerror(); return; }
        Object.assign(this, answer);
        this.onload();
      }
    }
    return { env: { XMLHttpRequest: FakeXhr }, made };
  }

  const api = { base: "/api/v1", strings: { network: "No link.", server: "Error %(status)s." }, headers: (extra) => ({ "Accept-Language": "fr", ...extra }) };

  test("PATCHes the bytes from the offset, with the offset in a header, and reports bytes sent", async () => {
    const { env, made } = fakeXhr({ status: 200, responseText: '{"id":"u1","offset":10,"length":10,"complete":true}' });
    const sent = [];
    const answer = await appendBytes(api, "u/1", blobOf(10), 4, (n) => sent.push(n), env);
    assert.equal(answer.complete, true);
    const [xhr] = made;
    assert.equal(xhr.method, "PATCH");
    assert.equal(xhr.url, "/api/v1/uploads/u%2F1");
    assert.deepEqual(xhr.headers, { "Accept-Language": "fr", "Content-Type": "application/octet-stream", "Upload-Offset": "4" });
    assert.equal(xhr.withCredentials, false);
    assert.equal(xhr.body.size, 6);
    assert.deepEqual(sent, [6]);
  });

  test("a 409 carries the server's offset; a dropped link is status 0", async () => {
    const { env } = fakeXhr({ status: 409, responseText: '{"error":"Elsewhere.","offset":3}' });
    await assert.rejects(appendBytes(api, "u1", blobOf(10), 0, () => {}, env),
      (err) => err instanceof ApiError && err.status === 409 && err.offset === 3 && err.message === "Elsewhere.");
    const dropped = fakeXhr("drop");
    await assert.rejects(appendBytes(api, "u1", blobOf(10), 0, () => {}, dropped.env),
      (err) => err instanceof ApiError && err.status === 0);
    const broken = fakeXhr({ status: 500, responseText: "<html>" });
    await assert.rejects(appendBytes(api, "u1", blobOf(10), 0, () => {}, broken.env), /Error 500/);
  });
});

describe("sealAndUpload", () => {
  test("seals each file in the worker, sends it, and shows sealing, bytes sent and a lost link", async () => {
    const server = fakeServer();
    const worker = new WorkerClient(new FakeWorker());
    const plainBytes = (length) => Uint8Array.from({ length }, (_, i) => (i * 31 + 7) % 251);
    const files = [
      new File([plainBytes(70000)], "photo.jpg", { type: "image/jpeg" }),
      new File([new Uint8Array(0)], "empty.txt"),
    ];
    const steps = [];
    const progress = { step: (text, value) => steps.push([text, value]), set: () => {} };
    const { append } = appender(server, new Map([[1, 30000]]));
    const wait = async () => {};
    const strings = { uploading: "%(sent)s/%(total)s", retrying: "lost %(seconds)s", sealingFile: "sealing %(name)s" };
    // The wait is the page's timer: replaced by one that returns at once.
    const { ids, entries } = await sealAndUpload(worker, server.api, files, progress, strings,
      { append: (...args) => append(...args), wait });
    assert.deepEqual(ids, ["u1", "u2"]);
    assert.deepEqual(entries.map(({ id, name, type, size }) => [id, name, type, size]),
      [["u1", "photo.jpg", "image/jpeg", 70000], ["u2", "empty.txt", "application/octet-stream", 0]]);
    for (const [i, entry] of entries.entries()) {
      // Sealed padded with zeros to its Padmé length (70,000 bytes become 71,680); the entry
      // keeps the true size.
      const sealed = Uint8Array.from(server.uploads.get(entry.id).bytes);
      const padded = p.paddedLength(files[i].size);
      assert.equal(sealed.length, sealedLength(padded));
      const opened = await p.openStream(new Blob([sealed]), p.b64decode(entry.key, 32));
      const original = new Uint8Array(await files[i].arrayBuffer());
      assert.deepEqual(opened.subarray(0, entry.size), original);
      assert.deepEqual(opened.subarray(entry.size), new Uint8Array(padded - files[i].size));
    }
    const texts = steps.map(([text]) => text);
    assert.equal(texts[0], "sealing photo.jpg");
    assert.ok(texts.includes("lost 1"));
    const total = sealedLength(71680) + sealedLength(0);
    assert.equal(texts.at(-1), `${Math.floor(total / 1024)} KB/${Math.floor(total / 1024)} KB`);
    const shares = steps.filter(([text]) => text.includes("/")).map(([, value]) => value);
    assert.deepEqual(shares, [...shares].sort((a, b) => a - b));
    assert.equal(shares.at(-1), 1);
  });
});
