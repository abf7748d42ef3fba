// The mailbox in protected mode (bundled as static/dist/mailbox.js): the receipt is turned into
// keys on this device, the report and its thread are opened here, files are unlocked here, and
// replies are sealed here before they are sent. The receipt and the lookup live in memory only:
// never in a URL, storage or a cookie. Without the worker the plain form goes to the server only
// when the reporter chooses basic mode (the #basic-choice panel).
// The report, each message and each file open on their own: one that is altered or damaged
// shows a sentence in its place, and the rest of the mailbox still works.

import {
  Api, ApiError, Progress, basicModeChoice, byId, clearError, clearFieldErrors, fileEntries, fileLimitError, fill, formatDay,
  interceptInProtectedMode, openOrNull, pageStrings, readersFor, revokeObjectUrls, safeFileName, saveBlob, setBusy,
  setHidden, showError, showPlainMode, showFieldError,
} from "./page.mjs";
import { UPLOAD_STRINGS, sealAndUpload } from "./uploads.mjs";
import { CLEAN_STRINGS, FileChecks } from "./file-checks.mjs";
import { VOICE_STRINGS, addVoiceRecorder } from "./voice.mjs";
import { tombstoneSentence } from "./case-redaction.mjs";
import { ANSWER_STRINGS, answerRows } from "./answers.mjs";
import { CryptoError, b64encode, normaliseReceipt, sealedLength, startWorker } from "./worker-client.mjs";
import { closeMailbox, zeroBytes } from "./mailbox-close.mjs";
import { FLOOR_SENTENCES, FloorError, checkConfigFloors } from "./floors.mjs";
import {
  RETALIATION_STRINGS, caseScope, checkInList, linkedSection, retaliationForms,
} from "./mailbox-retaliation.mjs";
import {
  THREAD_STRINGS, chainStatus, inSeqOrder, judge, listing, markItem, readersSection, safeToSeal, shareText,
} from "./thread-view.mjs";
import {
  RECORD_STRINGS, isRecord, meetingText, minutesRow, recordCheck, replyChoices, replyExtras, startCorrection,
} from "./records-view.mjs";

export { safeFileName };

// English defaults; the template may give translations in #mailbox-form's data-strings (JSON).
export const STRINGS = {
  ...ANSWER_STRINGS,
  ...UPLOAD_STRINGS,
  ...CLEAN_STRINGS,
  ...VOICE_STRINGS,
  // Where an inspector deleted a file or a message, or removed a passage (never why).
  fileDeleted: "A file was deleted on %(day)s by %(name)s.",
  messageDeleted: "A message was deleted on %(day)s by %(name)s.",
  passageRemoved: "A passage was removed on %(day)s by %(name)s.",
  ...THREAD_STRINGS,
  ...RECORD_STRINGS,
  ...RETALIATION_STRINGS,
  opening: "Opening your mailbox…",
  openingFile: "Opening the file…",
  sendingReply: "Sealing and sending your message…",
  receiptInvalid: "A receipt has exactly 20 digits.",
  statusLabel: "Status",
  sentOn: "Sent on",
  yourReport: "Your report",
  messages: "Messages",
  you: "You",
  inspector: "Inspector",
  noMessages: "No messages yet.",
  write: "Write to the inspectors",
  yourMessage: "Your message",
  files: "Files (optional)",
  send: "Send",
  download: "Download %(name)s",
  emptyReply: "Write a message or attach a file.",
  sent: "Your message was sent.",
  status_new: "Received, not yet acknowledged",
  status_acknowledged: "Acknowledged",
  status_in_progress: "Being looked into",
  status_closed: "Closed",
  kind_feedback: "Feedback",
  kind_final_notice: "Final notice",
  outcome_substantiated: "Case closed: the facts you reported were confirmed.",
  outcome_partly_substantiated: "Case closed: some of the facts you reported were confirmed.",
  outcome_unsubstantiated: "Case closed: the facts you reported could not be confirmed.",
  outcome_not_in_scope: "Case closed: what you reported is not a matter this service deals with.",
  tooManyFiles: "A report or message takes at most %(count)d attachments.",
  fileTooLarge: "The file “%(name)s” is larger than the %(size)s this server accepts for one file.",
  failed: "Your mailbox could not be opened on this device. Please try again.",
  network: "The server could not be reached. Check your connection and try again.",
  server: "The server could not handle the request (error %(status)s). Please try again later.",
  damagedReport: "This report could not be opened: it was altered or damaged.",
  damagedMessage: "This message could not be opened: it was altered or damaged.",
  damagedFile: "This file could not be opened: it was altered or damaged.",
  closeMailbox: "Close the mailbox",
  closeHint: "On a shared device, close the mailbox when you are done: this page then forgets your receipt and the conversation.",
  mailboxClosed: "The mailbox is closed. This page no longer holds your receipt or the conversation.",
  floor_opslimit: FLOOR_SENTENCES.opslimit,
  floor_memlimit: FLOOR_SENTENCES.memlimit,
  floor_padBlock: FLOOR_SENTENCES.padBlock,
};

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Everything one opened mailbox needs, held in memory for this page only. */
class Mailbox {
  constructor({ client, api, strings, config, keys, view, progressArea, orgKey = "" }) {
    this.orgKey = orgKey;
    this.client = client;
    this.api = api;
    this.strings = strings;
    this.config = config;
    this.keys = keys;
    this.lookup = b64encode(keys.lookup);
    this.secretKey = keys.secretKey;
    this.publicKey = b64encode(keys.publicKey);
    this.view = view;
    this.progressArea = progressArea;
    this.box = null;
    this.case = null; // the reference of the report of retaliation shown, or null for the first report
    this.onClose = null; // set by openMailbox: what the "Close the mailbox" button does
  }

