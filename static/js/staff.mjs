// What the staff pages share: where this tab keeps the key that unwraps the inspector's private
// key (sessionStorage, cleared at sign-out), and a form's CSRF token.

export const WRAPPING_KEY = "integrity.wrappingKey";
// A key file an inspector without a stored key read on the case page, for this tab only.
export const OFFLINE_KEY = "integrity.offlineKey";

/** The form's CSRF token. */
export function csrfToken(form) {
  return form.querySelector('input[name="csrf_token"]')?.value || "";
}
