// The first passphrase, chosen on the page a set-up link opens: it is split on this device
// with a fresh salt, in the keyring (docs/inspector-keys.md). The server receives the login value
// and the salt; what the passphrase gives towards the wrapping key stays in the keyring, so that
// after the second factor the key page can lock a new key with the completed one. The
// passphrase fields have no name, so the browser never sends them; if anything fails, they
// are cleared, the page says what failed, and nothing is sent.

import { byId, clearError, pageStrings, setBusy, setHidden, showError } from "./page.mjs";
import { isWeakPassphrase } from "./passphrase-strength.mjs";
import { failureText, inWorker, startSplitter } from "./staff-split.mjs";
import { b64encode } from "./worker-client.mjs";

// English fallbacks; the page gives translated ones in data-strings.
const STRINGS = {
  mismatch: "The two passphrases differ.",
  weak: "Choose a passphrase that is harder to guess: at least 12 characters, such as four unrelated words, and not a common password, a repeated character or a sequence.",
  worker: "This browser could not start the part of the page that splits your passphrase on this device, so nothing was sent.",
  derive: "This device could not split your passphrase (it may be short of memory), so nothing was sent: close other tabs and try again.",
};

function busy(form, on) {
  setHidden(byId("progress-area"), !on);
  setBusy(form, on);
}

function main() {
  const form = byId("setup-form");
  const newField = byId("new-passphrase");
  const confirmField = byId("confirm-passphrase");
  if (!form || !newField || !confirmField) return;
  const strings = pageStrings(form, STRINGS);
  const noteUnavailable = () => setHidden(byId("setup-needs-script"), false);
  let worker = startSplitter(form, noteUnavailable);
  // Whatever this browser held for someone else goes now; failures are reported when the form is sent.
  worker.then((keyring) => keyring.call("wipe")).catch(() => {});
  let sending = false;

  function refuse(message) {
    newField.value = "";
    confirmField.value = "";
    showError(form, message);
    newField.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault(); // never sent as it stands: its hidden values are empty
    if (sending) return;
    const fresh = newField.value;
    if (fresh !== confirmField.value) {
      refuse(strings.mismatch);
      return;
    }
    if (isWeakPassphrase(fresh)) {
      refuse(strings.weak);
      return;
    }
    sending = true;
    clearError();
    busy(form, true);
    let client = null;
    try {
      client = await worker;
      const salt = crypto.getRandomValues(new Uint8Array(16));
      const keys = await inWorker(client, "split-passphrase", { // wipes the keyring first
        passphrase: fresh, salt,
        opslimit: Number(form.dataset.opslimit), memlimit: Number(form.dataset.memlimit),
      });
      newField.value = "";
      confirmField.value = "";
      form.elements.new.value = keys.loginValue;
      form.elements.confirm.value = keys.loginValue;
      form.elements.new_salt.value = b64encode(salt);
      form.elements.derived.value = "1";
      form.submit();
    } catch (error) {
      if (!client) {
        worker = startSplitter(form, noteUnavailable); // another try for the next attempt
        worker.catch(() => {});
      }
      busy(form, false);
      sending = false;
      refuse(failureText(strings, error));
    }
  });
}

main();
