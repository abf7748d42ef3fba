// How the case page gets the keyring's handle of the inspector's key (docs/inspector-keys.md,
// "The keyring"): already unlocked there, unwrapped with the wrapping key it holds, or unlocked
// on the page with the passphrase (a key made in the browser) or the key file (a key made
// offline) when the keyring is empty: idle too long, or a browser that does not keep it from one
// page to the next. The passphrase and the file are read in the keyring, never sent.

import { byId, clearFieldErrors, setBusy, setHidden, showFieldError } from "./page.mjs";
import { fetchShare } from "./staff.mjs";
import { SplitError, signInParams } from "./staff-split.mjs";

/** The first submission of `form` that `attempt` accepts (it returns a value, or null to wait for another). */
function firstAccepted(form, attempt) {
  setHidden(form, false);
  return new Promise((resolve) => {
    let busy = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      setBusy(form, true);
      clearFieldErrors(form);
      try {
        const value = await attempt();
        if (value !== null) {
          setHidden(form, true);
          resolve(value);
        }
      } finally {
        busy = false;
        setBusy(form, false);
      }
    });
  });
}

/** Unlock a key made in the browser from the passphrase typed here (the keyring was empty). */
async function unlockWithPassphrase(area, keyring, strings) {
  const input = byId("unlock-passphrase");
  return firstAccepted(byId("unlock-form"), async () => {
    const passphrase = input.value;
    input.value = "";
    const fail = (text) => {
      showFieldError(input.closest(".field"), [input], text, "unlock-passphrase-error");
      input.focus();
      return null;
    };
    if (!passphrase) return fail(strings.wrongPassphrase);
    let params;
    let share = null;
    try {
      params = await signInParams(area.dataset.params, area.dataset.csrf, area.dataset.email);
      if (area.dataset.scheme === "2") ({ share } = await fetchShare(area.dataset.keyShare));
    } catch (err) {
      return fail(err instanceof SplitError && err.reason === "limited" ? strings.unlockLimited : strings.failed);
    }
    try {
      const { handle } = await keyring.call("unlock-passphrase", {
        passphrase, salt: params.salt, opslimit: params.opslimit, memlimit: params.memlimit, share,
        wrapped: area.dataset.wrapped, publicKey: area.dataset.public,
      });
      return handle;
    } catch {
      return fail(strings.wrongPassphrase);
    }
  });
}

/** Unlock an offline key file's key, read here (it was not in the keyring). */
async function unlockWithKeyFile(area, keyring, strings) {
  const input = byId("key-file");
  const passphraseField = byId("key-file-passphrase");
  return firstAccepted(byId("key-file-form"), async () => {
    const passphrase = passphraseField.value || null;
    passphraseField.value = "";
    try {
      const { handle } = await keyring.call("key-file", {
        text: await input.files[0].text(), passphrase, expect: area.dataset.public,
      });
      if (handle === null) {
        showFieldError(input.closest(".field"), [input], strings.wrongKeyFile, "key-file-error");
        return null;
      }
      input.value = "";
      return handle;
    } catch {
      showFieldError(input.closest(".field"), [input], strings.badKeyFile, "key-file-error");
      return null;
    }
  });
}

/**
 * The keyring's handle of the inspector's key: already unlocked there, unwrapped with the
 * wrapping key it holds, or unlocked on this page with the passphrase or the key file.
 */
export async function keyHandleFor(area, keyring, strings) {
  const publicKey = area.dataset.public;
  if (keyring.status.unlocked.includes(publicKey)) return publicKey;
  if (area.dataset.wrapped) {
    if (keyring.status.wrapping) {
      try {
        return (await keyring.call("unlock", { wrapped: area.dataset.wrapped, publicKey })).handle;
      } catch {
        // The wrapping key held does not open this key (another account's): ask for the passphrase.
      }
    }
    return unlockWithPassphrase(area, keyring, strings);
  }
  return unlockWithKeyFile(area, keyring, strings);
}
