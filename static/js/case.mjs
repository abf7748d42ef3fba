// The case page (bundled as static/dist/case.js). The inspector's key is unwrapped in the
// worker with the wrapping key this tab derived at sign-in, or read from an offline key file;
// the report, its files and its thread are opened there; replies, notes and shares are sealed
// there. Only ciphertext and key slots go back to the server. The report, each message or note
// and each file open on their own: one that is altered or damaged shows a sentence in its place,
// and the rest of the case still works (replies, notes and shares once the report has opened).

import {
  Api, ApiError, Progress, byId, clearError, clearFieldErrors, fileEntries, fileLimitError, fill, formatDay,
  openOrNull, pageStrings, readersFor, safeFileName, saveBlob, sealAndUpload, setBusy, setHidden, showError,
  showFieldError,
} from "./page.mjs";
import { ANSWER_STRINGS, answerRows } from "./answers.mjs";
import { CryptoError, b64decode, b64encode, sealedLength, startWorker } from "./worker-client.mjs";
import { OFFLINE_KEY, WRAPPING_KEY } from "./staff.mjs";

const REPORT_DOCUMENT = "report";

const STRINGS = {
  ...ANSWER_STRINGS,
  reporter: "Reporter",
  inspector: "Inspector",
  note: "Internal note",
  locked: "This browser does not hold your unlocked key.",
  failed: "The case could not be opened with your key.",
  wrongKeyFile: "This key file is not the key of your account.",
  badKeyFile: "This file is not a key file of this system.",
  download: "Save %(name)s",
  unlocking: "Opening the file…",
  sending: "Sealing and sending…",
  sharing: "Sealing the case to the inspector…",
  empty: "Write a message or attach a file.",
  emptyNote: "Write the note.",
  sent: "Your message was sent to the reporter.",
  noted: "The note was saved.",
  shared: "The case was shared with %(name)s.",
  chooseInspector: "Choose an inspector.",
  noFiles: "No files.",
  writtenIn: "Written in",
  damagedReport: "This report could not be opened: it was altered or damaged.",
  damagedMessage: "This message could not be opened: it was altered or damaged.",
  damagedFile: "This file could not be opened: it was altered or damaged.",
  tooManyFiles: "A report or message takes at most %(count)d attachments.",
  fileTooLarge: "The file “%(name)s” is larger than the %(size)s this server accepts for one file.",
};

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** Staff calls: same-origin with the session cookie and the form token. */
class StaffApi extends Api {
  constructor(csrf, strings) {
    super("", strings);
    this.csrf = csrf;
  }

  request(path, init) {
    return super.request(path, { ...init, credentials: "same-origin" });
  }

  headers(extra = {}) {
    return super.headers({ "X-CSRFToken": this.csrf, ...extra });
  }
}

class Case {
  constructor(area, client, secretKey) {
    this.area = area;
    this.client = client;
    this.secretKey = secretKey;
    this.strings = pageStrings(area, STRINGS);
    this.staff = new StaffApi(area.dataset.csrf, this.strings);
    this.api = new Api(area.dataset.api, this.strings);
    this.progress = new Progress(byId("progress-area"));
    this.sealed = null;
  }

  /** The document, or null when it does not open (altered or damaged). */
  open(item) {
    return openOrNull(this.client, {
      payload: item.payload, slot: item.key_slot, secretKey: this.secretKey, padBlock: this.sealed.pad_block,
    });
  }

  async load() {
    this.sealed = await this.staff.get(this.area.dataset.sealed);
    this.report = await this.open(this.sealed.report);
    this.messages = [];
    for (const message of this.sealed.messages) {
      // A message sealed before this inspector could read the case has no slot for them.
      if (message.key_slot) this.messages.push({ ...message, document: await this.open(message) });
    }
    this.render();
  }

  /** A sentence in place of a document that did not open. */
  damaged(text, tag = "p") {
    return element(tag, text, "error-message damaged");
  }

  renderAnswers() {
    const answers = byId("case-answers");
    answers.replaceChildren();
    if (this.report) {
      try {
        this.fillAnswers(answers);
      } catch (err) {
        console.error(err);
        this.report = null;
      }
    }
    let note = byId("case-report-damaged");
    if (this.report) {
      note?.remove();
    } else if (!note) {
      note = this.damaged(this.strings.damagedReport);
      note.id = "case-report-damaged";
      answers.before(note);
    }
    setHidden(answers, !this.report);
  }

