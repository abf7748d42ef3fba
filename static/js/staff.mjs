// What the staff pages share: the server's share of an inspector's wrapping key, and a form's
// CSRF token. The keys themselves live in the keyring (static/js/keyring.mjs).

/** The server's share of this inspector's wrapping key, from `url` (a complete session only). */
export async function fetchShare(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new Error("no share");
  const answer = await response.json();
  if (typeof answer.share !== "string") throw new Error("no share");
  return answer;
}

/** The form's CSRF token. */
export function csrfToken(form) {
  return form.querySelector('input[name="csrf_token"]')?.value || "";
}
