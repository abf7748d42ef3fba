// The heavy work of the reporting pages, off the main thread (bundled as static/dist/worker.js,
// a classic worker). Requests are `{id, op, ...}`; answers are `{id, progress}` (0 to 1) while
// working, then `{id, result}` or `{id, error: {name, message}}`. Pages use WorkerClient.

import {
  SALT_BYTES, ShapeError, b64decode, deriveReporterKeys, ready, sealStream, solveWork,
} from "./protocol.mjs";

// Binary inputs may come as bytes or as the b64 text the API gives.
function binary(value, what, length = null) {
  if (typeof value === "string") return b64decode(value, length, what);
  if (!(value instanceof Uint8Array)) throw new ShapeError(`The ${what} must be bytes or base64url.`);
  if (length !== null && value.length !== length) throw new ShapeError(`The ${what} must be ${length} bytes.`);
  return value;
}

const OPERATIONS = {
  // {receipt, salt, opslimit, memlimit} -> {lookup, lookupHash, publicKey, secretKey}
  derive(request, progress) {
    progress(0);
    const keys = deriveReporterKeys(request.receipt, binary(request.salt, "salt", SALT_BYTES),
      request.opslimit, request.memlimit);
    progress(1);
    const result = {
      lookup: keys.lookup, lookupHash: keys.lookupHash, publicKey: keys.publicKey, secretKey: keys.secretKey,
    };
    return [result, [...new Set(Object.values(result).map((bytes) => bytes.buffer))]];
  },

  // {file: Blob} -> {key, blob}: the sealed stream, ready to upload.
  async seal(request, progress) {
    const file = request.file instanceof Blob ? request.file : binary(request.file, "file");
    progress(0);
    const { key, parts } = await sealStream(file, null, (done, total) => progress(total ? done / total : 1));
    return [{ key, blob: new Blob(parts, { type: "application/octet-stream" }) }, [key.buffer]];
  },

  // {challenge, bits} -> {nonce}
  pow(request, progress) {
    progress(0);
    // The chance of having found a solution after `tried` hashes, as a progress estimate.
    const nonce = solveWork(binary(request.challenge, "challenge"), request.bits,
      (tried, expected) => progress(1 - Math.exp(-tried / expected)));
    progress(1);
    return [{ nonce }, []];
  },
};

/** Answer one request; `post(message, transfer)` sends the progress messages and the answer. */
export async function handleRequest(request, post) {
  const id = request?.id;
  try {
    const op = request?.op;
    if (!Object.prototype.hasOwnProperty.call(OPERATIONS, op)) throw new TypeError(`Unknown operation: ${op}.`);
    await ready();
    const [result, transfer] = await OPERATIONS[op](request, (progress) => post({ id, progress }, []));
    post({ id, result }, transfer);
  } catch (err) {
    post({ id, error: { name: err?.name ?? "Error", message: String(err?.message ?? err) } }, []);
  }
}

// Only inside a worker: importing this module elsewhere (the tests) installs nothing.
if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  self.onmessage = (event) => handleRequest(event.data, (message, transfer) => self.postMessage(message, transfer));
}
