// Deleting a file or a message of a case, removing a passage of a message, and turning a voice
// message into a written record, on the case page (docs/inspectors.md). The passage is removed
// here: the message is opened in the keyring, the marked passage replaced by a visible marker,
// and the message sealed again to the same readers; for a protocol 2 case the keyring also
// authenticates the replacement with the thread secret (docs/protocol.md#redactions-and-deletions).
// What remains is a tombstone: who, which day and why. The reason can name what was removed, so
// it is sealed here as a note is, to the case's readers and the recovery key, never the reporter,
// as the reason document {"reason": text}; the page opens each tombstone's reason with its own slot.

import { clearError, fill, formatDay, setBusy, setHidden, showError } from "./page.mjs";
import { listing, safeToSeal } from "./thread-view.mjs";

export const REDACTION_STRINGS = {
  fileDeleted: "A file was deleted on %(day)s by %(name)s: %(reason)s",
  messageDeleted: "A message was deleted on %(day)s by %(name)s: %(reason)s",
  passageRemoved: "A passage was removed on %(day)s by %(name)s: %(reason)s",
  // A tombstone whose reason this inspector cannot open (none kept, or sealed without them).
  fileDeletedNoReason: "A file was deleted on %(day)s by %(name)s.",
  messageDeletedNoReason: "A message was deleted on %(day)s by %(name)s.",
  passageRemovedNoReason: "A passage was removed on %(day)s by %(name)s.",
  reasonDamaged: "Its reason could not be opened: it was altered or damaged.",
  removedMarker: "[removed]",
  redactSummary: "Delete or remove a passage",
  redactHint: "Select the passage to remove in the copy below (with the mouse, or with Shift and the arrow keys), then remove it. The message is sealed again with the marker “[removed]” in its place. Or delete the whole message and its files.",
  redactCopy: "Copy of the message",
  deleteReason: "Why (only the case's inspectors see it, never the reporter)",
  removePassage: "Remove the selected passage",
  deleteMessage: "Delete the whole message",
  selectPassage: "Select the passage to remove first.",
  fileDeleteSummary: "Delete this file",
  deleteFile: "Delete the file for good",
  giveReason: "Say why it is deleted.",
  deletedMessage: "The message was deleted.",
  removedPassage: "The passage was removed.",
  deletedFile: "The file was deleted.",
  play: "Play the voice message",
  voiceLabel: "Voice message",
  transcribeSummary: "Transcribe, then delete the recording",
  transcribeHint: "Type what the reporter says. The transcript is sent to the reporter as a record they can check and agree; then the recording is deleted for good.",
  transcript: "Transcript",
  transcribeReason: "Transcribed: the record replaces the recording.",
  transcribe: "Send the transcript and delete the recording",
  emptyTranscript: "Type the transcript first.",
  transcribed: "The transcript was sent to the reporter and the recording was deleted.",
};

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  return node;
}

let counter = 0;
const nextId = (stem) => `${stem}-${++counter}`;

const SENTENCES = { attachment: "fileDeleted", message: "messageDeleted", passage: "passageRemoved" };

/** The sentence a tombstone shows: with `reason` (the opened reason, on the case page), or
 * without (the case page's "…NoReason" sentences; the mailbox's own sentences never hold one). */
export function tombstoneSentence(tombstone, strings, reason = null) {
  const key = SENTENCES[tombstone.kind] || SENTENCES.message;
  const template = reason === null ? strings[`${key}NoReason`] ?? strings[key] : strings[key];
  return fill(template, { day: formatDay(tombstone.on), name: tombstone.by || "—", reason: reason ?? "" });
}

/** A reason as typed, on one line: runs of spaces folded into one. */
export function foldedReason(text) {
  return text.split(/\s+/).filter(Boolean).join(" ");
}

/** Whether a file entry is a voice message (an audio recording). */
export function isVoice(entry) {
  return typeof entry?.type === "string" && entry.type.startsWith("audio/");
}

/** `text` with the characters from `start` to `end` replaced by `marker`. */
export function withoutPassage(text, start, end, marker) {
  return `${text.slice(0, start)}${marker}${text.slice(end)}`;
}

/** The redaction and voice controls of one case page (a Case of case.mjs). */
export class Redactions {
  constructor(page) {
    this.page = page;
  }

  get strings() {
    return this.page.strings;
  }

  tombstones() {
    return this.page.sealed?.tombstones || [];
  }

  /** Open each tombstone's sealed reason this inspector holds a slot for (after each load). */
  async openReasons() {
    for (const tombstone of this.tombstones()) {
      const sealed = tombstone.reason;
      const opened = sealed?.key_slot ? await this.page.open(sealed) : null;
      tombstone.opened = typeof opened?.reason === "string" ? opened.reason : null;
      // A slot that does not open, or a document that is no reason: altered or damaged.
      tombstone.damaged = Boolean(sealed?.key_slot) && tombstone.opened === null;
    }
  }

