// How a staff page reaches the keyring (static/js/keyring.mjs): the SharedWorker every staff page
// of this browser shares, at the address in the page's `data-keyring`. The client is the one the
// reporting worker uses (WorkerClient), on the worker's port.

import { KEYRING_NAME, WorkerClient, withTimeout } from "./worker-client.mjs";

/** The keyring address the page gives (on <body> or the element `from`), or "". */
export function keyringUrl(from = null) {
  return from?.dataset?.keyring || document.body.dataset.keyring || "";
}

/**
 * Connect to the keyring at `url`; resolves with a WorkerClient whose `status` is the answer to
 * `ping` ({pending, unlocked}). `idleMinutes` is the server's idle time, after which it wipes.
 * Without SharedWorker, the keyring runs as this page's own worker (keys last for the page).
 */
export async function openKeyring(url, { idleMinutes = null, timeoutMs = 30000, env = globalThis } = {}) {
  if (!url) throw new Error("This page names no keyring.");
  if (typeof env.WebAssembly !== "object" || env.WebAssembly === null) {
    throw new Error("This browser has no WebAssembly.");
  }
  let client;
  if (typeof env.SharedWorker === "function") {
    const worker = new env.SharedWorker(url, { name: KEYRING_NAME, extendedLifetime: true });
    client = new WorkerClient(worker.port);
    worker.onerror = () => client.failAll(new Error("The keyring failed to start."));
    client.shared = true;
  } else {
    client = new WorkerClient(new env.Worker(url, { name: KEYRING_NAME }));
    client.shared = false;
  }
  client.status = await withTimeout(client.call("ping", idleMinutes ? { idleMinutes } : {}), timeoutMs,
    "The keyring did not answer in time.");
  return client;
}

/** The idle time the page gives the signed-in user, in minutes (0 when none). */
export function pageIdleMinutes() {
  return Number(document.body.dataset.idleMinutes) || 0;
}
