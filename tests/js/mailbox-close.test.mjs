// Closing the mailbox (static/js/mailbox-close.mjs): keys zeroed, fields emptied but the form
// token, the view emptied, the history entry replaced, the worker stopped and another started.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { clearInputs, closeMailbox, zeroBytes } from "../../static/js/mailbox-close.mjs";

const field = (name, value, type = "text") => ({ name, value, type });

function fakes() {
  const calls = [];
  const fields = [field("csrf_token", "signed-token", "hidden"), field("receipt", "1234 5678 9012 3456 7890"),
    field("text", "a reply kept", "hidden")];
  const view = { children: ["report", "thread"], replaceChildren(...nodes) { this.children = nodes; } };
  const mailbox = {
    view,
    strings: { mailboxClosed: "The mailbox is closed." },
    client: { terminate: () => calls.push("terminate") },
    forget: () => calls.push("forget"),
  };
  const win = {
    location: { pathname: "/mailbox", search: "?lang=fr" },
    history: { replaceState: (...args) => calls.push(["replaceState", ...args]) },
  };
  const shown = new Map();
  return {
    calls, fields, view, mailbox, win, shown,
    form: { querySelectorAll: () => fields },
    notice: { textContent: "" },
    show: (element, visible) => shown.set(element, visible),
    revoke: () => calls.push("revoke"),
    restart: () => calls.push("restart"),
  };
}

describe("closing the mailbox", () => {
  test("the key bytes are zeroed, whatever else is given", () => {
    const key = new Uint8Array([1, 2, 3]);
    const lookup = new Uint8Array([9, 9]);
    zeroBytes(key, null, "text", lookup, undefined);
    assert.deepEqual([...key, ...lookup], [0, 0, 0, 0, 0]);
  });

  test("every field is emptied but the form token", () => {
    const { form, fields } = fakes();
    clearInputs(form);
    assert.deepEqual(fields.map((f) => f.value), ["signed-token", "", ""]);
  });

  test("the page is left as an empty mailbox form, the worker stopped and another started", () => {
    const f = fakes();
    const notice = closeMailbox({ mailbox: f.mailbox, form: f.form, notice: f.notice, show: f.show,
      revoke: f.revoke, restart: f.restart, win: f.win });
    assert.equal(notice.textContent, "The mailbox is closed.");
    assert.deepEqual(f.view.children, []);
    assert.equal(f.shown.get(f.view), false);
    assert.equal(f.shown.get(f.form), true);
    assert.equal(f.shown.get(f.notice), true);
    assert.equal(f.fields[1].value, "");
    assert.deepEqual(f.calls, ["forget", "revoke", ["replaceState", null, "", "/mailbox?lang=fr"], "terminate",
      "restart"]);
  });
});
