// Shared helpers of the reporting pages (report.mjs, mailbox.mjs): the protected-mode check,
// strings, progress, errors and the JSON API. No libsodium here: the worker does the
// cryptography (static/js/worker.mjs, started by startWorker).

import { CryptoError, startWorker } from "./worker-client.mjs";

export const byId = (id) => document.getElementById(id);

/**
 * Hide or show an element. The inline display also beats a stylesheet's `display: grid` (.stack,
 * .progress-area), which would otherwise override the `hidden` attribute; setting it through
 * the CSSOM is allowed by the page's style-src policy.
 */
export function setHidden(element, hidden) {
  if (!element) return;
  element.hidden = hidden;
  element.style.display = hidden ? "none" : "";
}

// ---------------------------------------------------------------- strings

/**
 * The page's strings: `defaults` (English), overridden by the JSON object in the element's
 * `data-strings` attribute (translated by the template), key by key.
 */
export function pageStrings(element, defaults) {
  const strings = { ...defaults };
  let given = {};
  try {
    given = JSON.parse(element?.dataset?.strings || "{}");
  } catch {
    given = {};
  }
  for (const [key, value] of Object.entries(given || {})) {
    if (typeof value === "string" && value) strings[key] = value;
  }
  return strings;
}

/** Fill Python-style placeholders (`%(name)s`, `%(count)d`), as the server's gettext strings use. */
export function fill(template, values = {}) {
  return template.replace(/%\((\w+)\)[sd]/g, (match, name) => (name in values ? String(values[name]) : match));
}

/** A byte count for people: "50 MB", "900 KB". */
export function formatBytes(bytes) {
  if (bytes >= 1048576) return `${Math.floor(bytes / 1048576)} MB`;
  return `${Math.max(1, Math.floor(bytes / 1024))} KB`;
}

/**
 * A day as the API writes it ("2027-06-01") in the page's language, in the CLDR medium form the
 * server's pages use ("Jun 1, 2027", "1 juin 2027"), with Latin digits as they have.
 */
export function formatDay(iso, lang = globalThis.document?.documentElement?.lang) {
  const found = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso ?? ""));
  if (!found) return String(iso ?? "");
  const day = new Date(Date.UTC(Number(found[1]), Number(found[2]) - 1, Number(found[3])));
  try {
    return new Intl.DateTimeFormat(lang || "en", { dateStyle: "medium", timeZone: "UTC", numberingSystem: "latn" })
      .format(day);
  } catch {
    return String(iso);
  }
}

