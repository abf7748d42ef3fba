// Recording an oral report (bundled as static/dist/oral.js): the inspector writes the minutes
// of a report made in a meeting, by phone or in person, and this browser does what a reporter's
// browser does when filing. It draws a receipt, derives the reporter's keys from it (Argon2id,
// with the installation's parameters), seals the report to the channel's inspectors, the
// reporter and the recovery key, and seals the same minutes as a record for the reporter to
// agree, the first message of the thread. Only the lookup, the ciphertext and the key slots
// leave: the receipt is shown here once, to hand to the reporter, and never sent or kept.

import {
  Api, ApiError, Progress, byId, clearError, clearFieldErrors, fileLimitError, pageStrings, readersFor, setBusy,
  setHidden, showError, showFieldError,
} from "./page.mjs";
import { UPLOAD_STRINGS, sealAndUpload } from "./uploads.mjs";
import { b64encode, formatReceipt, sealedLength, startWorker } from "./worker-client.mjs";
import { FLOOR_SENTENCES, FloorError, checkConfigFloors } from "./floors.mjs";

// English defaults; the template gives translations in #oral-form's data-strings (JSON).
const STRINGS = {
  ...UPLOAD_STRINGS,
  emptyMinutes: "Write the minutes or the transcript.",
  chooseChannel: "Choose a channel.",
  preparing: "Drawing the reporter's receipt…",
  sealing: "Sealing the report and the record…",
  sending: "Sending…",
  noCertified: "No inspector of this channel has a key certified by the organisation, so the report cannot be sealed here.",
  closed: "This channel does not take reports at the moment.",
  failed: "The oral report could not be sealed in this browser. Nothing was sent.",
  tooManyFiles: "A report or message takes at most %(count)d attachments.",
  fileTooLarge: "The file “%(name)s” is larger than the %(size)s this server accepts for one file.",
  network: "The server could not be reached. Check your connection and try again.",
  server: "The server could not handle the request (error %(status)s). Please try again later.",
  floor_opslimit: FLOOR_SENTENCES.opslimit,
  floor_memlimit: FLOOR_SENTENCES.memlimit,
  floor_padBlock: FLOOR_SENTENCES.padBlock,
};

/** The staff route: same-origin with the session cookie and the form token. */
async function postStaff(url, csrf, body, strings) {
  const staff = new Api("", strings);
  return staff.json(url, {
    method: "POST", credentials: "same-origin",
    headers: staff.headers({ "Content-Type": "application/json", "X-CSRFToken": csrf }),
    body: JSON.stringify(body),
  });
}

/** Who receives the report: the channel's inspectors (certified ones under protocol 2). */
async function recipientsOf(client, config, channel, orgKey, strings) {
  if (!channel || channel.accepts_reports === false || !(channel.recipients || []).length) {
    throw new ApiError(strings.closed);
  }
  if (!orgKey) return { recipients: channel.recipients, recoveryKey: config.recovery_key };
  const checked = await client.call("p2-certify", {
    orgKey, recipients: channel.recipients, recoveryKey: config.recovery_key,
    recoveryCertificate: config.recovery_certificate,
  });
  const recipients = channel.recipients.filter((r) => checked.certified.includes(r.id));
  if (!recipients.length) throw new ApiError(strings.noCertified);
  return { recipients, recoveryKey: checked.recovery === true ? config.recovery_key : null };
}

