// The report form in protected mode (bundled as static/dist/report.js). When this browser can
// run the worker (WebAssembly, libsodium), the report is sealed on this device and filed through
// the API: the server receives ciphertext only. When the worker cannot start, sending the form
// shows why and offers basic mode (the server seals the report on arrival); the plain form goes
// only when the reporter chooses it. Without JavaScript the plain form goes as it is.

import {
  Api, ApiError, Progress, basicModeChoice, byId, clearError, clearFieldErrors, fileLimitError, fill, pageStrings,
  readersFor, interceptInProtectedMode, setBusy, setHidden, showError, showPlainMode, showFieldError,
} from "./page.mjs";
import { UPLOAD_STRINGS, sealAndUpload } from "./uploads.mjs";
import { CLEAN_STRINGS, FileChecks, prepareBasicForm } from "./file-checks.mjs";
import { VOICE_STRINGS, addVoiceRecorder } from "./voice.mjs";
import { b64encode, formatReceipt, sealedLength } from "./worker-client.mjs";
import { FLOOR_SENTENCES, FloorError, checkConfigFloors } from "./floors.mjs";

// English defaults; the template may give translations in #report-form's data-strings (JSON).
export const STRINGS = {
  ...UPLOAD_STRINGS,
  ...CLEAN_STRINGS,
  ...VOICE_STRINGS,
  preparing: "Preparing your receipt…",
  pow: "Proving this is not an automated flood…",
  sealing: "Sealing your report…",
  sending: "Sending your report…",
  required: "Please answer “%(label)s”.",
  notDate: "“%(label)s” is not a date.",
  tooManyFiles: "A report or message takes at most %(count)d attachments.",
  fileTooLarge: "The file “%(name)s” is larger than the %(size)s this server accepts for one file.",
  noneLeft: "At least one inspector must remain to receive the report.",
  noCertified: "No inspector of this channel has a key certified by the organisation, so the report cannot be sealed here.",
  closed: "This channel does not take reports at the moment. Please try again later.",
  failed: "Your report could not be sealed on this device. Please try again.",
  network: "The server could not be reached. Check your connection and try again.",
  server: "The server could not handle the request (error %(status)s). Please try again later.",
  floor_opslimit: FLOOR_SENTENCES.opslimit,
  floor_memlimit: FLOOR_SENTENCES.memlimit,
  floor_padBlock: FLOOR_SENTENCES.padBlock,
};

const TEXT_KINDS = new Set(["short_text", "long_text"]);
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

