// Staff sign-in: the passphrase is split on this device (docs/inspector-keys.md). The server
// gets only the derived login value; the wrapping key stays in this tab, for the inspector's
// key, and is forgotten on sign-out or when the tab closes.

import { b64encode, startWorker } from "./worker-client.mjs";

const WRAPPING_KEY = "integrity.wrappingKey";
const OFFLINE_KEY = "integrity.offlineKey"; // a key file read on the case page

function forget() {
  sessionStorage.removeItem(WRAPPING_KEY);
  sessionStorage.removeItem(OFFLINE_KEY);
}

function csrfToken(form) {
  return form.querySelector('input[name="csrf_token"]')?.value || "";
}

async function loginParams(form, email) {
  const response = await fetch(form.dataset.params, {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(form) },
    body: JSON.stringify({ email }),
  });
  if (!response.ok) throw new Error(`sign-in parameters: ${response.status}`);
  return response.json();
}

function showProgress(form, on) {
  const area = document.getElementById("progress-area");
  if (area) area.hidden = !on;
  form.setAttribute("aria-busy", on ? "true" : "false");
  const button = form.querySelector('button[type="submit"]');
  if (button) button.disabled = on;
}

function main() {
  const form = document.getElementById("login-form");
  if (!form) return;
  forget(); // a new sign-in starts with nothing unlocked
  // The handler is attached at once, before the worker is up, so that a quick submission
  // still waits for the split instead of sending the passphrase itself.
  const worker = startWorker(form.dataset.worker, form.dataset.workerIntegrity).then(
    (client) => {
      form.dataset.ready = "1";
      return client;
    },
    () => {
      const note = document.getElementById("login-mode");
      if (note) note.hidden = false; // "inspectors need JavaScript and WebAssembly"
      form.dataset.ready = "plain";
      return null;
    },
  );
  form.addEventListener("submit", async (event) => {
    if (form.dataset.derived === "done") return; // the second, real submission
    event.preventDefault();
    const email = form.elements.email.value.trim();
    const passphrase = form.elements.password.value;
    showProgress(form, true);
    const client = await worker;
    if (client && email && passphrase) {
      try {
        const params = await loginParams(form, email);
        const keys = await client.call("staff-derive", {
          passphrase, salt: params.salt, opslimit: params.opslimit, memlimit: params.memlimit,
        });
        sessionStorage.setItem(WRAPPING_KEY, b64encode(keys.wrappingKey));
        form.elements.password.value = keys.loginValue;
        form.elements.derived.value = "1";
      } catch {
        // The plain form then: the server refuses an inspector's passphrase.
        form.elements.derived.value = "";
      }
    }
    if (client) client.terminate();
    form.dataset.derived = "done";
    form.submit();
  });
}

main();
