// Closing an opened mailbox (static/js/mailbox.mjs), for a reporter on a shared device: the page
// goes back to an empty mailbox form, and nothing of the mailbox is left in it. The keys are
// zeroed and dropped, the opened report and thread leave the page, object URLs of opened files
// are revoked, the worker that opened them is stopped (its memory, libsodium's included, goes
// with it) and a fresh one is started for the next opening, and the history entry is replaced so
// that Back brings nothing back. Nothing is written to storage or a cookie, here or anywhere.

/** Zero every byte array among `values` (keys the worker gave the page). */
export function zeroBytes(...values) {
  for (const value of values) {
    if (value instanceof Uint8Array) value.fill(0);
  }
}

/** Empty every field of `form` (the receipt, a reply kept for a reopening) but its form token. */
export function clearInputs(form) {
  for (const field of form.querySelectorAll("input, textarea")) {
    if (field.name !== "csrf_token") field.value = "";
  }
}

/**
 * Close `mailbox` (a Mailbox of mailbox.mjs): forget what it holds, empty its view and the
 * form's fields, show the form with `notice`, replace the history entry, stop the worker.
 * `show(element, visible)` shows or hides an element; `revoke()` revokes the page's object
 * URLs; `restart()` starts the next worker. Returns the notice element.
 */
export function closeMailbox({ mailbox, form, notice, show, revoke, restart, win }) {
  mailbox.forget();
  revoke();
  mailbox.view.replaceChildren();
  show(mailbox.view, false);
  clearInputs(form);
  notice.textContent = mailbox.strings.mailboxClosed;
  show(notice, true);
  show(form, true);
  // The same address, without a state: Back and Forward find no opened mailbox to restore.
  win.history.replaceState(null, "", win.location.pathname + win.location.search);
  mailbox.client.terminate();
  restart();
  return notice;
}
