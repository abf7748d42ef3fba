// The browser's cleaner gives the bytes the server's gives (tests/vectors/clean-files.json,
// written by tests/helpers/clean_vectors.py from the Python cleaner).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { inflateRawSync } from "node:zlib";

import { cleanFile, sniff } from "../../static/js/clean-files.mjs";

const folder = new URL("../vectors/clean-files/", import.meta.url);
const vectors = JSON.parse(readFileSync(new URL("../vectors/clean-files.json", import.meta.url)));
const sample = (name) => new Uint8Array(readFileSync(new URL(name, folder)));
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

for (const vector of vectors) {
  test(`${vector.file} cleans to the shared vector`, async () => {
    const result = await cleanFile(sample(vector.file));
    assert.deepEqual([result.kind, result.status, result.found], [vector.kind, vector.status, vector.found]);
    assert.equal(sha256(result.data), vector.sha256);
  });
}

function applyDamage(data, cut, changes) {
  const copy = Uint8Array.from(data);
  for (const [place, value] of changes) copy[place] = value;
  return cut === null ? copy : copy.subarray(0, cut);
}

test("cut and altered samples clean to the same bytes as on the server", async () => {
  for (const vector of vectors) {
    const data = sample(vector.file);
    for (const copy of vector.damaged) {
      const result = await cleanFile(applyDamage(data, copy.cut, copy.changes));
      const label = `${vector.file} ${JSON.stringify([copy.cut, copy.changes])}`;
      assert.deepEqual([result.status, result.found], [copy.status, copy.found], label);
      assert.equal(sha256(result.data), copy.sha256, label);
    }
  }
});

test("the browser's inflater and node's agree on what an Office file carried", async () => {
  const data = sample("roster.docx");
  const own = await cleanFile(data);
  const other = await cleanFile(data, { inflate: async (raw) => new Uint8Array(inflateRawSync(raw)) });
  assert.deepEqual(own.found, other.found);
  assert.ok(own.found.includes("author") && own.found.includes("company"));
});

test("a cleaned file has nothing left to clean", async () => {
  for (const vector of vectors) {
    const once = await cleanFile(sample(vector.file));
    const again = await cleanFile(once.data);
    assert.equal(sha256(again.data), sha256(once.data), vector.file);
    if (once.status === "cleaned") assert.equal(again.status, "clean", vector.file);
  }
});

test("cut or damaged files never break the cleaner", async () => {
  for (const vector of vectors) {
    const data = sample(vector.file);
    for (let cut = 0; cut < data.length; cut += Math.max(1, Math.floor(data.length / 61))) {
      const result = await cleanFile(data.subarray(0, cut));
      assert.ok(["cleaned", "clean", "unchecked", "failed"].includes(result.status));
    }
  }
});

test("the kind of a file comes from its first bytes, not its name", () => {
  assert.equal(sniff(sample("photo.heic")), "heif");
  assert.equal(sniff(new TextEncoder().encode("plain words")), "text");
  assert.equal(sniff(Uint8Array.of(0, 1, 2, 0xff)), "other");
});

test("the page says in plain words what was found and removed", async () => {
  const { CLEAN_STRINGS, fileSentence } = await import("../../static/js/file-checks.mjs");
  const photo = await cleanFile(sample("photo.jpg"));
  assert.equal(fileSentence(photo, CLEAN_STRINGS, "en"),
    "Found and removed: GPS position, camera or phone model, dates and times, software used, and other hidden details.");
  assert.equal(fileSentence(await cleanFile(sample("note.txt")), CLEAN_STRINGS), "No hidden details found.");
  assert.equal(fileSentence(await cleanFile(sample("data.bin")), CLEAN_STRINGS),
    "This kind of file is not checked for hidden details.");
  assert.match(fileSentence(await cleanFile(sample("clip.mp4")), CLEAN_STRINGS), /cannot be removed here/);
  const french = { ...CLEAN_STRINGS, fileCleaned: "Trouvé et retiré : %(details)s.", found_gps: "position GPS",
    found_camera: "modèle", found_date: "dates", found_software: "logiciel", found_other: "autres" };
  assert.equal(fileSentence(photo, french, "fr"), "Trouvé et retiré : position GPS, modèle, dates, logiciel et autres.");
});