  /** Zero the keys and drop everything opened: the mailbox is closed. */
  forget() {
    const { lookup, lookupHash, secretKey, publicKey } = this.keys || {};
    zeroBytes(lookup, lookupHash, secretKey, publicKey);
    this.keys = this.secretKey = this.lookup = this.publicKey = null;
    this.box = this.judged = this.case = null;
  }

  renderClose() {
    const button = element("button", { type: "button", id: "close-mailbox", "aria-describedby": "close-hint" },
      this.strings.closeMailbox);
    button.addEventListener("click", () => this.onClose?.());
    return element("div", { className: "close-mailbox" },
      element("p", { className: "hint", id: "close-hint" }, this.strings.closeHint), button);
  }

  /** Fetch the mailbox and open the report and every message in the worker. */
  async load() {
    const box = await this.api.post("/mailbox", { lookup: this.lookup, ...caseScope(this) });
    const padBlock = this.config.pad_block;
    const open = (item) => openOrNull(this.client, {
      payload: item.payload, slot: item.key_slot, secretKey: this.secretKey, padBlock,
    });
    box.report.document = await open(box.report);
    for (const message of box.messages) message.document = message.deleted ? null : await open(message);
    this.box = box;
    this.judged = null;
    if (box.report.protocol === 2 && box.report.document) {
      try {
        this.judged = await judge(this.client, {
          report: box.report, key: { secretKey: this.secretKey }, padBlock, orgKey: this.orgKey,
          chains: { thread: box.messages }, recipients: box.recipients,
          recoveryKey: this.config.recovery_key, recoveryCertificate: this.config.recovery_certificate,
        });
      } catch (err) {
        console.error(err); // judged as not authentic below
      }
    }
    return box;
  }

  questions() {
    // The mailbox answer carries the questionnaire; the config only lists open channels.
    if (Array.isArray(this.box.questions)) return this.box.questions;
    const channel = (this.config.channels || []).find((c) => c.slug === this.box.report.channel);
    return channel?.questions || [];
  }

  /** A sentence in place of a document that did not open. */
  damaged(text, attributes = {}) {
    return element("p", { className: "error-message damaged", ...attributes }, text);
  }

  renderAnswers() {
    const report = this.box.report.document;
    if (!report) return this.damaged(this.strings.damagedReport, { id: "report-answers" });
    try {
      const list = element("dl", { className: "answers", id: "report-answers" });
      const { answers, language } = report;
      const minutes = minutesRow(report, this.strings);
      for (const [label, text] of [...(minutes ? [minutes] : []),
        ...answerRows(this.questions(), answers, this.strings, language)]) {
        list.append(element("dt", {}, label), element("dd", {}, text));
      }
      return list;
    } catch (err) {
      console.error(err);
      return this.damaged(this.strings.damagedReport, { id: "report-answers" });
    }
  }

