// The case page (bundled as static/dist/case.js). The inspector's key lives in the keyring
// (static/js/keyring.mjs): unwrapped there with the wrapping key completed at sign-in, or with
// the passphrase typed here when the keyring is empty, or read there from an offline key file.
// The page holds only its handle. The report, its files and its thread are opened in the
// keyring; replies, notes and shares are sealed there. Only ciphertext and key slots go back to
// the server. The report, each message or note
// and each file open on their own: one that is altered or damaged shows a sentence in its place,
// and the rest of the case still works (replies, notes and shares once the report has opened).

import {
  Api, ApiError, Progress, byId, clearError, clearFieldErrors, fileEntries, fileLimitError, fill, formatDay,
  openOrNull, pageStrings, readersFor, safeFileName, saveBlob, setBusy, setHidden, showError,
  showFieldError,
} from "./page.mjs";
import { UPLOAD_STRINGS, sealAndUpload } from "./uploads.mjs";
import { ANSWER_STRINGS, answerRows } from "./answers.mjs";
import { CryptoError, LockedError, sealedLength } from "./worker-client.mjs";
import { keyringUrl, openKeyring, pageIdleMinutes } from "./keyring-client.mjs";
import { keyHandleFor } from "./case-unlock.mjs";
import { Persons } from "./persons.mjs";
import { REDACTION_STRINGS, Redactions, isVoice } from "./case-redaction.mjs";
import { PROTECTION_STRINGS, isRecord, renderProtection, saveRecord } from "./case-protection.mjs";
import {
  THREAD_STRINGS, chainStatus, inSeqOrder, judge, listing, markItem, readersSection, routeAlarm, safeToSeal,
  sameRoute, shareText,
} from "./thread-view.mjs";
import { RECORD_STRINGS, minutesRow, recordStatusText } from "./records-view.mjs";

const REPORT_DOCUMENT = "report";