  fillAnswers(answers) {
    const { language } = this.report;
    if (typeof language === "string" && language) {
      // Old reports carry no language; a code this page has no name for shows as it is.
      answers.append(element("dt", this.strings.writtenIn), element("dd", this.strings[`language_${language}`] || language));
    }
    for (const [label, text] of answerRows(this.sealed.questions, this.report.answers, this.strings, language)) {
      answers.append(element("dt", label), element("dd", text));
    }
  }

  render() {
    this.renderAnswers();
    const files = byId("case-file-list");
    files.replaceChildren(...(this.report ? this.fileItems(this.report) : []));
    if (!files.children.length) files.append(element("li", this.strings.noFiles));
    setHidden(byId("case-files"), !this.report);
    const thread = byId("case-thread");
    thread.replaceChildren();
    for (const message of this.messages) {
      const item = element("li", undefined, `message-${message.from}`);
      item.append(element("p", `${this.strings[message.from] || message.from} · ${formatDay(message.sent_on)}`, "meta"));
      const opened = message.document;
      if (opened && (opened.text === undefined || typeof opened.text === "string")) {
        item.append(element("p", opened.text || "", "text"));
        const attached = this.fileItems(opened);
        if (attached.length) {
          const list = element("ul", undefined, "files");
          list.append(...attached);
          item.append(list);
        }
      } else {
        item.append(this.damaged(this.strings.damagedMessage));
      }
      thread.append(item);
    }
    setHidden(thread, false);
    const select = byId("share-inspector");
    const options = this.sealed.share_candidates.map((c) => {
      const option = element("option", c.name);
      option.value = c.id;
      return option;
    });
    const none = element("option", this.strings.chooseInspector);
    none.value = "";
    select.replaceChildren(none, ...options);
    setHidden(byId("share-form"), !options.length);
    setHidden(byId("share-heading"), !options.length);
    // Replies, notes and shares once the report itself has opened.
    setHidden(byId("case-actions"), !this.report);
  }

  fileItems(document) {
    return fileEntries(document).map((entry) => {
      const item = element("li");
      const button = element("button", fill(this.strings.download, { name: safeFileName(entry.name) }));
      button.type = "button";
      button.addEventListener("click", () => this.download(entry, button));
      item.append(button);
      return item;
    });
  }

  async download(entry, button) {
    clearError();
    button.disabled = true;
    try {
      this.progress.step(this.strings.unlocking, 0);
      const response = await this.staff.request(this.area.dataset.attachments + encodeURIComponent(entry.id),
        { method: "GET", headers: this.staff.headers() });
      const sealed = await response.blob();
      const { blob } = await this.client.call("open-stream", { blob: sealed, key: entry.key },
        (value) => this.progress.set(value));
      // application/octet-stream whatever type the file was declared with (saveBlob).
      saveBlob(blob, safeFileName(entry.name));
    } catch (err) {
      if (err instanceof CryptoError) {
        // This file only: the sentence takes the button's place, the rest stays usable.
        const sentence = this.damaged(this.strings.damagedFile, "span");
        sentence.setAttribute("role", "alert");
        button.replaceWith(sentence);
      } else {
        this.fail(err, button);
      }
    } finally {
      this.progress.hide();
      button.disabled = false;
    }
  }

  /** The case's readers as seal-document wants them; with the reporter for a reply. */
  readers(withReporter) {
    const readers = readersFor(this.sealed.recipients, this.sealed.reporter_public_key, this.sealed.recovery_key);
    if (!withReporter) delete readers.reporter;
    return readers;
  }

  async send(form, { note }) {
    const s = this.strings;
    clearError();
    clearFieldErrors(form);
    const textarea = form.querySelector("textarea");
    const input = form.querySelector("input[type=file]");
    const text = textarea.value.trim();
    const files = input ? [...input.files] : [];
    if (!text && !files.length) {
      showFieldError(textarea.closest(".field"), [textarea], note ? s.emptyNote : s.empty, `${textarea.id}-error`);
      textarea.focus();
      return;
    }
    const config = { max_attachments: this.sealed.max_attachments, max_attachment_bytes: this.sealed.max_attachment_bytes };
    const limit = fileLimitError(files, config, s, sealedLength);
    if (limit) {
      showFieldError(input.closest(".field"), [input], limit, `${input.id}-error`);
      input.focus();
      return;
    }
    setBusy(form, true);
    try {
      this.progress.step(s.sending, 0);
      const uploads = await sealAndUpload(this.client, this.api, files, (value) => this.progress.set(value * 0.9));
      const sealed = await this.client.call("seal-document", {
        document: { text, attachments: uploads.entries }, readers: this.readers(!note), padBlock: this.sealed.pad_block,
      });
      await this.staff.post(this.area.dataset[note ? "notes" : "messages"], {
        payload: sealed.payload, key_slots: sealed.keySlots, attachments: uploads.ids,
      });
      textarea.value = "";
      if (input) input.value = "";
      await this.load();
      this.announce(note ? s.noted : s.sent);
    } catch (err) {
      this.fail(err, form);
    } finally {
      this.progress.hide();
      setBusy(form, false);
    }
  }

