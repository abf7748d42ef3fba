// Sealed files on their way to the server (docs/protocol.md#resumable-uploads): each file is
// sealed in the worker, then sent as a resumable upload. Its length goes first
// (POST /uploads), then its bytes (PATCH /uploads/<id> at the offset the server holds), with
// the progress of the bytes actually sent. When the connection drops, the page says so, waits
// (1 s, 2 s, 4 s… up to 30 s), asks the server how much it holds, and sends the rest.

import { ApiError, fill, formatBytes } from "./page.mjs";
import { b64encode, paddedLength, sealedLength } from "./worker-client.mjs";

export const MAX_RETRIES = 8;
const MAX_DELAY_MS = 30000;

// English fallbacks; the pages give translated ones in data-strings.
export const UPLOAD_STRINGS = {
  sealingFile: "Sealing “%(name)s”…",
  uploading: "Sending: %(sent)s of %(total)s",
  retrying: "Connection lost: trying again in %(seconds)s s…",
};

/** Whether `err` is worth another try: the link failed, or a gateway in between did. */
function transient(err) {
  return err instanceof ApiError && [0, 502, 503, 504].includes(err.status);
}

/** The wait before try `failures` + 1, in ms: 1 s, doubling, at most 30 s. */
export function retryDelay(failures) {
  return Math.min(MAX_DELAY_MS, 1000 * 2 ** (failures - 1));
}

/**
 * One append: PATCH the bytes of `blob` from `offset`, reporting bytes sent (XMLHttpRequest:
 * fetch has no upload progress). Resolves with the JSON answer; rejects with an ApiError
 * (status 0 when the connection failed, `offset` set on a 409).
 */
export function appendBytes(api, id, blob, offset, onSent, env = globalThis) {
  return new Promise((resolve, reject) => {
    const xhr = new env.XMLHttpRequest();
    xhr.open("PATCH", `${api.base}/uploads/${encodeURIComponent(id)}`);
    for (const [name, value] of Object.entries(api.headers({
      "Content-Type": "application/octet-stream", "Upload-Offset": String(offset),
    }))) {
      xhr.setRequestHeader(name, value);
    }
    xhr.withCredentials = false;
    xhr.upload.onprogress = (event) => onSent(event.loaded);
    xhr.onerror = () => reject(new ApiError(api.strings.network, 0));
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = xhr.onerror;
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && body) {
        resolve(body);
        return;
      }
      const message = typeof body?.error === "string" ? body.error : fill(api.strings.server, { status: xhr.status });
      const err = new ApiError(message, xhr.status);
      if (Number.isSafeInteger(body?.offset)) err.offset = body.offset;
      reject(err);
    };
    xhr.send(blob.slice(offset));
  });
}

/**
 * Send `blob` as a resumable upload; resolves with its id once the server holds all of it.
 * `onSent(bytes, total)` as bytes leave; `onRetry(seconds)` before each wait after a drop.
 */
export async function sendResumable(api, blob, {
  onSent = () => {}, onRetry = () => {}, wait = (ms) => new Promise((done) => setTimeout(done, ms)),
  append = appendBytes,
} = {}) {
  const started = await api.post("/uploads", { length: blob.size });
  let offset = started.offset;
  let failures = 0;
  onSent(offset, blob.size);
  for (;;) {
    try {
      const from = offset;
      const answer = await append(api, started.id, blob, offset, (sent) => onSent(from + sent, blob.size));
      if (answer.complete) {
        onSent(blob.size, blob.size);
        return started.id;
      }
      offset = answer.offset; // the server took less than was sent: send the rest
      failures = 0;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && Number.isSafeInteger(err.offset)) {
        offset = err.offset; // the server holds more (or less) than this page thought
        continue;
      }
      if (!transient(err) || failures >= MAX_RETRIES) throw err;
      failures += 1;
      const delay = retryDelay(failures);
      onRetry(Math.round(delay / 1000));
      await wait(delay);
      try {
        offset = (await api.get(`/uploads/${encodeURIComponent(started.id)}`)).offset;
      } catch (asked) {
        if (!transient(asked)) throw asked;
        // Still no link: the next append fails too, and waits longer.
      }
    }
  }
}

/**
 * Seal each file in the worker and send it, one at a time (one sealed file in memory at
 * once): `{ids, entries}` for the document. `progress` (a Progress) shows each step: sealing a
 * file, the bytes sent of all the files' sealed bytes, and a lost connection while it waits to
 * try again. Each file is padded (Padmé) before sealing, never past `options.maxSealed` (the
 * installation's `max_attachment_bytes`); its entry keeps its true size.
 */
export async function sealAndUpload(client, api, files, progress, strings = {}, options = {}) {
  const text = { ...UPLOAD_STRINGS, ...strings };
  const { maxSealed = null, ...sending } = options;
  const total = files.reduce((sum, file) => sum + sealedLength(paddedLength(file.size, maxSealed)), 0);
  const ids = [];
  const entries = [];
  let before = 0;
  for (const file of files) {
    progress.step(fill(text.sealingFile, { name: file.name || "file" }), 0);
    const sealed = await client.call("seal", { file, maxSealed }, (value) => progress.set(value));
    const shown = (sent) => {
      progress.step(fill(text.uploading, { sent: formatBytes(before + sent), total: formatBytes(total) }),
        total ? (before + sent) / total : 1);
    };
    const id = await sendResumable(api, sealed.blob, {
      ...sending, onSent: shown,
      onRetry: (seconds) => progress.step(fill(text.retrying, { seconds }), null),
    });
    before += sealed.blob.size;
    ids.push(id);
    entries.push({
      id, name: file.name || "file", type: file.type || "application/octet-stream", size: file.size,
      key: b64encode(sealed.key),
    });
  }
  return { ids, entries };
}