/** The report and its record, sealed; the body of `POST /cases/oral`. */
async function sealBoth(client, { config, channel, keys, recipients, recoveryKey, text, uploads, form }) {
  const orgKey = form.dataset.orgKey || "";
  const publicKey = b64encode(keys.publicKey);
  const document = { answers: {}, attachments: uploads.entries, minutes: text };
  if (form.dataset.language) document.language = form.dataset.language;
  const route = { channel: channel.slug, category: null, orgUnit: null };
  const report = orgKey
    ? await client.call("p2-seal-report", {
      document, reporterPublicKey: keys.publicKey, route, excluded: [], recoveryKey, padBlock: config.pad_block,
      readers: recipients.map((r) => [r.id, r.public_key]),
    })
    : await client.call("seal-document", {
      document, readers: readersFor(recipients, publicKey, config.recovery_key), padBlock: config.pad_block,
    });
  // The record goes to the case's readers, the reporter and the recovery key, as any reply.
  const readers = readersFor(recipients, publicKey, config.recovery_key);
  const record = orgKey
    ? await client.call("p2-seal-message", {
      report: { payload: report.payload, key_slot: report.keySlots.reporter }, secretKey: keys.secretKey,
      padBlock: config.pad_block, chain: "thread", messages: [], role: "inspector", sender: form.dataset.inspector,
      document: { protocol: 2, text, attachments: [] }, readers,
    })
    : await client.call("seal-document", { document: { text, attachments: [] }, readers, padBlock: config.pad_block });
  return {
    protocol: orgKey ? 2 : 1, channel: channel.slug, category: null, org_unit: null, lookup: b64encode(keys.lookup),
    ...(orgKey ? {} : { reporter_public_key: publicKey }),
    payload: report.payload, key_slots: report.keySlots, excluded: [], attachments: uploads.ids,
    record: { payload: record.payload, key_slots: record.keySlots, attachments: [], ...(record.link ? { link: record.link } : {}) },
  };
}

async function recordReport(form, client, api, strings) {
  clearError();
  clearFieldErrors(form);
  const textarea = byId("oral-minutes");
  const input = byId("oral-files");
  const text = textarea.value.trim();
  if (!text) {
    showFieldError(textarea.closest(".field"), [textarea], strings.emptyMinutes, "oral-minutes-error");
    textarea.focus();
    return;
  }
  const files = [...input.files];
  const progress = new Progress(byId("progress-area"));
  setBusy(form, true);
  try {
    progress.step(strings.preparing, null);
    const slug = byId("oral-channel").value;
    const config = await api.get(`/config?channel=${encodeURIComponent(slug)}`);
    checkConfigFloors(config, strings); // before anything is derived or sealed
    const limit = fileLimitError(files, config, strings, sealedLength);
    if (limit) throw new ApiError(limit);
    const channel = (config.channels || []).find((c) => c.slug === slug);
    const { recipients, recoveryKey } = await recipientsOf(client, config, channel, form.dataset.orgKey || "", strings);
    const { receipt } = await client.call("receipt");
    const keys = await client.call("derive", {
      receipt, salt: config.salt, opslimit: config.argon2id.opslimit, memlimit: config.argon2id.memlimit,
    });
    const uploads = files.length ? await sealAndUpload(client, api, files, progress, strings) : { ids: [], entries: [] };
    progress.step(strings.sealing, null);
    const body = await sealBoth(client, { config, channel, keys, recipients, recoveryKey, text, uploads, form });
    keys.secretKey.fill(0);
    progress.step(strings.sending, null);
    const answer = await postStaff(form.dataset.post, form.dataset.csrf, body, strings);
    progress.hide();
    showReceipt(form, receipt, answer.case);
  } catch (err) {
    progress.hide();
    const known = err instanceof ApiError || err instanceof FloorError;
    if (!known) console.error(err);
    showError(form, known ? err.message : strings.failed).focus();
  } finally {
    setBusy(form, false);
  }
}

function showReceipt(form, receipt, caseUrl) {
  byId("receipt").textContent = formatReceipt(receipt);
  form.reset(); // the minutes leave the page; the case holds them sealed
  setHidden(form, true);
  const link = byId("oral-case-link");
  if (caseUrl) link.href = caseUrl;
  const panel = byId("oral-receipt");
  setHidden(panel, false);
  panel.focus();
}

async function main() {
  const form = byId("oral-form");
  if (!form) return;
  const strings = pageStrings(form, STRINGS);
  new Progress(byId("progress-area")).hide();
  const api = new Api(form.dataset.api || "/api/v1", strings);
  byId("print-receipt")?.addEventListener("click", () => window.print());
  let client = null;
  const ready = startWorker(form.dataset.worker, form.dataset.workerIntegrity || "").then((started) => {
    client = started;
    return started;
  });
  ready.catch(() => {});
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;
    try {
      await recordReport(form, client || await ready, api, strings);
    } catch (err) {
      console.error(err);
      showError(form, strings.failed).focus();
    }
  });
}

if (typeof document !== "undefined") main();
