// An inspector's first key: made in the keyring (static/js/keyring.mjs), wrapped there with the
// wrapping key completed after sign-in, and sent as a public key and a wrapped private key only.
// Or the public half of an offline key file, whose private half never leaves the file.

import { keyringUrl, openKeyring, pageIdleMinutes } from "./keyring-client.mjs";

async function save(area, body) {
  const response = await fetch(area.dataset.save, {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRFToken": area.dataset.csrf },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || "refused");
  window.location.assign(answer.next);
}

async function main() {
  const area = document.getElementById("key-setup");
  if (!area) return;
  const button = document.getElementById("make-key");
  const fileForm = document.getElementById("key-file-setup");
  const status = document.getElementById("key-status");
  let keyring = null;
  try {
    keyring = await openKeyring(keyringUrl(area), { idleMinutes: pageIdleMinutes() });
  } catch {
    document.getElementById("key-unavailable").hidden = false;
    return;
  }
  document.getElementById("use-key-file").disabled = false;
  if (keyring.status.wrapping) button.disabled = false;
  else document.getElementById("key-unavailable").hidden = false; // nothing unlocked in this browser
  area.dataset.ready = "1";
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const { publicKey, wrapped } = await keyring.call("new-key");
      await save(area, { public_key: publicKey, wrapped_key: wrapped });
    } catch {
      status.textContent = area.dataset.failed;
      button.disabled = false;
    }
  });
  fileForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = document.getElementById("key-file").files[0];
    const passphraseField = document.getElementById("key-file-passphrase");
    let publicKey;
    try {
      ({ publicKey } = await keyring.call("key-file", {
        text: await file.text(), passphrase: passphraseField.value || null, keep: false, // read again on a case page
      }));
    } catch {
      status.textContent = area.dataset.badFile;
      return;
    } finally {
      passphraseField.value = "";
    }
    try {
      await save(area, { public_key: publicKey, wrapped_key: null });
    } catch {
      status.textContent = area.dataset.failed;
    }
  });
}

main();
