// An inspector's first key: made in the worker, wrapped there with the wrapping key the
// sign-in page derived, and sent as a public key and a wrapped private key only. Or the
// public half of an offline key file, whose private half never leaves the file.

import { b64encode, startWorker } from "./worker-client.mjs";
import { WRAPPING_KEY } from "./staff.mjs";

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
  const wrappingKey = sessionStorage.getItem(WRAPPING_KEY);
  let client = null;
  try {
    if (!wrappingKey) throw new Error("nothing unlocked in this tab");
    client = await startWorker(area.dataset.worker, area.dataset.workerIntegrity);
  } catch {
    document.getElementById("key-unavailable").hidden = false;
    return;
  }
  button.disabled = false;
  document.getElementById("use-key-file").disabled = false;
  area.dataset.ready = "1";
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const pair = await client.call("staff-keypair", {});
      const { wrapped } = await client.call("staff-wrap", { secretKey: pair.secretKey, wrappingKey });
      pair.secretKey.fill(0);
      await save(area, { public_key: b64encode(pair.publicKey), wrapped_key: wrapped });
    } catch {
      status.textContent = area.dataset.failed;
      button.disabled = false;
    }
  });
  fileForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = document.getElementById("key-file").files[0];
    let pair;
    try {
      pair = await client.call("key-file", { text: await file.text() });
      pair.secretKey.fill(0);
    } catch {
      status.textContent = area.dataset.badFile;
      return;
    }
    try {
      await save(area, { public_key: b64encode(pair.publicKey), wrapped_key: null });
    } catch {
      status.textContent = area.dataset.failed;
    }
  });
}

main();
