// Changing the staff passphrase: both passphrases are split on this device, in the keyring, and
// the inspector's key is re-locked there; the server receives derived values and the re-wrapped
// key only (docs/inspector-keys.md). The passphrase fields have no name, so the browser never
// sends them; if anything fails, they are cleared, the page says what failed, nothing is sent.

import { byId, clearError, pageStrings, setBusy, showError } from "./page.mjs";
import { failureText, signInParams, SplitError, startSplitter } from "./staff-split.mjs";
import { b64encode } from "./worker-client.mjs";
import { isWeakPassphrase } from "./passphrase-strength.mjs";
import { csrfToken, fetchShare } from "./staff.mjs";

// English fallbacks; the page gives translated ones in data-strings.
const STRINGS = {
  missing: "Enter your current passphrase and the new one twice.",
  mismatch: "The two passphrases differ.",
  weak: "Choose a passphrase that is harder to guess: at least 12 characters, such as four unrelated words, and not a common password, a repeated character or a sequence.",
  relock: "The current passphrase is not correct, or this browser could not protect your key with the new passphrase, so nothing was changed.",
  worker: "This browser could not start the part of the page that splits your passphrase on this device, so nothing was sent.",
  limited: "Too many sign-in requests came from this network just now, so nothing was sent: wait a minute and try again.",
  server: "The server could not prepare the split of your passphrase, so nothing was sent: try again in a moment.",
  derive: "This device could not split your passphrase (it may be short of memory), so nothing was sent: close other tabs and try again.",
};

/** The derived values to send: the current login value, the new one, its salt, the key re-locked. */
async function split(form, keyring, current, fresh) {
  const params = await signInParams(form.dataset.params, csrfToken(form), form.dataset.email);
  let share = null;
  if (form.dataset.share) {
    // An inspector's new key is wrapped under the new passphrase and the server's share.
    try {
      ({ share } = await fetchShare(form.dataset.share));
    } catch {
      throw new SplitError("server");
    }
  }
  const newSalt = crypto.getRandomValues(new Uint8Array(16));
  let values;
  try {
    values = await keyring.call("change-passphrase", {
      current, fresh, salt: params.salt, newSalt, opslimit: params.opslimit, memlimit: params.memlimit, share,
      scheme: Number(form.dataset.scheme), wrapped: form.dataset.wrapped || null, publicKey: form.dataset.public || null,
    });
  } catch (error) {
    // A wrong current passphrase shows here: the key does not open with what it unlocks.
    throw new SplitError(error?.name === "DecryptionError" ? "relock" : "derive");
  }
  return { ...values, salt: b64encode(newSalt) };
}

function main() {
  const form = byId("password-form");
  const fields = ["current-passphrase", "new-passphrase", "confirm-passphrase"].map(byId);
  if (!form || fields.some((field) => !field)) return;
  const [currentField, newField, confirmField] = fields;
  const strings = pageStrings(form, STRINGS);
  let worker = startSplitter(form);
  worker.catch(() => {}); // reported when the form is sent
  let sending = false;

  function stop(message, focus) {
    for (const field of fields) field.value = "";
    for (const name of ["current", "new", "confirm", "new_salt", "new_wrapped_key", "derived"]) {
      form.elements[name].value = "";
    }
    setBusy(form, false);
    sending = false;
    showError(form, message);
    focus.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault(); // never sent as it stands: its hidden values are empty
    if (sending) return;
    if (!currentField.value || !newField.value) {
      showError(form, strings.missing);
      return;
    }
    if (newField.value !== confirmField.value) {
      newField.value = "";
      confirmField.value = "";
      showError(form, strings.mismatch);
      newField.focus();
      return;
    }
    if (isWeakPassphrase(newField.value)) {
      newField.value = "";
      confirmField.value = "";
      showError(form, strings.weak);
      newField.focus();
      return;
    }
    sending = true;
    clearError();
    setBusy(form, true);
    let client = null;
    try {
      client = await worker;
      const values = await split(form, client, currentField.value, newField.value);
      for (const field of fields) field.value = "";
      form.elements.current.value = values.current;
      form.elements.new.value = values.fresh;
      form.elements.confirm.value = values.fresh;
      form.elements.new_salt.value = values.salt;
      form.elements.new_wrapped_key.value = values.wrapped;
      form.elements.derived.value = "1";
      form.submit();
    } catch (error) {
      if (!client) {
        worker = startSplitter(form); // another try for the next attempt
        worker.catch(() => {});
      }
      stop(failureText(strings, error), currentField);
    }
  });
}

main();
