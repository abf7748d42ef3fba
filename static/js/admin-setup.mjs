// The first passphrase, chosen on the page a set-up link opens: it is split on this device
// with a fresh salt (docs/inspector-keys.md). The server receives the login value and the
// salt; the wrapping key stays in this tab so the key page can lock a new key with it.

import { b64encode, startWorker } from "./worker-client.mjs";

const WRAPPING_KEY = "integrity.wrappingKey";
const MIN_LENGTH = 12;

function showError(form, message) {
  let alert = document.getElementById("form-error");
  if (!alert) {
    alert = document.createElement("p");
    alert.id = "form-error";
    alert.className = "error-message";
    alert.setAttribute("role", "alert");
    form.before(alert);
  }
  alert.textContent = message;
}

function busy(form, on) {
  document.getElementById("progress-area").hidden = !on;
  form.setAttribute("aria-busy", on ? "true" : "false");
  form.querySelector('button[type="submit"]').disabled = on;
}

function main() {
  const form = document.getElementById("setup-form");
  if (!form) return;
  sessionStorage.removeItem(WRAPPING_KEY);
  const worker = startWorker(form.dataset.worker, form.dataset.workerIntegrity).then(
    (client) => { form.dataset.ready = "1"; return client; },
    () => {
      const note = document.getElementById("setup-needs-script");
      if (note) note.hidden = false;
      form.dataset.ready = "plain";
      return null;
    },
  );
  form.addEventListener("submit", async (event) => {
    if (form.dataset.derived === "done") return; // the second, real submission
    event.preventDefault();
    const fresh = form.elements.new.value;
    if (fresh !== form.elements.confirm.value) {
      showError(form, form.dataset.mismatch);
      return;
    }
    if (fresh.length < MIN_LENGTH) {
      showError(form, form.dataset.tooShort);
      return;
    }
    busy(form, true);
    const client = await worker;
    if (client) {
      try {
        const salt = crypto.getRandomValues(new Uint8Array(16));
        const keys = await client.call("staff-derive", {
          passphrase: fresh, salt,
          opslimit: Number(form.dataset.opslimit), memlimit: Number(form.dataset.memlimit),
        });
        form.elements.new.value = keys.loginValue;
        form.elements.confirm.value = keys.loginValue;
        form.elements.new_salt.value = b64encode(salt);
        form.elements.derived.value = "1";
        sessionStorage.setItem(WRAPPING_KEY, b64encode(keys.wrappingKey));
      } catch {
        busy(form, false);
        showError(form, form.dataset.failed);
        return;
      } finally {
        client.terminate();
      }
    }
    form.dataset.derived = "done";
    form.submit();
  });
}

main();
