// Changing the staff passphrase: both passphrases are split on this device and the
// inspector's key is re-locked here; the server receives derived values and the re-wrapped
// key only (docs/inspector-keys.md).

import { b64encode, startWorker } from "./worker-client.mjs";

const WRAPPING_KEY = "integrity.wrappingKey";

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

function main() {
  const form = document.getElementById("password-form");
  if (!form) return;
  const worker = startWorker(form.dataset.worker, form.dataset.workerIntegrity).then(
    (client) => { form.dataset.ready = "1"; return client; },
    () => { form.dataset.ready = "plain"; return null; },
  );
  form.addEventListener("submit", async (event) => {
    if (form.dataset.derived === "done") return;
    event.preventDefault();
    const current = form.elements.current.value;
    const fresh = form.elements.new.value;
    if (fresh !== form.elements.confirm.value) {
      showError(form, form.dataset.mismatch);
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    const client = await worker;
    if (client) {
      try {
        const token = form.querySelector('input[name="csrf_token"]').value;
        const response = await fetch(form.dataset.params, {
          method: "POST", credentials: "same-origin", cache: "no-store",
          headers: { "Content-Type": "application/json", "X-CSRFToken": token },
          body: JSON.stringify({ email: form.dataset.email }),
        });
        const params = await response.json();
        const cost = { opslimit: params.opslimit, memlimit: params.memlimit };
        const before = await client.call("staff-derive", { passphrase: current, salt: params.salt, ...cost });
        const salt = crypto.getRandomValues(new Uint8Array(16));
        const after = await client.call("staff-derive", { passphrase: fresh, salt, ...cost });
        if (form.dataset.wrapped) {
          const { secretKey } = await client.call("staff-unwrap", {
            wrapped: form.dataset.wrapped, wrappingKey: before.wrappingKey,
          });
          const { wrapped } = await client.call("staff-wrap", { secretKey, wrappingKey: after.wrappingKey });
          secretKey.fill(0);
          form.elements.new_wrapped_key.value = wrapped;
        }
        form.elements.current.value = before.loginValue;
        form.elements.new.value = after.loginValue;
        form.elements.confirm.value = after.loginValue;
        form.elements.new_salt.value = b64encode(salt);
        form.elements.derived.value = "1";
        sessionStorage.setItem(WRAPPING_KEY, b64encode(after.wrappingKey));
      } catch {
        if (button) button.disabled = false;
        showError(form, form.dataset.failed);
        form.elements.current.value = "";
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
