// Reports of retaliation and check-ins in the protected mailbox (static/js/mailbox.mjs draws
// them with these). A report of retaliation is sealed here, like a report, to the first case's
// current readers, the reporter and the recovery key, and becomes a case of its own that this
// same mailbox opens under its reference (docs/protocol.md#reports-of-retaliation). Check-ins
// are clear words from the reporting service, shown apart from the conversation.

import { clearError, clearFieldErrors, fill, formatDay, readersFor, setBusy, showError, showFieldError } from "./page.mjs";
import { safeToSeal } from "./thread-view.mjs";

export const RETALIATION_STRINGS = {
  checkIns: "Check-ins",
  fromService: "From the reporting service",
  checkInText: "Has anything happened to you since your report? If you have suffered retaliation, you can report it here.",
  backToReport: "Back to your first report",
  linkedHeading: "Your reports of retaliation",
  linkedItem: "Report of retaliation sent on %(day)s",
  yourRetaliation: "Your report of retaliation",
  reportRetaliation: "Report retaliation",
  whatHappened: "What has happened to you since your report? Who did it, and when?",
  retaliationHint: "If you were treated badly because of your report (moved, refused leave or promotion, threatened, isolated), tell the inspectors here. It becomes a case of its own, sealed to the same inspectors, and you follow it in this mailbox with the same receipt.",
  sendRetaliation: "Send the report of retaliation",
  sendingRetaliation: "Sealing and sending your report of retaliation…",
  emptyRetaliation: "Say what happened to you.",
  retaliationSent: "Your report of retaliation was sent. It is a case of its own, in this same mailbox.",
  stopHint: "After a case is closed, this mailbox asks you a few times whether anything has happened to you since your report. You can turn this off.",
  stopCheckIns: "No more check-ins",
  checkInsStopped: "You will get no more check-ins in this mailbox.",
};

/** The mailbox's requests about a linked case carry its reference. */
export function caseScope(mailbox) {
  return mailbox.case ? { case: mailbox.case } : {};
}

async function show(mailbox, reference, notice = "") {
  mailbox.case = reference;
  await mailbox.load();
  mailbox.render(notice)?.focus();
}

/** The receipt's reports of retaliation, and the way back to the first report. */
export function linkedSection(mailbox, element) {
  const s = mailbox.strings;
  const box = mailbox.box;
  const parts = [];
  if (mailbox.case) {
    const back = element("button", { type: "button", className: "link-button", id: "case-back" }, s.backToReport);
    back.addEventListener("click", () => show(mailbox, null).catch((err) => mailbox.fail(err)));
    parts.push(back);
  }
  if (box.linked?.length) {
    const list = element("ul");
    for (const other of box.linked) {
      const button = element("button", { type: "button", className: "link-button",
        "aria-current": other.case === mailbox.case ? "true" : null }, fill(s.linkedItem, { day: formatDay(other.created_on) }));
      button.addEventListener("click", () => show(mailbox, other.case).catch((err) => mailbox.fail(err)));
      list.append(element("li", {}, button, ` · ${s[`status_${other.status}`] || other.status}`));
    }
    parts.push(element("section", { id: "linked-cases" }, element("h2", {}, s.linkedHeading), list));
  }
  return parts;
}

/** The check-ins posted in this case's mailbox. */
export function checkInList(mailbox, element) {
  const s = mailbox.strings;
  const posted = mailbox.box.check_ins || [];
  if (!posted.length) return null;
  const list = element("ul", { className: "thread" });
  for (const checkIn of posted) {
    list.append(element("li", { className: "message-service" },
      element("p", { className: "meta" }, `${s.fromService} · ${formatDay(checkIn.sent_on)}`),
      element("p", { className: "text" }, s.checkInText)));
  }
  return element("section", { id: "check-ins" }, element("h2", {}, s.checkIns), list);
}

/** The form that reports retaliation (on the first report's view), and the one that stops check-ins. */
export function retaliationForms(mailbox, element) {
  const s = mailbox.strings;
  const box = mailbox.box;
  const parts = [];
  if (!mailbox.case && box.can_report_retaliation && box.report.document) {
    const form = element("form", { className: "stack wide", id: "retaliation-form", novalidate: true },
      element("div", { className: "field" },
        element("label", { for: "retaliation-text" }, s.whatHappened),
        element("p", { className: "hint", id: "retaliation-hint" }, s.retaliationHint),
        element("textarea", { id: "retaliation-text", rows: "5", maxlength: "20000", "aria-describedby": "retaliation-hint" })),
      element("button", { type: "submit" }, s.sendRetaliation));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (form.getAttribute("aria-busy") !== "true") sendRetaliation(mailbox, form);
    });
    parts.push(element("h2", { id: "retaliation-heading" }, s.reportRetaliation), form);
  }
  if (!box.check_ins_stopped) {
    const button = element("button", { type: "button", id: "stop-check-ins", "aria-describedby": "stop-check-ins-hint" },
      s.stopCheckIns);
    button.addEventListener("click", () => stopCheckIns(mailbox).catch((err) => mailbox.fail(err)));
    parts.push(element("div", { className: "stack" }, element("p", { className: "hint", id: "stop-check-ins-hint" }, s.stopHint),
      button));
  }
  return parts;
}

async function stopCheckIns(mailbox) {
  clearError();
  await mailbox.api.post("/mailbox/check-ins/stop", { lookup: mailbox.lookup });
  await show(mailbox, mailbox.case, mailbox.strings.checkInsStopped);
}

/** Seal the report of retaliation here and send it; then show it, a case of its own. */
async function sendRetaliation(mailbox, form) {
  const s = mailbox.strings;
  clearError();
  clearFieldErrors(form);
  const textarea = form.querySelector("#retaliation-text");
  const text = textarea.value.trim();
  if (!text) {
    showFieldError(textarea.closest(".field"), [textarea], s.emptyRetaliation, "retaliation-text-error");
    textarea.focus();
    return;
  }
  const box = mailbox.box;
  const protocol2 = box.report.protocol === 2;
  if (protocol2 && !(mailbox.judged && safeToSeal(mailbox.judged))) {
    showError(mailbox.view, s.readersUnsafe).focus();
    return;
  }
  const progress = mailbox.progress();
  setBusy(form, true);
  try {
    progress.step(s.sendingRetaliation, null);
    const padBlock = mailbox.config.pad_block;
    const recoveryKey = mailbox.config.recovery_key || null;
    const document = { answers: { what_happened: text }, attachments: [], language: globalThis.document.documentElement.lang || "en" };
    const sealed = protocol2
      ? await mailbox.client.call("p2-seal-report", {
        document, reporterPublicKey: mailbox.publicKey, route: { channel: box.report.channel, category: null, orgUnit: null },
        readers: box.recipients.map((r) => [r.id, r.public_key]), excluded: [], recoveryKey, padBlock,
      })
      : await mailbox.client.call("seal-document", {
        document, readers: readersFor(box.recipients, mailbox.publicKey, recoveryKey), padBlock,
      });
    const answer = await mailbox.api.post("/mailbox/retaliation", {
      lookup: mailbox.lookup, payload: sealed.payload, key_slots: sealed.keySlots,
    });
    progress.hide();
    await show(mailbox, answer.case, s.retaliationSent);
  } catch (err) {
    progress.hide();
    setBusy(form, false);
    mailbox.fail(err);
  }
}
