// After a complete sign-in (passphrase and second factor), the keyring completes the inspector's
// wrapping key: what the passphrase gave on the sign-in page, with the server's share, which the
// server releases only now (docs/inspector-keys.md#scheme-2). A key still wrapped under the
// passphrase alone (scheme 1) is re-wrapped under the completed key there, checked, and stored.
// Then the page goes on. The wrapping key stays in the keyring (static/js/keyring.mjs).

import { keyringUrl, openKeyring, pageIdleMinutes } from "./keyring-client.mjs";
import { fetchShare } from "./staff.mjs";

async function upgrade(area, wrapped) {
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
  try {
    const keyring = await openKeyring(keyringUrl(area), { idleMinutes: pageIdleMinutes() });
    if (!keyring.status.pending) {
      // Nothing to complete: signed in with JavaScript off, or this browser could not keep the
      // keyring between pages; the case pages then ask for the passphrase.
      window.location.replace(next);
      return;
    }
    const { share } = await fetchShare(area.dataset.share);
    const scheme = Number(area.dataset.scheme);
    const { wrapped } = await keyring.call("complete", {
      share, scheme, wrapped: area.dataset.wrapped || null, publicKey: area.dataset.public || null,
    });
    if (wrapped) await upgrade(area, wrapped);
    area.dataset.done = "1";
    window.location.replace(next);
  } catch {
    document.getElementById("key-unlock-status").hidden = true;
    document.getElementById("key-unlock-failed").hidden = false;
    document.getElementById("key-unlock-next").hidden = false;
    area.dataset.done = "failed";
  }
}

main();