/** A file name from inside a payload, harmless as a download name (no path, no control characters). */
export function safeFileName(name, fallback = "attachment") {
  const cleaned = String(name ?? "")
    .replace(/[\u0000-\u001f\u007f<>:"/\\|?*]+/g, "_")
    .replace(/^[\s.]+|[\s.]+$/g, "")
    .slice(0, 120);
  return cleaned || fallback;
}

/** The bytes of `blob` typed application/octet-stream (a download is never rendered by type). */
export function asOctetStream(blob) {
  return new Blob([blob], { type: "application/octet-stream" });
}

/**
 * Save `blob` as a download named `name`: through <a download>, never shown in the page, and
 * always as application/octet-stream, whatever type the file was declared with.
 */
// The object URLs of opened files not yet revoked, so that closing the mailbox revokes them at once.
const objectUrls = new Set();

/** Revoke every object URL saveBlob made that is still alive. */
export function revokeObjectUrls() {
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls.clear();
}

export function saveBlob(blob, name) {
  const url = URL.createObjectURL(asOctetStream(blob));
  objectUrls.add(url);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.rel = "noopener";
  setHidden(link, true);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => {
    URL.revokeObjectURL(url);
    objectUrls.delete(url);
  }, 60000);
}

// ---------------------------------------------------------------- opening documents

/**
 * Open one document in the worker: the object, or null when it does not open (a key slot or
 * payload altered, bad padding, not a JSON object). Anything else (the worker gone) is thrown.
 */
export async function openOrNull(client, request) {
  try {
    return await client.call("open-document", request);
  } catch (err) {
    if (err instanceof CryptoError) return null;
    throw err;
  }
}

/** A document's file entries that can be offered (objects with an id and a key). */
export function fileEntries(document) {
  const entries = document && Array.isArray(document.attachments) ? document.attachments : [];
  return entries.filter((entry) => entry !== null && typeof entry === "object"
    && typeof entry.id === "string" && typeof entry.key === "string");
}

// ---------------------------------------------------------------- protected mode

// English fallbacks for the #mode line; the template may give translated ones as
// data-browser-title, data-browser-text and data-fallback-text on #mode.
export const MODE_TEXT = {
  report: {
    loadingTitle: "Loading protection…",
    loadingText: "Your report will be sealed on this device before it is sent, as soon as this is ready.",
    browserTitle: "Protected mode.",
    browserText: "Your report is sealed on this device before it is sent. The server never sees it readable.",
    fallbackText: "This browser cannot seal the report itself, so the form will use basic mode: "
      + "the server seals your report the moment it arrives.",
  },
  mailbox: {
    loadingTitle: "Loading protection…",
    loadingText: "Your mailbox will be opened on this device, as soon as this is ready.",
    browserTitle: "Protected mode.",
    browserText: "Your receipt stays on this device: the mailbox is opened here and your replies are "
      + "sealed here before they are sent. The server never sees them readable.",
    fallbackText: "This browser cannot open the mailbox itself, so it will use basic mode: "
      + "the server opens it in memory for this visit only.",
  },
};

function modeText(mode, kind) {
  const defaults = MODE_TEXT[kind];
  const data = mode?.dataset ?? {};
  return {
    loadingTitle: data.loadingTitle || defaults.loadingTitle,
    loadingText: data.loadingText || defaults.loadingText,
    browserTitle: data.browserTitle || defaults.browserTitle,
    browserText: data.browserText || defaults.browserText,
    fallbackText: data.fallbackText || defaults.fallbackText,
  };
}

function showMode(state, title, text) {
  const mode = byId("mode");
  if (!mode) return;
  const strong = document.createElement("strong");
  strong.textContent = title;
  mode.replaceChildren(strong, document.createTextNode(` ${text}`));
  mode.dataset.mode = state;
}

/** Switch the #mode line to "Loading protection…" while the worker starts (never "JavaScript is off"). */
export function showLoadingMode(kind) {
  const text = modeText(byId("mode"), kind);
  showMode("loading", text.loadingTitle, text.loadingText);
}

/** Switch the #mode line to protected (browser) mode. */
export function showBrowserMode(kind) {
  const text = modeText(byId("mode"), kind);
  showMode("browser", text.browserTitle, text.browserText);
  setHidden(byId("mode-warning"), true);
}

/** Switch the #mode line to basic mode, as a page with JavaScript on says it ("Basic mode."). */
export function showPlainMode() {
  const mode = byId("mode");
  if (!mode) return;
  if (mode.dataset.plainTitle) showMode("plain", mode.dataset.plainTitle, mode.dataset.plainText || "");
  else mode.dataset.mode = "plain";
}

/** Put the page in basic mode (with JavaScript on) and say why in #mode-warning. */
export function showFallback(kind) {
  showPlainMode();
  const warning = byId("mode-warning");
  if (!warning) return;
  warning.textContent = modeText(byId("mode"), kind).fallbackText;
  setHidden(warning, false);
}

/**
 * Check that this browser can do the cryptography (WebAssembly, and the worker started under
 * Subresource Integrity with libsodium ready): a WorkerClient, or null in basic mode.
 */
export async function startProtectedMode(form, kind) {
  showLoadingMode(kind);
  try {
    if (typeof WebAssembly !== "object" || WebAssembly === null) throw new Error("No WebAssembly.");
    if (!form.dataset.worker) throw new Error("No worker script.");
    const client = await startWorker(form.dataset.worker, form.dataset.workerIntegrity || "");
    showBrowserMode(kind);
    return client;
  } catch (err) {
    showFallback(kind);
    if (typeof console !== "undefined") console.warn("Basic mode:", err?.message ?? err);
    return null;
  }
}

// ---------------------------------------------------------------- progress, busy, errors

/** The #progress-area of a form: a labelled <progress>. */
export class Progress {
  constructor(area = byId("progress-area")) {
    this.area = area;
    this.bar = area?.querySelector("progress");
    this.label = area?.querySelector("label");
    if (this.label) this.label.setAttribute("aria-live", "polite");
  }

  /** Show `text` as the label, and the bar at `value` (0 to 1), or moving with no value. */
  step(text, value = 0) {
    if (!this.area) return;
    setHidden(this.area, false);
    if (this.label && this.label.textContent !== text) this.label.textContent = text;
    this.set(value);
  }

  set(value) {
    if (!this.bar) return;
    if (value === null) this.bar.removeAttribute("value");
    else this.bar.value = Math.max(0, Math.min(1, value));
  }

  hide() {
    setHidden(this.area, true);
  }
}

/** Mark `form` busy (aria-busy, its submit buttons disabled) or idle again. */
export function setBusy(form, busy) {
  form.setAttribute("aria-busy", busy ? "true" : "false");
  for (const button of form.querySelectorAll("button[type=submit], button:not([type])")) button.disabled = busy;
}

/** Show `message` in #form-error (role="alert"), created before `anchor` if the page has none. */
export function showError(anchor, message) {
  let box = byId("form-error");
  if (!box) {
    box = document.createElement("p");
    box.id = "form-error";
    box.className = "error-message";
    box.setAttribute("role", "alert");
    box.tabIndex = -1;
    anchor.parentNode.insertBefore(box, anchor);
  }
  setHidden(box, false);
  box.textContent = message;
  return box;
}

export function clearError() {
  const box = byId("form-error");
  if (box) {
    box.textContent = "";
    setHidden(box, true);
  }
}

/** Say `message` next to a field (after its label or legend) and mark its controls invalid. */
export function showFieldError(field, controls, message, id) {
  let note = field.querySelector(".field-error");
  if (!note) {
    note = document.createElement("p");
    note.className = "error-message field-error";
    note.id = id;
    const heading = field.querySelector("legend") || field.querySelector("label");
    const hint = field.querySelector(".hint");
    const after = hint || heading;
    if (after && after.parentNode) after.parentNode.insertBefore(note, after.nextSibling);
    else field.prepend(note);
  }
  note.textContent = message;
  for (const control of controls) {
    control.setAttribute("aria-invalid", "true");
    const described = (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (!described.includes(note.id)) control.setAttribute("aria-describedby", [note.id, ...described].join(" "));
  }
  const group = field.querySelector("fieldset");
  if (group) {
    const described = (group.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (!described.includes(note.id)) group.setAttribute("aria-describedby", [note.id, ...described].join(" "));
  }
  return note;
}

/** Remove every field error of `root` and the marks showFieldError set. */
export function clearFieldErrors(root) {
  for (const note of root.querySelectorAll(".field-error")) {
    for (const element of root.querySelectorAll(`[aria-describedby~="${note.id}"]`)) {
      const rest = element.getAttribute("aria-describedby").split(/\s+/).filter((id) => id && id !== note.id);
      if (rest.length) element.setAttribute("aria-describedby", rest.join(" "));
      else element.removeAttribute("aria-describedby");
    }
    note.remove();
  }
  for (const element of root.querySelectorAll("[aria-invalid]")) element.removeAttribute("aria-invalid");
}

// ---------------------------------------------------------------- the JSON API

/** A refusal or failure of the API, with the server's own sentence when it gave one. */
export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

const API_STRINGS = {
  network: "The server could not be reached. Check your connection and try again.",
  server: "The server could not handle the request (error %(status)s). Please try again later.",
};

/**
 * Calls to the reporting API under `base` (the form's data-api). No cookie goes with them (the
 * API takes none, and a staff session must not travel with a report); the page's language
 * goes as Accept-Language so the server's sentences come translated.
 */
export class Api {
  constructor(base, strings = {}) {
    this.base = base.replace(/\/+$/, "");
    this.strings = { ...API_STRINGS, ...strings };
  }

  headers(extra = {}) {
    const lang = document.documentElement.lang;
    return lang ? { "Accept-Language": lang, ...extra } : extra;
  }

  async request(path, init) {
    let response;
    try {
      response = await fetch(this.base + path, {
        credentials: "omit", cache: "no-store", redirect: "error", ...init,
      });
    } catch {
      throw new ApiError(this.strings.network, 0);
    }
    if (!response.ok) {
      let message = "";
      try {
        const body = await response.json();
        if (typeof body?.error === "string") message = body.error;
      } catch {
        message = "";
      }
      throw new ApiError(message || fill(this.strings.server, { status: response.status }), response.status);
    }
    return response;
  }

  async json(path, init) {
    const response = await this.request(path, init);
    try {
      return await response.json();
    } catch {
      throw new ApiError(fill(this.strings.server, { status: response.status }), response.status);
    }
  }

  get(path) {
    return this.json(path, { method: "GET", headers: this.headers() });
  }

  post(path, body) {
    return this.json(path, {
      method: "POST", headers: this.headers({ "Content-Type": "application/json" }), body: JSON.stringify(body),
    });
  }

  /** POST a sealed Blob as application/octet-stream; the JSON answer. */
  upload(path, blob) {
    return this.json(path, {
      method: "POST", headers: this.headers({ "Content-Type": "application/octet-stream" }), body: blob,
    });
  }

  /** POST JSON; the answer's body as a Blob. */
  async postForBlob(path, body) {
    const response = await this.request(path, {
      method: "POST", headers: this.headers({ "Content-Type": "application/json" }), body: JSON.stringify(body),
    });
    try {
      return await response.blob();
    } catch {
      throw new ApiError(this.strings.network, 0);
    }
  }
}

// ---------------------------------------------------------------- files

/** Check the number and size of files against the server's limits: a sentence, or "". */
export function fileLimitError(files, config, strings, sealedLength) {
  const maxCount = config.max_attachments;
  if (Number.isInteger(maxCount) && files.length > maxCount) {
    return fill(strings.tooManyFiles, { count: maxCount });
  }
  const maxBytes = config.max_attachment_bytes;
  if (Number.isInteger(maxBytes)) {
    const big = files.find((file) => sealedLength(file.size) > maxBytes);
    if (big) return fill(strings.fileTooLarge, { name: big.name, size: formatBytes(maxBytes) });
  }
  return "";
}

/** Readers of a document: each `{id, public_key}` recipient, "reporter", and "recovery" if configured. */
export function readersFor(recipients, reporterPublicKey, recoveryKey) {
  const readers = {};
  for (const recipient of recipients) readers[recipient.id] = recipient.public_key;
  readers.reporter = reporterPublicKey;
  if (recoveryKey) readers.recovery = recoveryKey;
  return readers;
}

/** Send `form` to the server as the plain form (basic mode), past every submit listener. */
export function submitPlain(form) {
  HTMLFormElement.prototype.submit.call(form); // a control named "submit" cannot shadow it
}

/**
 * Take over `form`'s submission once protected mode is on: `work(client)` runs instead of
 * the plain submission, once at a time. A submission made while the check is still running
 * waits for it. When protected mode could not start, `askBasic(sendPlain)` is called in place
 * of the submission if given (the page asks the person, and calls `sendPlain()` only on their
 * explicit choice); without `askBasic` the plain form goes to the server as it is.
 */
export function interceptInProtectedMode(form, kind, work, { askBasic = null, onReady = null } = {}) {
  let client;
  let working = false;
  const started = startProtectedMode(form, kind).then((value) => {
    client = value;
    if (value && onReady) onReady(value); // work that need not wait for the press
  });
  form.addEventListener("submit", async (event) => {
    if (client === null && !askBasic) return; // basic mode: the plain form goes to the server
    event.preventDefault();
    if (working) return;
    working = true;
    setBusy(form, true); // at once, in the press's own task: the button shows it is working
    try {
      if (client === undefined) await started; // sent before the check ended
      if (client === null) {
        if (askBasic) askBasic(() => submitPlain(form));
        else submitPlain(form);
        return;
      }
      await work(client);
    } finally {
      working = false;
      setBusy(form, false);
    }
  });
}

/**
 * The reporter's explicit choice of basic mode, when the script runs but cannot seal (the
 * report form) or open (the mailbox): the #basic-choice panel says why, and only its own
 * button sends the plain form.
 */
export function basicModeChoice() {
  const panel = byId("basic-choice");
  const button = byId("send-basic");
  if (!panel || !button) return () => {}; // nothing sends in the clear without the choice
  let send = null;
  button.addEventListener("click", () => {
    if (!send) return;
    button.disabled = true; // once: the page is leaving
    send();
  });
  return (sendPlain) => {
    send = sendPlain;
    clearError();
    setHidden(panel, false);
    panel.focus();
  };
}