  async share(form) {
    clearError();
    clearFieldErrors(form);
    const select = byId("share-inspector");
    const target = this.sealed.share_candidates.find((c) => c.id === select.value);
    if (!target) {
      showFieldError(select.closest(".field"), [select], this.strings.chooseInspector, "share-inspector-error");
      select.focus();
      return;
    }
    setBusy(form, true);
    try {
      this.progress.step(this.strings.sharing, null);
      const documents = [[REPORT_DOCUMENT, this.sealed.report.key_slot],
        ...this.messages.map((message) => [message.id, message.key_slot])];
      const { slots } = await this.client.call("reseal", {
        slots: documents.map(([, slot]) => slot), secretKey: this.secretKey, publicKey: target.public_key,
      });
      await this.staff.post(this.area.dataset.share, {
        inspector: target.id, key_slots: Object.fromEntries(documents.map(([id], i) => [id, slots[i]])),
      });
      await this.load();
      this.announce(fill(this.strings.shared, { name: target.name }));
    } catch (err) {
      this.fail(err, form);
    } finally {
      this.progress.hide();
      setBusy(form, false);
    }
  }

  announce(message) {
    let box = byId("case-announce");
    if (!box) {
      box = element("p", "", "notice success");
      box.id = "case-announce";
      box.setAttribute("role", "status");
      byId("case-actions").prepend(box);
    }
    box.textContent = message;
  }

  fail(err, anchor) {
    if (!(err instanceof ApiError)) console.error(err);
    showError(anchor, err instanceof ApiError ? err.message : this.strings.failed).focus();
  }
}

class Locked extends Error {}

/**
 * The inspector's secret key: unwrapped with this tab's wrapping key when the account's key
 * was made in the browser, or read from the offline key file `integrity keygen` wrote.
 */
async function secretKeyFor(area, client, strings) {
  if (area.dataset.wrapped) {
    const wrappingKey = sessionStorage.getItem(WRAPPING_KEY);
    if (!wrappingKey) throw new Locked(strings.locked);
    const { secretKey } = await client.call("staff-unwrap", {
      wrapped: area.dataset.wrapped, wrappingKey, publicKey: area.dataset.public,
    });
    return secretKey;
  }
  const kept = sessionStorage.getItem(OFFLINE_KEY);
  if (kept) return b64decode(kept, 32, "secret key");
  const form = byId("key-file-form");
  setHidden(form, false);
  return new Promise((resolve) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearFieldErrors(form);
      const input = byId("key-file");
      try {
        const pair = await client.call("key-file", { text: await input.files[0].text() });
        if (b64encode(pair.publicKey) !== area.dataset.public) {
          showFieldError(input.closest(".field"), [input], strings.wrongKeyFile, "key-file-error");
          return;
        }
        sessionStorage.setItem(OFFLINE_KEY, b64encode(pair.secretKey));
        input.value = "";
        setHidden(form, true);
        resolve(pair.secretKey);
      } catch {
        showFieldError(input.closest(".field"), [input], strings.badKeyFile, "key-file-error");
      }
    });
  });
}

async function main() {
  const area = byId("case-content");
  if (!area) return;
  const strings = pageStrings(area, STRINGS);
  const locked = byId("case-locked");
  let client;
  try {
    client = await startWorker(area.dataset.worker, area.dataset.workerIntegrity);
  } catch {
    locked.textContent = strings.failed;
    return;
  }
  try {
    const secretKey = await secretKeyFor(area, client, strings);
    const page = new Case(area, client, secretKey);
    await page.load();
    byId("reply-form").addEventListener("submit", (event) => {
      event.preventDefault();
      page.send(event.currentTarget, { note: false });
    });
    byId("note-form").addEventListener("submit", (event) => {
      event.preventDefault();
      page.send(event.currentTarget, { note: true });
    });
    byId("share-form").addEventListener("submit", (event) => {
      event.preventDefault();
      page.share(event.currentTarget);
    });
    setHidden(locked, true);
    area.dataset.opened = "1";
  } catch (err) {
    if (!(err instanceof ApiError) && !(err instanceof Locked)) console.error(err);
    locked.textContent = err instanceof Locked ? err.message : strings.failed;
    setHidden(locked, false);
  }
}

main();