function isDay(text) {
  const match = ISO_DAY.exec(text);
  if (!match) return false;
  const [year, month, day] = match.slice(1).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** A question's label as the page shows it, without the "(required)" mark. */
export function questionLabel(field) {
  const heading = field.querySelector("legend") || field.querySelector("label");
  if (!heading) return field.dataset.question;
  const copy = heading.cloneNode(true);
  for (const mark of copy.querySelectorAll(".required")) mark.remove();
  return copy.textContent.replace(/\s+/g, " ").trim();
}

/**
 * The answers as the server's no-JavaScript path reads the same form (integrity/channels.py
 * check_answers): text trimmed, a date as YYYY-MM-DD, yes/no and a single choice as strings,
 * a multiple choice as a list; empty answers left out. `problems` lists fields to fix.
 */
export function collectAnswers(form, strings = STRINGS) {
  const answers = {};
  const problems = [];
  for (const field of form.querySelectorAll(".field[data-question]")) {
    const key = field.dataset.question;
    const kind = field.dataset.kind;
    const name = `q-${key}`;
    const controls = [...form.querySelectorAll("input, textarea, select")].filter((element) => element.name === name);
    let value;
    if (kind === "multiple_choice") {
      value = controls.filter((control) => control.checked).map((control) => control.value);
    } else if (kind === "single_choice" || kind === "yes_no") {
      value = controls.find((control) => control.checked)?.value ?? "";
    } else {
      value = controls[0]?.value ?? "";
      if (TEXT_KINDS.has(kind) || kind === "date") value = value.trim();
    }
    const empty = value === "" || (Array.isArray(value) && value.length === 0);
    if (empty) {
      if (field.hasAttribute("data-required")) {
        problems.push({ field, controls, message: fill(strings.required, { label: questionLabel(field) }) });
      }
      continue;
    }
    if (kind === "date" && !isDay(value)) {
      problems.push({ field, controls, message: fill(strings.notDate, { label: questionLabel(field) }) });
      continue;
    }
    answers[key] = value;
  }
  return { answers, problems };
}

/** The optional cleartext details: `null` when not given, as the plain form sends them. */
function cleartext(form, name) {
  const control = form.elements.namedItem(name);
  return control && "value" in control && control.value ? control.value : null;
}

function checkedValues(form, name) {
  return [...form.querySelectorAll("input[type=checkbox]")]
    .filter((box) => box.name === name && box.checked)
    .map((box) => box.value);
}

/** The files to seal: cleaned of hidden details unless kept as they are (file-checks.mjs). */
async function fileList(checks) {
  return checks ? checks.files() : [];
}

/** The file picker's checks: each chosen file's hidden details listed, with its own choice. */
function fileChecks(form, strings) {
  const input = form.querySelector("input[type=file][name=files]");
  const list = byId("files-checks");
  if (!input || !list) return null;
  setHidden(byId("keep-details-choice"), true); // one choice per file instead
  const checks = new FileChecks(input, list, strings, { lang: form.dataset.language || undefined });
  addVoiceRecorder(input, byId("keep-details-choice") || list, strings);
  return checks;
}

function wireReceiptButtons() {
  const receipt = byId("receipt");
  const copy = byId("copy-receipt");
  const print = byId("print-receipt");
  if (copy && !copy.dataset.wired) {
    copy.dataset.wired = "1";
    setHidden(copy, false);
    setHidden(byId("copy-receipt-warning"), false); // clipboards keep what was copied
    copy.addEventListener("click", async () => {
      const text = receipt.textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
        if (copy.dataset.copied) copy.textContent = copy.dataset.copied;
      } catch {
        // No clipboard here: select the receipt so it can be copied by hand.
        const range = document.createRange();
        range.selectNodeContents(receipt);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
    });
  }
  if (print && !print.dataset.wired) {
    print.dataset.wired = "1";
    setHidden(print, false);
    print.addEventListener("click", () => window.print());
  }
}

function showReceipt(form, receipt) {
  const panel = byId("receipt-panel");
  byId("receipt").textContent = formatReceipt(receipt);
  clearError();
  form.reset(); // the answers leave the page as well
  setHidden(form, true);
  setHidden(panel, false);
  wireReceiptButtons();
  panel.focus();
}

/**
 * What is done before the person presses send, in the worker while they type: the
 * installation's parameters (checked against the floors) and a fresh receipt with its keys
 * (Argon2id, the slow part). Nothing is sent but the request for the parameters.
 */
export class Preparation {
  constructor(form, client, api, strings) {
    Object.assign(this, { form, client, api, strings, promise: null });
  }

  /** Start preparing (once); the promise of `{config, receipt, keys}`. */
  start() {
    if (!this.promise) {
      this.promise = this.run();
      this.promise.catch(() => { this.promise = null; }); // tried again at the press
    }
    return this.promise;
  }

  async run() {
    const config = await channelConfig(this.api, this.form, this.strings);
    return { config, ...await deriveReceipt(this.client, config) };
  }

  /**
   * What was prepared, for one report (the next one gets a receipt of its own), with the
   * parameters as they are now: the receipt is derived again if the salt or cost changed.
   */
  async take() {
    const prepared = this.start();
    this.promise = null;
    const [config, early] = await Promise.all([channelConfig(this.api, this.form, this.strings), prepared]);
    const same = config.salt === early.config.salt && config.argon2id.opslimit === early.config.argon2id.opslimit
      && config.argon2id.memlimit === early.config.argon2id.memlimit;
    return { config, ...(same ? early : await deriveReceipt(this.client, config)) };
  }
}

/** `GET /config` for the form's channel, checked against the floors built into this page. */
async function channelConfig(api, form, strings) {
  // Naming the channel lists it even when it is hidden (a form shared by direct link).
  const config = await api.get(`/config?channel=${encodeURIComponent(form.dataset.channel)}`);
  checkConfigFloors(config, strings); // before anything is derived or sealed
  return config;
}

/** A fresh receipt and the keys it gives, under the installation's salt and cost. */
async function deriveReceipt(client, config) {
  const { receipt } = await client.call("receipt");
  const keys = await client.call("derive", {
    receipt, salt: config.salt, opslimit: config.argon2id.opslimit, memlimit: config.argon2id.memlimit,
  });
  return { receipt, keys };
}

/** File the report: seal and upload files, prove work, seal the document, POST. */
async function fileReport(form, client, api, strings, preparation, checks) {
  clearError();
  clearFieldErrors(form);
  const { answers, problems } = collectAnswers(form, strings);
  if (problems.length) {
    problems.forEach(({ field, controls, message }, i) => {
      showFieldError(field, controls, message, `${field.dataset.question}-error`);
      if (i === 0) (controls.find((control) => control.checked) || controls[0])?.focus();
    });
    return;
  }
  let files;
  try {
    files = await fileList(checks);
  } catch (err) {
    // A file that cannot be cleaned, not chosen to go as it is: say so beside the picker.
    const input = form.querySelector("input[type=file][name=files]");
    showFieldError(input.closest(".field"), [input], err.message, "files-error");
    (err.control || input).focus();
    return;
  }
  const excluded = checkedValues(form, "exclude");
  const progress = new Progress();
  setBusy(form, true);
  try {
    progress.step(strings.preparing, null);
    // Usually ready by now: the receipt was drawn and derived while the person typed.
    const prepared = await preparation.take();
    const { config } = prepared;
    let { receipt, keys } = prepared;
    const channel = (config.channels || []).find((c) => c.slug === form.dataset.channel);
    if (!channel || channel.accepts_reports === false || !(channel.recipients || []).length) {
      throw new ApiError(strings.closed);
    }
    const limit = fileLimitError(files, config, strings, sealedLength);
    if (limit) throw new ApiError(limit);
    // Protocol 2 when an organisation key is pinned in the page: only certified keys receive it.
    const orgKey = form.dataset.orgKey || "";
    let sealTo = channel.recipients;
    let recoveryKey = config.recovery_key;
    if (orgKey) {
      const checked = await client.call("p2-certify", {
        orgKey, recipients: channel.recipients, recoveryKey: config.recovery_key,
        recoveryCertificate: config.recovery_certificate,
      });
      sealTo = channel.recipients.filter((recipient) => checked.certified.includes(recipient.id));
      if (!sealTo.length) throw new ApiError(strings.noCertified);
      if (checked.recovery !== true) recoveryKey = null;
    }
    const recipients = sealTo.filter((recipient) => !excluded.includes(recipient.id));
    if (!recipients.length) throw new ApiError(strings.noneLeft);


    let uploads = { ids: [], entries: [] };
    if (files.length) {
      uploads = await sealAndUpload(client, api, files, progress, strings,
        { maxSealed: config.max_attachment_bytes });
    }
    // The language the form was shown in: its choices are that language's options.
    const document = { answers, attachments: uploads.entries };
    if (form.dataset.language) document.language = form.dataset.language;

    for (let attempt = 0; ; attempt++) {
      let pow;
      if (config.pow_bits > 0) {
        progress.step(strings.pow, 0);
        const challenge = await api.get("/pow");
        const { nonce } = await client.call("pow", { challenge: challenge.challenge, bits: challenge.bits },
          (value) => progress.set(value));
        pow = { challenge: challenge.challenge, nonce };
      }
      progress.step(strings.sealing, null);
      const route = { channel: channel.slug, category: cleartext(form, "category"), orgUnit: cleartext(form, "org_unit") };
      const sealed = orgKey
        ? await client.call("p2-seal-report", {
          document, reporterPublicKey: keys.publicKey, route, excluded, recoveryKey, padBlock: config.pad_block,
          readers: recipients.map((recipient) => [recipient.id, recipient.public_key]),
        })
        : await client.call("seal-document", {
          document, readers: readersFor(recipients, b64encode(keys.publicKey), config.recovery_key),
          padBlock: config.pad_block,
        });
      const body = {
        protocol: orgKey ? 2 : 1, channel: channel.slug, category: route.category, org_unit: route.orgUnit,
        lookup: b64encode(keys.lookup),
        // Protocol 2 carries the reporter's key inside the sealed report only.
        ...(orgKey ? {} : { reporter_public_key: b64encode(keys.publicKey) }),
        payload: sealed.payload, key_slots: sealed.keySlots, excluded, attachments: uploads.ids,
      };
      if (pow) body.pow = pow;
      // Only that a meeting or a call is asked for is clear; when and how is in the report.
      if (form.elements.namedItem("meeting")?.checked) body.meeting = true;
      progress.step(strings.sending, null);
      try {
        await api.post("/reports", body);
        break;
      } catch (err) {
        // The receipt is already taken (about one chance in 10^20): draw another, keep the files.
        if (!(err instanceof ApiError) || err.status !== 409 || attempt > 0) throw err;
        progress.step(strings.preparing, null);
        ({ receipt, keys } = await deriveReceipt(client, config));
      }
    }
    keys.secretKey.fill(0);
    progress.hide();
    showReceipt(form, receipt);
  } catch (err) {
    progress.hide();
    const known = err instanceof ApiError || err instanceof FloorError;
    const box = showError(form, known ? err.message : strings.failed);
    if (!known) console.error(err);
    box.focus();
  } finally {
    setBusy(form, false);
  }
}

function main() {
  const form = byId("report-form");
  if (!form) {
    showPlainMode(); // no form to protect here (the channel takes no reports)
    return;
  }
  const strings = pageStrings(form, STRINGS);
  new Progress().hide(); // in case the stylesheet shows the hidden progress area
  const api = new Api(form.dataset.api || "/api/v1", strings);
  let preparation = null;
  const checks = fileChecks(form, strings);
  const askBasic = basicModeChoice();
  interceptInProtectedMode(form, "report", (client) => {
    preparation ??= new Preparation(form, client, api, strings);
    return fileReport(form, client, api, strings, preparation, checks);
  }, {
    // Basic mode still sends the files as this page cleaned them, with the reporter's choices.
    askBasic: (sendPlain) => askBasic(async () => {
      if (checks) await prepareBasicForm(checks, form.querySelector("input[name=keep_details]"));
      sendPlain();
    }),
    // As soon as the worker is ready: the receipt is drawn and derived while the person types.
    onReady: (client) => {
      preparation = new Preparation(form, client, api, strings);
      preparation.start().catch(() => {}); // a failure shows at the press, which tries again
    },
  });
}

if (typeof document !== "undefined") main();