  /** The sealed reasons this inspector can open, as a share request names them. */
  documents() {
    return this.tombstones().filter((t) => t.reason?.key_slot).map((t) => [`tombstone:${t.id}`, t.reason.key_slot]);
  }

  /** A tombstone's sentence, with its reason when it opened, and the damage when it did not. */
  sentence(tombstone) {
    const text = tombstoneSentence(tombstone, this.strings, tombstone.opened ?? null);
    return tombstone.damaged ? `${text} ${this.strings.reasonDamaged}` : text;
  }

  fileTombstone(entry) {
    return this.tombstones().find((t) => t.kind === "attachment" && t.attachment === entry.id);
  }

  messageTombstones(message) {
    return this.tombstones().filter((t) => t.kind !== "attachment" && t.message === message.id);
  }

  /** The tombstone lines of a message (deleted, or passages removed). */
  messageLines(message) {
    return this.messageTombstones(message).map((t) => element("p", this.sentence(t),
      { className: "tombstone", "data-kind": t.kind }));
  }

  /** A deleted file's tombstone, or null. */
  fileLine(entry) {
    const tombstone = this.fileTombstone(entry);
    return tombstone ? element("span", this.sentence(tombstone), { className: "tombstone" }) : null;
  }

  /** A small form: the reason and one or more buttons, each calling `act(reason, form, button)`
   * with the reason typed (each act seals it with `sealReason` once its own checks pass). */
  reasonForm(buttons, { before = [], reason = "" } = {}) {
    const s = this.strings;
    const form = element("form", undefined, { className: "stack redact-form", novalidate: "" });
    const id = nextId("reason");
    const input = element("input", undefined, { id, type: "text", maxlength: "500", name: "reason" });
    input.value = reason;
    form.append(...before, element("div", undefined, { className: "field" }));
    form.lastChild.append(element("label", s.deleteReason, { for: id }), input);
    for (const [label, act] of buttons) {
      const button = element("button", label, { type: "button", className: "danger" });
      button.addEventListener("click", () => this.run(form, input, button, act));
      form.append(button);
    }
    form.addEventListener("submit", (event) => event.preventDefault());
    return form;
  }

  async run(form, input, button, act) {
    clearError();
    const reason = foldedReason(input.value);
    if (!reason) {
      showError(input, this.strings.giveReason);
      input.focus();
      return;
    }
    const page = this.page;
    if (page.protocol2 && !(page.judged && safeToSeal(page.judged))) {
      showError(form, page.strings.readersUnsafe).focus();
      return;
    }
    setBusy(form, true);
    try {
      const done = await act(reason, form, button);
      if (done === false) return;
      await this.page.load();
      this.page.announce(done);
    } catch (err) {
      await this.page.reloadIfChanged(err);
      this.page.fail(err, form);
    } finally {
      setBusy(form, false);
    }
  }

  /** "Delete or remove a passage" under a message that opened (not a share message). */
  messageControls(message) {
    const s = this.strings;
    const opened = message.document;
    if (!opened || message.deleted || (opened.protocol === 2 && opened.share)) return null;
    const details = element("details", undefined, { className: "redact" });
    details.append(element("summary", s.redactSummary));
    const copyId = nextId("redact-copy");
    const hintId = `${copyId}-hint`;
    const copy = element("textarea", undefined, { id: copyId, rows: "4", readonly: "", "aria-describedby": hintId });
    copy.value = opened.text || "";
    const field = element("div", undefined, { className: "field" });
    field.append(element("label", s.redactCopy, { for: copyId }), element("p", s.redactHint, { className: "hint", id: hintId }), copy);
    details.append(this.reasonForm([
      [s.removePassage, (reason) => this.removePassage(message, copy, reason)],
      [s.deleteMessage, (reason) => this.deleteMessage(message, reason)],
    ], { before: [field] }));
    return details;
  }

  /** "Delete this file" beside a file that is still there. */
  fileControls(entry) {
    const s = this.strings;
    const details = element("details", undefined, { className: "redact" });
    details.append(element("summary", s.fileDeleteSummary));
    details.append(this.reasonForm([[s.deleteFile, (reason) => this.deleteFile(entry, reason)]]));
    return details;
  }

  /** The reason sealed as a note is, as the routes take it: {payload, key_slots}. */
  async sealReason(reason) {
    const page = this.page;
    const sealed = await page.client.call("seal-document", {
      document: { reason }, readers: page.readers(false), padBlock: page.sealed.pad_block,
    });
    return { payload: sealed.payload, key_slots: sealed.keySlots };
  }