  renderFiles(document) {
    const entries = fileEntries(document);
    if (!entries.length) return null;
    const list = element("ul", { className: "files" });
    for (const entry of entries) {
      const gone = (this.box.tombstones || []).find((t) => t.kind === "attachment" && t.attachment === entry.id);
      if (gone) {
        list.append(element("li", { className: "tombstone" }, tombstoneSentence(gone, this.strings)));
        continue;
      }
      const button = element("button", { type: "button", className: "link-button" },
        fill(this.strings.download, { name: safeFileName(entry.name) }));
      button.addEventListener("click", () => this.download(entry, button));
      list.append(element("li", {}, button, ` (${(Number(entry.size || 0) / 1024).toFixed(1)} KB)`));
    }
    return list;
  }

  names() {
    return new Map(this.box.recipients.map((r) => [r.id, r.name]));
  }

  /** Each message's judgement (protocol 2), or null for a protocol 1 report. */
  checks() {
    if (this.box.report.protocol !== 2) return null;
    return this.judged?.checks.thread ?? this.box.messages.map(() => ({ authentic: false }));
  }

  renderThread() {
    const checks = this.checks();
    const pairs = checks ? inSeqOrder(this.box.messages, checks) : this.box.messages.map((m) => [m, null]);
    if (!pairs.length) return element("p", { className: "empty", id: "thread" }, this.strings.noMessages);
    const thread = element("ol", { className: "thread", id: "thread" });
    for (const [message, check] of pairs) {
      const who = message.from === "reporter" ? this.strings.you : this.strings.inspector;
      const opened = message.document;
      const gone = (this.box.tombstones || []).filter((t) => t.kind !== "attachment" && t.message === message.id)
        .map((t) => element("p", { className: "tombstone", "data-kind": t.kind }, tombstoneSentence(t, this.strings)));
      let body;
      if (message.deleted) {
        body = gone;
      } else if (opened && (opened.text === undefined || typeof opened.text === "string")) {
        body = [element("p", { className: "text" }, shareText(opened, this.names(), this.strings) ?? opened.text ?? ""),
          this.renderFiles(opened), ...gone];
      } else {
        body = [this.damaged(this.strings.damagedMessage)];
      }
      // Feedback and final notices are labelled from the server's clear `kind` (not secret).
      const kind = this.strings[`kind_${message.kind}`];
      const item = element("li", { className: `message-${message.from === "reporter" ? "reporter" : "inspector"}` },
        element("p", { className: "meta" }, `${who} · ${formatDay(message.sent_on)}`,
          kind && " · ", kind && element("span", { className: "kind" }, kind)), ...body);
      if (checks) markItem(item, check, this.strings);
      if (isRecord(message) && opened) {
        item.append(recordCheck(message, this.strings, {
          onAgree: (record, button) => this.agree(record, button),
          onCorrect: (record) => startCorrection(this.view, record),
        }));
      }
      thread.append(item);
    }
    return thread;
  }

  renderReaders() {
    if (!this.judged) return null;
    return readersSection(this.judged, this.box.recipients, this.judged.fingerprints, this.strings);
  }

