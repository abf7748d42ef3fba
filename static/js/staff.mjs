// What the staff pages share: where this tab keeps the key that unwraps the inspector's private
// key (sessionStorage, cleared at sign-out), and a form's CSRF token.

export const WRAPPING_KEY = "integrity.wrappingKey";
// What the passphrase alone gives (the scheme-1 wrapping key), kept from the sign-in page until
// the share completes it after the second factor (static/js/key-unlock.mjs); then removed.
export const WRAP_BASE = "integrity.wrapBase";

/** Forget whatever this tab unlocked. */
export function forgetUnlocked() {
  sessionStorage.removeItem(WRAPPING_KEY);
  sessionStorage.removeItem(WRAP_BASE);
  sessionStorage.removeItem(OFFLINE_KEY);
}

/** The server's share of this inspector's wrapping key, from `url` (a complete session only). */
export async function fetchShare(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new Error("no share");
  const answer = await response.json();
  if (typeof answer.share !== "string") throw new Error("no share");
  return answer;
}
// A key file an inspector without a stored key read on the case page, for this tab only.
export const OFFLINE_KEY = "integrity.offlineKey";

/** The form's CSRF token. */
export function csrfToken(form) {
  return form.querySelector('input[name="csrf_token"]')?.value || "";
}
