// Staff sign-in: the passphrase is split on this device, in the keyring (docs/inspector-keys.md).
// Its field has no name, so the browser never sends it; the script sends only the derived login
// value. If anything in the split fails, the field is cleared, the page says what failed, and
// nothing is sent. What the passphrase gives towards the wrapping key stays in the keyring until
// the server's share completes it after the second factor (key-unlock.mjs); the sign-in page
// wipes the keyring first, and sign-out wipes it again.

import { byId, clearError, pageStrings, setBusy, setHidden, showError } from "./page.mjs";
import { failureText, inWorker, signInParams, startSplitter } from "./staff-split.mjs";
import { csrfToken } from "./staff.mjs";


// English fallbacks; the page gives translated ones in data-strings.
const STRINGS = {
  missing: "Enter your e-mail address and your passphrase.",
  worker: "This browser could not start the part of the page that splits your passphrase on this device, so nothing was sent.",
  limited: "Too many sign-in requests came from this network just now, so nothing was sent: wait a minute and try again.",
  server: "The server could not prepare the split of your passphrase, so nothing was sent: try again in a moment.",
  derive: "This device could not split your passphrase (it may be short of memory), so nothing was sent: close other tabs and try again.",
};

function showProgress(form, on) {
  setHidden(byId("progress-area"), !on);
  setBusy(form, on);
}

function main() {
  const form = byId("login-form");
  const passphraseField = byId("passphrase");
  if (!form || !passphraseField) return;
  const strings = pageStrings(form, STRINGS);
  const noteUnavailable = () => setHidden(byId("login-mode"), false);
  // Started at once, wiped at once: a new sign-in starts with nothing unlocked.
  let worker = startSplitter(form, noteUnavailable);
  worker.then((keyring) => keyring.call("wipe")).catch(() => {}); // failures: reported when the form is sent
  let sending = false;

  form.addEventListener("submit", async (event) => {
    // The form is never sent as it stands: it would carry an empty login value.
    event.preventDefault();
    if (sending) return;
    const email = form.elements.email.value.trim();
    const passphrase = passphraseField.value;
    if (!email || !passphrase) {
      showError(form, strings.missing);
      return;
    }
    sending = true;
    clearError();
    showProgress(form, true);
    let client = null;
    try {
      client = await worker;
      const params = await signInParams(form.dataset.params, csrfToken(form), email);
      // The keyring keeps what the passphrase gives towards the wrapping key; the server's
      // share completes it after the second factor.
      const keys = await inWorker(client, "split-passphrase", {
        passphrase, salt: params.salt, opslimit: params.opslimit, memlimit: params.memlimit,
      });
      passphraseField.value = "";
      form.elements.password.value = keys.loginValue;
      form.elements.derived.value = "1";
      form.submit(); // sends the e-mail address and the login value, never the passphrase
    } catch (error) {
      passphraseField.value = "";
      form.elements.password.value = "";
      form.elements.derived.value = "";
      if (!client) {
        worker = startSplitter(form, noteUnavailable); // another try for the next attempt
        worker.catch(() => {});
      }
      showProgress(form, false);
      sending = false;
      showError(form, failureText(strings, error));
      passphraseField.focus();
    }
  });
}

main();