  renderReplyForm() {
    const s = this.strings;
    const form = element("form", { className: "stack wide", id: "reply-form", novalidate: true },
      element("div", { className: "field" },
        element("label", { for: "reply-text" }, s.yourMessage),
        element("textarea", { id: "reply-text", name: "text", rows: "5", maxlength: "20000" })),
      element("div", { className: "field" },
        element("label", { for: "reply-files" }, s.files),
        element("p", { className: "hint", id: "reply-files-hint" }, s.cleanHint),
        element("input", { type: "file", id: "reply-files", name: "files", multiple: true,
          "aria-describedby": "reply-files-hint" }),
        element("ul", { className: "file-checks", id: "reply-files-checks", hidden: true })));
    // Each chosen file's hidden details listed, with its own "send as it is" choice.
    this.fileChecks = new FileChecks(form.querySelector("#reply-files"), form.querySelector("#reply-files-checks"),
      s, { lang: document.documentElement.lang || undefined });
    addVoiceRecorder(form.querySelector("#reply-files"), form.querySelector("#reply-files-checks"), s);
    form.append(...replyChoices(this.box.messages, s));
    if (this.progressArea) form.append(this.progressArea);
    form.append(element("button", { type: "submit", className: "primary" }, s.send));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (form.getAttribute("aria-busy") !== "true") this.reply(form);
    });
    return form;
  }

  /** Draw the opened mailbox into the view, with `notice` on top when given. */
  render(notice = "") {
    const s = this.strings;
    const report = this.box.report;
    const status = s[`status_${report.status}`] || report.status;
    const notes = notice ? element("p", { className: "message message-success", role: "status", tabindex: "-1" }, notice)
      : null;
    const opened = Boolean(report.document); // a reply needs the report to have opened
    const meeting = meetingText(report, s);
    this.view.replaceChildren(...[
      notes,
      this.renderClose(),
      ...linkedSection(this, element),
      report.outcome && element("p", { className: "notice", id: "report-outcome" },
        s[`outcome_${report.outcome}`] || report.outcome),
      element("dl", { className: "facts" },
        element("dt", {}, s.statusLabel), element("dd", { id: "report-status" }, status),
        element("dt", {}, s.sentOn), element("dd", {}, formatDay(report.created_on)),
        meeting && element("dt", {}, s.meetingLabel), meeting && element("dd", { id: "report-meeting" }, meeting)),
      checkInList(this, element),
      element("h2", {}, this.case ? s.yourRetaliation : s.yourReport),
      this.renderAnswers(),
      opened && this.renderFiles(report.document),
      element("h2", {}, s.messages),
      this.box.messages.length || this.checks() === null ? chainStatus(this.checks(), s, "thread-status") : null,
      this.renderThread(),
      this.renderReaders(),
      opened && element("h2", {}, s.write),
      opened && this.renderReplyForm(),
      ...retaliationForms(this, element),
    ].filter(Boolean));
    setHidden(this.view, false);
    return notes;
  }

  progress() {
    return new Progress(this.progressArea);
  }

  async download(entry, button) {
    clearError();
    const progress = this.progress();
    button.disabled = true;
    try {
      progress.step(this.strings.openingFile, 0);
      const sealed = await this.api.postForBlob("/mailbox/attachment", { lookup: this.lookup, id: entry.id, ...caseScope(this) });
      const { blob } = await this.client.call("open-stream", { blob: sealed, key: entry.key, size: entry.size },
        (value) => progress.set(value));
      saveBlob(blob, safeFileName(entry.name));
    } catch (err) {
      if (err instanceof CryptoError) {
        // This file only: the sentence takes the button's place, the rest stays usable.
        button.replaceWith(this.damaged(this.strings.damagedFile, { role: "alert" }));
      } else {
        this.fail(err);
      }
    } finally {
      progress.hide();
      button.disabled = false;
    }
  }

  async reply(form) {
    const s = this.strings;
    clearError();
    clearFieldErrors(form);
    const textarea = form.querySelector("#reply-text");
    const input = form.querySelector("#reply-files");
    const text = textarea.value.trim();
    let files;
    try {
      files = await this.fileChecks.files();
    } catch (err) {
      showFieldError(input.closest(".field"), [input], err.message, "reply-files-error");
      (err.control || input).focus();
      return;
    }
    if (!text && !files.length) {
      showFieldError(textarea.closest(".field"), [textarea], s.emptyReply, "reply-text-error");
      textarea.focus();
      return;
    }
    const limit = fileLimitError(files, this.config, s, sealedLength);
    if (limit) {
      showFieldError(input.closest(".field"), [input], limit, "reply-files-error");
      input.focus();
      return;
    }
    const protocol2 = this.box.report.protocol === 2;
    if (protocol2 && !(this.judged && safeToSeal(this.judged))) {
      showError(this.view, s.readersUnsafe).focus();
      return;
    }
    const progress = this.progress();
    setBusy(form, true);
    try {
      progress.step(s.sendingReply, 0);
      const uploads = await sealAndUpload(this.client, this.api, files, progress, s,
        { maxSealed: this.config.max_attachment_bytes });
      progress.step(s.sendingReply, null);
      const readers = readersFor(this.box.recipients, this.publicKey, this.config.recovery_key);
      const sealed = protocol2
        ? await this.client.call("p2-seal-message", {
          report: this.box.report, secretKey: this.secretKey, padBlock: this.config.pad_block, chain: "thread",
          messages: listing(this.box.messages), role: "reporter", sender: "",
          document: { protocol: 2, text, attachments: uploads.entries }, readers,
        })
        : await this.client.call("seal-document", {
          document: { text, attachments: uploads.entries }, readers, padBlock: this.config.pad_block,
        });
      const body = {
        lookup: this.lookup, payload: sealed.payload, key_slots: sealed.keySlots, attachments: uploads.ids,
        ...replyExtras(form),
        ...caseScope(this),
      };
      if (protocol2) body.link = sealed.link;
      await this.api.post("/mailbox/messages", body);
      progress.set(1);
      await this.load();
      progress.hide();
      this.render(s.sent)?.focus();
    } catch (err) {
      progress.hide();
      setBusy(form, false);
      if (err instanceof ApiError && err.status === 409) {
        // The conversation changed meanwhile: show it as it is now, keep the text, say why.
        await this.load().then(() => this.render()).catch(() => {});
        const again = this.view.querySelector("#reply-text");
        if (again) again.value = text;
      }
      this.fail(err);
    }
  }

  /** The reporter agrees that a record is accurate: recorded, and the mailbox shown again. */
  async agree(record, button) {
    clearError();
    button.disabled = true;
    try {
      await this.api.post("/mailbox/agree", { lookup: this.lookup, record: record.id });
      await this.load();
      this.render(this.strings.recordAgreedThanks)?.focus();
    } catch (err) {
      button.disabled = false;
      this.fail(err);
    }
  }

  fail(err) {
    if (!(err instanceof ApiError)) console.error(err);
    showError(this.view, err instanceof ApiError ? err.message : this.strings.failed).focus();
  }
}

