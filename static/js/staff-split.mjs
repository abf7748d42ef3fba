// What the staff pages (sign-in, passphrase change, account set-up) share to split a
// passphrase on this device: the keyring that splits it, the sign-in parameters, and why a
// split failed. A failed split sends nothing: the pages say why and stop
// (docs/inspector-keys.md).

import { keyringUrl, openKeyring, pageIdleMinutes } from "./keyring-client.mjs";

/** A split that did not happen; `reason` names the page string that says why. */
export class SplitError extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

/**
 * Connect `form`'s page to the keyring (static/js/keyring.mjs); `form.dataset.ready` becomes
 * "1", or "failed" when this browser cannot run it. Resolves to the client, or rejects with
 * SplitError("worker").
 */
export function startSplitter(form, onFailure = () => {}) {
  return openKeyring(keyringUrl(form), { idleMinutes: pageIdleMinutes() }).then(
    (client) => {
      form.dataset.ready = "1";
      return client;
    },
    () => {
      form.dataset.ready = "failed";
      onFailure();
      throw new SplitError("worker");
    },
  );
}

/** The account's salt and cost, from the sign-in parameters at `url`. */
export async function signInParams(url, csrfToken, email) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify({ email }),
    });
  } catch {
    throw new SplitError("server");
  }
  if (response.status === 429) throw new SplitError("limited");
  if (!response.ok) throw new SplitError("server");
  try {
    return await response.json();
  } catch {
    throw new SplitError("server");
  }
}

/** Run `name` in the keyring; any failure there (Argon2 out of memory, say) is a SplitError. */
export async function inWorker(client, name, args, reason = "derive") {
  try {
    return await client.call(name, args);
  } catch {
    throw new SplitError(reason);
  }
}

/** The page string saying why `error` stopped the split. */
export function failureText(strings, error) {
  return strings[error instanceof SplitError ? error.reason : "derive"] || strings.derive;
}
