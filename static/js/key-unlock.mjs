// After a complete sign-in (passphrase and second factor), an inspector's tab completes its
// wrapping key: what the passphrase gave on the sign-in page, with the server's share, which
// the server releases only now (docs/inspector-keys.md#scheme-2). A key still wrapped under the
// passphrase alone (scheme 1) is re-wrapped under the completed key here, checked, and stored.
// Then the page goes on. The case pages find the completed key in this tab's sessionStorage.

import { b64encode, startWorker } from "./worker-client.mjs";
import { fetchShare, WRAP_BASE, WRAPPING_KEY } from "./staff.mjs";

async function upgrade(area, client, base, wrappingKey) {
  const { wrapped } = await client.call("staff-rewrap", {
    wrapped: area.dataset.wrapped, oldWrappingKey: base, newWrappingKey: wrappingKey,
    publicKey: area.dataset.public,
  });
  const response = await fetch(area.dataset.upgrade, {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRFToken": area.dataset.csrf },
    body: JSON.stringify({ wrapped_key: wrapped }),
  });
  if (!response.ok) throw new Error("refused");
}

async function main() {
  const area = document.getElementById("key-unlock");
  if (!area) return;
  const next = area.dataset.next;
  const base = sessionStorage.getItem(WRAP_BASE);
  if (!base) {
    // Nothing to complete: signed in elsewhere, or the passphrase page already did it.
    window.location.replace(next);
    return;
  }
  let client = null;
  try {
    client = await startWorker(area.dataset.worker, area.dataset.workerIntegrity);
    const { share } = await fetchShare(area.dataset.share);
    const { wrappingKey } = await client.call("staff-share-key", { wrappingKey: base, share });
    if (area.dataset.wrapped && area.dataset.scheme === "1") await upgrade(area, client, base, wrappingKey);
    sessionStorage.setItem(WRAPPING_KEY, b64encode(wrappingKey));
    sessionStorage.removeItem(WRAP_BASE);
    wrappingKey.fill(0);
    client.terminate();
    area.dataset.done = "1";
    window.location.replace(next);
  } catch {
    if (client) client.terminate();
    sessionStorage.removeItem(WRAP_BASE);
    document.getElementById("key-unlock-status").hidden = true;
    document.getElementById("key-unlock-failed").hidden = false;
    document.getElementById("key-unlock-next").hidden = false;
    area.dataset.done = "failed";
  }
}

main();