  /** The authenticator of a protocol 2 message's replacement (null for protocol 1). */
  async replacement(message, payload) {
    if (!this.page.protocol2 || !message.link) return null;
    const { auth } = await this.page.client.call("p2-replacement", {
      report: this.page.sealed.report, keyHandle: this.page.keyHandle, padBlock: this.page.sealed.pad_block,
      chain: message.link.chain, message: listing([message])[0], payload, replacedBy: this.page.inspectorId,
    });
    return { auth };
  }

  async removePassage(message, copy, reason) {
    const { selectionStart: start, selectionEnd: end } = copy;
    if (!(end > start)) {
      showError(copy, this.strings.selectPassage);
      copy.focus();
      return false;
    }
    const page = this.page;
    const document = { ...message.document, text: withoutPassage(copy.value, start, end, this.strings.removedMarker) };
    const sealed = await page.client.call("seal-document", {
      document, readers: page.readers(message.from !== "note"), padBlock: page.sealed.pad_block,
    });
    const body = { reason: await this.sealReason(reason), payload: sealed.payload, key_slots: sealed.keySlots };
    const replacement = await this.replacement(message, sealed.payload);
    if (replacement) body.replacement = replacement;
    await page.staff.post(`${page.area.dataset.messages}/${encodeURIComponent(message.id)}/redact`, body);
    return this.strings.removedPassage;
  }

  async deleteMessage(message, reason) {
    const page = this.page;
    const body = { reason: await this.sealReason(reason) };
    const replacement = await this.replacement(message, "");
    if (replacement) body.replacement = replacement;
    await page.staff.post(`${page.area.dataset.messages}/${encodeURIComponent(message.id)}/delete`, body);
    return this.strings.deletedMessage;
  }

  async deleteFile(entry, reason) {
    const page = this.page;
    await page.staff.post(`${page.area.dataset.attachments}${encodeURIComponent(entry.id)}/delete`,
      { reason: await this.sealReason(reason) });
    return this.strings.deletedFile;
  }

  /** For a voice message: play it here, and transcribe it into a record. */
  voiceControls(entry) {
    const s = this.strings;
    const box = element("div", undefined, { className: "voice" });
    const play = element("button", s.play, { type: "button" });
    const audio = element("audio", undefined, { controls: "", "aria-label": s.voiceLabel });
    setHidden(audio, true);
    play.addEventListener("click", () => this.play(entry, play, audio));
    const details = element("details", undefined, { className: "transcribe" });
    details.append(element("summary", s.transcribeSummary));
    const id = nextId("transcript");
    const text = element("textarea", undefined, { id, rows: "6", name: "transcript", "aria-describedby": `${id}-hint` });
    const field = element("div", undefined, { className: "field" });
    field.append(element("label", s.transcript, { for: id }), element("p", s.transcribeHint, { className: "hint", id: `${id}-hint` }), text);
    details.append(this.reasonForm([[s.transcribe, (reason) => this.transcribe(entry, text, reason)]],
      { before: [field], reason: s.transcribeReason }));
    box.append(play, audio, details);
    return box;
  }

  async play(entry, button, audio) {
    clearError();
    button.disabled = true;
    try {
      if (!audio.src) {
        const page = this.page;
        const response = await page.staff.request(page.area.dataset.attachments + encodeURIComponent(entry.id),
          { method: "GET", headers: page.staff.headers() });
        const { blob } = await page.client.call("open-stream", { blob: await response.blob(), key: entry.key });
        // Played from memory, never saved; the type is only a hint for the player.
        audio.src = URL.createObjectURL(new Blob([blob], { type: entry.type }));
      }
      setHidden(audio, false);
      await audio.play().catch(() => {});
    } catch (err) {
      this.page.fail(err, button);
    } finally {
      button.disabled = false;
    }
  }

  async transcribe(entry, textarea, reason) {
    const s = this.strings;
    const text = textarea.value.trim();
    if (!text) {
      showError(textarea, s.emptyTranscript);
      textarea.focus();
      return false;
    }
    const page = this.page;
    const readers = page.readers(true);
    let message;
    if (page.protocol2) {
      const sealed = await page.sealWithLink("thread", readers, { document: { protocol: 2, text, attachments: [] } });
      message = { payload: sealed.payload, key_slots: sealed.keySlots, link: sealed.link };
    } else {
      const sealed = await page.client.call("seal-document", {
        document: { text, attachments: [] }, readers, padBlock: page.sealed.pad_block,
      });
      message = { payload: sealed.payload, key_slots: sealed.keySlots };
    }
    const base = page.area.dataset.voice;
    await page.staff.post(`${base}${encodeURIComponent(entry.id)}/transcribe`,
      { reason: await this.sealReason(reason), message: { ...message, attachments: [] } });
    return s.transcribed;
  }
}