const STRINGS = {
  ...ANSWER_STRINGS,
  ...REDACTION_STRINGS,
  ...UPLOAD_STRINGS,
  ...THREAD_STRINGS,
  ...RECORD_STRINGS,
  ...PROTECTION_STRINGS,
  shareFingerprint: "Key fingerprint of %(name)s: %(fingerprint)s. Compare it with the one they read to you.",
  shareUncertified: "Not shared: this inspector's key is not certified by the organisation.",
  reporter: "Reporter",
  inspector: "Inspector",
  note: "Internal note",
  locked: "This browser does not hold your unlocked key.",
  wrongPassphrase: "This passphrase does not unlock your key. Check it and try again.",
  unlockLimited: "Too many sign-in requests came from this network just now: wait a minute and try again.",
  failed: "The case could not be opened with your key.",
  wrongKeyFile: "This key file is not the key of your account.",
  badKeyFile: "This file is not a key file of this system, or its passphrase does not open it.",
  download: "Save %(name)s",
  unlocking: "Opening the file…",
  sending: "Sealing and sending…",
  sharing: "Sealing the case to the inspector…",
  empty: "Write a message or attach a file.",
  emptyNote: "Write the note.",
  sent: "Your message was sent to the reporter.",
  sentFeedback: "Your feedback was sent to the reporter.",
  sentFinalNotice: "Your final notice was sent to the reporter.",
  sentAndClosed: "Your final notice was sent to the reporter and the case was closed.",
  kind_feedback: "Feedback",
  kind_final_notice: "Final notice",
  noted: "The note was saved.",
  shared: "The case was shared with %(name)s.",
  chooseInspector: "Choose an inspector.",
  shareReason: "Say why you share the case.",
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
  constructor(area, client, keyHandle) {
    this.area = area;
    this.client = client; // the keyring
    this.keyHandle = keyHandle;
    this.strings = pageStrings(area, STRINGS);
    this.staff = new StaffApi(area.dataset.csrf, this.strings);
    this.api = new Api(area.dataset.api, this.strings);
    this.progress = new Progress(byId("progress-area"));
    this.sealed = null;
    this.orgKey = area.dataset.orgKey || "";
    this.inspectorId = area.dataset.inspector || "";
    this.judged = null;
    this.candidates = { certified: [], fingerprints: {} };
    this.persons = new Persons(this);
    this.redactions = new Redactions(this);
  }

  get protocol2() {
    return this.sealed?.protocol === 2;
  }

  /** The listed messages of one chain (a message without a link counts in the chain of its kind). */
  chain(name) {
    return this.sealed.messages.filter((m) => (m.link?.chain ?? (m.from === "note" ? "notes" : "thread")) === name);
  }

  /** The document, or null when it does not open (altered or damaged). */
  open(item) {
    return openOrNull(this.client, {
      payload: item.payload, slot: item.key_slot, keyHandle: this.keyHandle, padBlock: this.sealed.pad_block,
    });
  }

  async load() {
    this.sealed = await this.staff.get(this.area.dataset.sealed);
    this.report = await this.open(this.sealed.report);
    this.messages = [];
    for (const message of this.sealed.messages) {
      // A message sealed before this inspector could read the case has no slot for them.
      if (message.key_slot) message.document = await this.open(message);
      // A deleted message has no slot left: its tombstone shows in its place.
      if (message.key_slot || message.deleted) this.messages.push(message);
    }
    await this.redactions.openReasons();
    this.judged = null;
    if (this.protocol2 && this.report) {
      try {
        this.judged = await judge(this.client, {
          report: this.sealed.report, key: { keyHandle: this.keyHandle }, padBlock: this.sealed.pad_block,
          orgKey: this.orgKey,
          chains: { thread: this.chain("thread"), notes: this.chain("notes") }, recipients: this.sealed.recipients,
          recoveryKey: this.sealed.recovery_key, recoveryCertificate: this.sealed.recovery_certificate,
        });
        this.candidates = await this.client.call("p2-certify", {
          orgKey: this.orgKey, recipients: this.sealed.share_candidates,
        });
      } catch (err) {
        console.error(err); // judged as not authentic below
      }
    }
    this.render();
    await this.persons.load();
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
    const minutes = minutesRow(this.report, this.strings);
    for (const [label, text] of [...(minutes ? [minutes] : []),
      ...answerRows(this.sealed.questions, this.report.answers, this.strings, language)]) {
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
    const checks = this.checks();
    for (const message of this.shown(checks)) {
      if (isRecord(message)) continue; // under "Protection of the reporter"
      const item = element("li", undefined, `message-${message.from}`);
      const meta = element("p", `${this.strings[message.from] || message.from} · ${formatDay(message.sent_on)}`, "meta");
      // Feedback and final notices are labelled from the server's clear `kind` (not secret).
      const kind = this.strings[`kind_${message.kind}`];
      if (kind) meta.append(" · ", element("span", kind, "kind"));
      // A record: whether the reporter agreed or corrected it (clear, like the kind).
      const agreement = recordStatusText(message, this.strings);
      if (agreement) meta.append(" · ", element("span", agreement, "record-state"));
      item.append(meta);
      const opened = message.document;
      if (message.deleted) {
        item.append(...this.redactions.messageLines(message));
      } else if (opened && (opened.text === undefined || typeof opened.text === "string")) {
        item.append(element("p", shareText(opened, this.names(), this.strings) ?? (opened.text || ""), "text"));
        const attached = this.fileItems(opened);
        if (attached.length) {
          const list = element("ul", undefined, "files");
          list.append(...attached);
          item.append(list);
        }
        item.append(...this.redactions.messageLines(message));
        const controls = this.redactions.messageControls(message);
        if (controls) item.append(controls);
      } else {
        item.append(this.damaged(this.strings.damagedMessage));
      }
      if (checks) markItem(item, checks.get(message), this.strings);
      thread.append(item);
    }
    setHidden(thread, false);
    renderProtection(this, checks);
    this.renderJudgement(checks);
    const select = byId("share-inspector");
    const options = this.sealed.share_candidates.map((c) => {
      const option = element("option", c.name);
      option.value = c.id;
      return option;
    });
    const none = element("option", this.strings.chooseInspector);
    none.value = "";
    select.replaceChildren(none, ...options);
    this.showFingerprint();
    setHidden(byId("share-form"), !options.length);
    setHidden(byId("share-heading"), !options.length);
    // Replies, notes and shares once the report itself has opened.
    setHidden(byId("case-actions"), !this.report);
  }

  /** Inspectors' names by id, for share messages. */
  names() {
    return new Map([...this.sealed.recipients, ...this.sealed.share_candidates].map((r) => [r.id, r.name]));
  }

  /** Each listed message's judgement (a Map), or null for a protocol 1 case. */
  checks() {
    if (!this.protocol2) return null;
    const found = new Map();
    for (const name of ["thread", "notes"]) {
      const messages = this.chain(name);
      const checks = this.judged?.checks[name] ?? messages.map(() => ({ authentic: false }));
      messages.forEach((message, index) => found.set(message, checks[index]));
    }
    return found;
  }

  /** The messages this inspector can open, each chain in seq order in the places its messages hold. */
  shown(checks) {
    if (!checks) return this.messages;
    const out = [...this.messages];
    for (const name of ["thread", "notes"]) {
      const places = [];
      const mine = [];
      this.messages.forEach((message, index) => {
        if (this.chain(name).includes(message)) {
          places.push(index);
          mine.push(message);
        }
      });
      inSeqOrder(mine, mine.map((m) => checks.get(m))).forEach(([message], i) => { out[places[i]] = message; });
    }
    return out;
  }

  renderJudgement(checks) {
    byId("case-thread-status")?.remove();
    byId("case-readers")?.remove();
    byId("case-route-status")?.remove();
    const thread = byId("case-thread");
    const all = checks ? [...checks.values()] : null;
    if (this.sealed.messages.length || !all) thread.before(chainStatus(all, this.strings, "case-thread-status"));
    if (this.judged && !sameRoute(this.judged.route, this.sealed.route)) {
      byId("case-answers").before(routeAlarm(this.strings, "case-route-status"));
    }
    if (this.judged) {
      thread.after(readersSection(this.judged, this.sealed.recipients, this.judged.fingerprints, this.strings,
        "case-readers"));
    }
  }

  showFingerprint() {
    let line = byId("share-fingerprint");
    const select = byId("share-inspector");
    if (!line) {
      line = element("p", "", "hint");
      line.id = "share-fingerprint";
      line.setAttribute("aria-live", "polite");
      select.after(line);
      select.addEventListener("change", () => this.showFingerprint());
    }
    const target = this.sealed.share_candidates.find((c) => c.id === select.value);
    const print = target && this.candidates.fingerprints?.[target.id];
    line.textContent = print ? fill(this.strings.shareFingerprint, { name: target.name, fingerprint: print }) : "";
    setHidden(line, !print);
  }

  fileItems(document) {
    return fileEntries(document).map((entry) => {
      const item = element("li");
      const gone = this.redactions.fileLine(entry);
      if (gone) {
        item.append(gone);
        return item;
      }
      const button = element("button", fill(this.strings.download, { name: safeFileName(entry.name) }));
      button.type = "button";
      button.addEventListener("click", () => this.download(entry, button));
      item.append(button);
      if (isVoice(entry)) item.append(this.redactions.voiceControls(entry));
      item.append(this.redactions.fileControls(entry));
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
      const { blob } = await this.client.call("open-stream", { blob: sealed, key: entry.key, size: entry.size },
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
    const reporter = this.protocol2 ? this.judged?.reporterPublicKey : this.sealed.reporter_public_key;
    const readers = readersFor(this.sealed.recipients, reporter, this.sealed.recovery_key);
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
    if (this.protocol2 && !(this.judged && safeToSeal(this.judged))) {
      showError(form, s.readersUnsafe).focus();
      return;
    }
    // What the message is, in clear beside the sealed content: a message, feedback or a final
    // notice (which may close the case with an outcome). Notes are always plain notes.
    const kind = note ? "message" : form.querySelector("input[name=kind]:checked")?.value || "message";
    const outcome = kind === "final_notice" ? byId("reply-outcome").value : "";
    setBusy(form, true);
    try {
      this.progress.step(s.sending, 0);
      const uploads = await sealAndUpload(this.client, this.api, files, this.progress, this.strings,
        { maxSealed: this.sealed.max_attachment_bytes });
      this.progress.step(s.sending, null);
      const body = { attachments: uploads.ids };
      if (!note) body.kind = kind;
      if (!note && byId("reply-declines")?.checked) body.meeting = "declined";
      if (outcome) body.outcome = outcome;
      if (this.protocol2) {
        const chain = note ? "notes" : "thread";
        const sealed = await this.sealWithLink(chain, this.readers(!note),
          { document: { protocol: 2, text, attachments: uploads.entries } });
        Object.assign(body, { payload: sealed.payload, key_slots: sealed.keySlots, link: sealed.link });
      } else {
        const sealed = await this.client.call("seal-document", {
          document: { text, attachments: uploads.entries }, readers: this.readers(!note), padBlock: this.sealed.pad_block,
        });
        Object.assign(body, { payload: sealed.payload, key_slots: sealed.keySlots });
      }
      await this.staff.post(this.area.dataset[note ? "notes" : "messages"], body);
      if (outcome || body.meeting) {
        // The case is closed, or the meeting declined: the page's status, deadlines and forms
        // come from the server.
        window.location.reload();
        return;
      }
      textarea.value = "";
      if (input) input.value = "";
      if (!note) resetKind(form);
      await this.load();
      this.announce(note ? s.noted : { feedback: s.sentFeedback, final_notice: s.sentFinalNotice, record: s.sentRecord }[kind] || s.sent);
    } catch (err) {
      await this.reloadIfChanged(err);
      this.fail(err, form);
    } finally {
      this.progress.hide();
      setBusy(form, false);
    }
  }

  /** Seal a protocol 2 message (`{document}` or `{share}`) with its link at the chain's next place. */
  sealWithLink(chain, readers, what) {
    return this.client.call("p2-seal-message", {
      report: this.sealed.report, keyHandle: this.keyHandle, padBlock: this.sealed.pad_block, chain,
      messages: listing(this.chain(chain)), role: "inspector", sender: this.inspectorId, readers, ...what,
    });
  }

  /** After a 409 (the conversation changed meanwhile), show the case as it is now. */
  async reloadIfChanged(err) {
    if (err instanceof ApiError && err.status === 409) await this.load().catch(() => {});
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
    const reason = byId("share-reason");
    if (!reason.value.trim()) {
      showFieldError(reason.closest(".field"), [reason], this.strings.shareReason, "share-reason-error");
      reason.focus();
      return;
    }
    if (this.protocol2 && !this.candidates.certified.includes(target.id)) {
      showError(form, this.strings.shareUncertified).focus();
      return;
    }
    if (this.protocol2 && !(this.judged && safeToSeal(this.judged))) {
      showError(form, this.strings.readersUnsafe).focus();
      return;
    }
    setBusy(form, true);
    try {
      this.progress.step(this.strings.sharing, null);
      // Every document this inspector holds a slot for (a deleted message has none left).
      const documents = [[REPORT_DOCUMENT, this.sealed.report.key_slot],
        ...this.messages.filter((message) => message.key_slot).map((message) => [message.id, message.key_slot]),
        ...this.persons.documents(), ...this.redactions.documents()];
      const { slots } = await this.client.call("reseal", {
        slots: documents.map(([, slot]) => slot), keyHandle: this.keyHandle, publicKey: target.public_key,
      });
      const body = {
        inspector: target.id, reason: reason.value,
        key_slots: Object.fromEntries(documents.map(([id], i) => [id, slots[i]])),
      };
      if (this.protocol2) {
        // The share message, sealed to every reader with the new one, tells the reporter.
        const readers = { ...this.readers(true), [target.id]: target.public_key };
        const sealed = await this.sealWithLink("thread", readers, { share: { id: target.id, publicKey: target.public_key } });
        body.message = { payload: sealed.payload, key_slots: sealed.keySlots, link: sealed.link };
      }
      await this.staff.post(this.area.dataset.share, body);
      reason.value = "";
      await this.load();
      this.announce(fill(this.strings.shared, { name: target.name }));
    } catch (err) {
      await this.reloadIfChanged(err);
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

/** Show the outcome choice only for a final notice, and never on a closed case. */
function showOutcome(form) {
  const final = form.querySelector("input[name=kind]:checked")?.value === "final_notice"
    && byId("case-content").dataset.closed !== "1";
  setHidden(byId("reply-outcome-field"), !final);
  if (!final) byId("reply-outcome").value = "";
}

function resetKind(form) {
  const plain = form.querySelector("input[name=kind][value=message]");
  if (plain) plain.checked = true;
  showOutcome(form);
}

async function main() {
  const area = byId("case-content");
  if (!area) return;
  const strings = pageStrings(area, STRINGS);
  const locked = byId("case-locked");
  let keyring;
  try {
    keyring = await openKeyring(keyringUrl(area), { idleMinutes: pageIdleMinutes() });
  } catch {
    locked.textContent = strings.failed;
    return;
  }
  try {
    const keyHandle = await keyHandleFor(area, keyring, strings);
    const page = new Case(area, keyring, keyHandle);
    await page.load();
    const replyForm = byId("reply-form");
    replyForm.addEventListener("change", (event) => {
      if (event.target.name === "kind") showOutcome(replyForm);
    });
    replyForm.addEventListener("submit", (event) => {
      event.preventDefault();
      page.send(event.currentTarget, { note: false });
    });
    byId("note-form").addEventListener("submit", (event) => {
      event.preventDefault();
      page.send(event.currentTarget, { note: true });
    });
    page.persons.listen();
    for (const id of ["risk-form", "measure-form"]) {
      byId(id).addEventListener("submit", (event) => {
        event.preventDefault();
        saveRecord(page, event.currentTarget);
      });
    }
    byId("share-form").addEventListener("submit", (event) => {
      event.preventDefault();
      page.share(event.currentTarget);
    });
    setHidden(locked, true);
    area.dataset.opened = "1";
  } catch (err) {
    if (!(err instanceof ApiError)) console.error(err);
    locked.textContent = err instanceof LockedError ? strings.locked : strings.failed;
    setHidden(locked, false);
  }
}

main();