async function openMailbox(form, client, api, strings, restart) {
  clearError();
  clearFieldErrors(form);
  const notice = byId("closed-notice");
  setHidden(notice, true);
  const input = byId("receipt-input");
  let receipt;
  try {
    receipt = normaliseReceipt(input.value);
  } catch {
    showFieldError(input.closest(".field"), [input], strings.receiptInvalid, "receipt-input-error");
    input.focus();
    return;
  }
  const progressArea = byId("progress-area");
  const progress = new Progress(progressArea);
  setBusy(form, true);
  try {
    progress.step(strings.opening, null);
    const config = await api.get("/config");
    checkConfigFloors(config, strings); // before the receipt is turned into keys
    const keys = await client.call("derive", {
      receipt, salt: config.salt, opslimit: config.argon2id.opslimit, memlimit: config.argon2id.memlimit,
    });
    receipt = null;
    const mailbox = new Mailbox({
      client, api, strings, config, keys, view: byId("mailbox-view"), progressArea, orgKey: form.dataset.orgKey || "",
    });
    await mailbox.load();
    input.value = ""; // the receipt leaves the page; the keys stay in this closure only
    mailbox.onClose = () => {
      closeMailbox({ mailbox, form, notice, show: (el, visible) => setHidden(el, !visible), revoke: revokeObjectUrls,
        restart, win: window });
      input.focus();
    };
    progress.hide();
    setHidden(form, true);
    mailbox.render();
    mailbox.view.tabIndex = -1;
    mailbox.view.focus();
  } catch (err) {
    progress.hide();
    const known = err instanceof ApiError || err instanceof FloorError;
    if (!known) console.error(err);
    showError(form, known ? err.message : strings.failed).focus();
  } finally {
    setBusy(form, false);
  }
}

function main() {
  const form = byId("mailbox-form");
  if (!form) {
    showPlainMode(); // the server opened the mailbox (basic mode): nothing else to do here
    return;
  }
  const strings = pageStrings(form, STRINGS);
  new Progress().hide(); // in case the stylesheet shows the hidden progress area
  const api = new Api(form.dataset.api || "/api/v1", strings);
  // After the mailbox was closed, the next opening uses a fresh worker (the first one stopped).
  let fresh = null;
  const restart = () => {
    fresh = startWorker(form.dataset.worker, form.dataset.workerIntegrity || "").catch(() => {
      window.location.reload(); // no worker to open another mailbox: start the page afresh
      return new Promise(() => {});
    });
  };
  // Without the worker, the receipt goes to the server only once the reporter chooses basic mode.
  interceptInProtectedMode(form, "mailbox",
    async (client) => openMailbox(form, fresh ? await fresh : client, api, strings, restart),
    { askBasic: basicModeChoice() });
}

if (typeof document !== "undefined") main();
