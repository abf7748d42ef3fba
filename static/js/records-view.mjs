// Records to agree and requests for a meeting or a call, as the mailbox (mailbox.mjs) and the
// case page (case.mjs) show them. A record is an inspector's message of kind "record" (minutes
// or a transcript); whether the reporter agreed or corrected it, and a request for a meeting,
// are clear facts the server gives beside the sealed content (docs/protocol.md).

import { fill, formatDay } from "./page.mjs";

// English defaults; the pages give translations in data-strings (integrity/reporting/record_strings.py).
export const RECORD_STRINGS = {
  kind_record: "Record",
  recordQuestion: "Do you agree that this record is accurate?",
  recordAgree: "I agree",
  recordCorrect: "Correct it",
  recordAgreedYou: "You agreed on %(day)s that this record is accurate.",
  recordCorrectedYou: "You sent a correction on %(day)s.",
  recordAgreedThanks: "Thank you: your agreement was recorded.",
  correctsLegend: "A correction of a record (optional)",
  correctsNone: "No: an ordinary message",
  correctsRecord: "It corrects the record of %(day)s",
  meetingAsk: "I ask for a meeting or a call with an inspector",
  meetingHint: "Write in your message when and how you can be reached. The server sees only that you asked, and on which day.",
  meetingLabel: "Meeting or call",
  meetingAsked: "You asked on %(day)s.",
  meeting_requested: "The inspectors answer by %(day)s.",
  meeting_arranged: "It was arranged.",
  meeting_held: "It was held.",
  meeting_declined: "It was declined: the inspectors' message says why.",
  recordAwaiting: "Awaiting the reporter's agreement",
  recordAgreed: "Agreed by the reporter on %(day)s",
  recordCorrected: "Corrected by the reporter on %(day)s",
  sentRecord: "Your record was sent to the reporter, who is asked to agree it.",
  oralMinutes: "Minutes of the oral report",
};

/** An oral report's minutes as a row of its answers (label, text), or null for any other report. */
export function minutesRow(report, strings) {
  return typeof report?.minutes === "string" ? [strings.oralMinutes, report.minutes] : null;
}

function node(tag, attributes = {}, ...children) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "className") made.className = value;
    else made.setAttribute(name, value === true ? "" : value);
  }
  made.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return made;
}

/** Whether a listed message is a record an inspector asked the reporter to agree. */
export function isRecord(message) {
  return message?.kind === "record" && message.from === "inspector";
}

/** "agreed" (the latest word), "corrected" or "awaiting"; null for any other message. */
export function recordState(message) {
  if (!isRecord(message)) return null;
  const { agreed_on: agreed, corrected_on: corrected } = message;
  if (agreed && (!corrected || agreed >= corrected)) return "agreed";
  return corrected ? "corrected" : "awaiting";
}

/** The case page's line under a record: awaiting agreement, agreed on, corrected on. */
export function recordStatusText(message, strings) {
  const state = recordState(message);
  if (state === "agreed") return fill(strings.recordAgreed, { day: formatDay(message.agreed_on) });
  if (state === "corrected") return fill(strings.recordCorrected, { day: formatDay(message.corrected_on) });
  return state === "awaiting" ? strings.recordAwaiting : null;
}

/** The mailbox's question under a record, with "I agree" and "Correct it" (or the agreement). */
export function recordCheck(message, strings, { onAgree, onCorrect }) {
  const state = recordState(message);
  if (state === "agreed") {
    return node("div", { className: "record-check" },
      node("p", { className: "record-state" }, fill(strings.recordAgreedYou, { day: formatDay(message.agreed_on) })));
  }
  const agree = node("button", { type: "button", className: "record-agree" }, strings.recordAgree);
  agree.addEventListener("click", () => onAgree(message, agree));
  const correct = node("button", { type: "button", className: "record-correct" }, strings.recordCorrect);
  correct.addEventListener("click", () => onCorrect(message));
  return node("div", { className: "record-check" },
    state === "corrected" && node("p", { className: "record-state" },
      fill(strings.recordCorrectedYou, { day: formatDay(message.corrected_on) })),
    node("p", {}, strings.recordQuestion),
    node("div", { className: "row-actions" }, agree, correct));
}

/** The reply form's choices: which record a message corrects, and a request for a meeting. */
export function replyChoices(messages, strings) {
  const records = messages.filter(isRecord);
  const parts = [];
  if (records.length) {
    const choice = (value, text, checked) => node("label", { className: "choice" },
      node("input", { type: "radio", name: "corrects", value, checked }), ` ${text}`);
    parts.push(node("fieldset", { className: "field", id: "reply-corrects" },
      node("legend", {}, strings.correctsLegend),
      choice("", strings.correctsNone, true),
      ...records.map((m) => choice(m.id, fill(strings.correctsRecord, { day: formatDay(m.sent_on) }), false))));
  }
  parts.push(node("div", { className: "field" },
    node("label", { className: "choice" },
      node("input", { type: "checkbox", name: "meeting", value: "1", id: "reply-meeting",
        "aria-describedby": "reply-meeting-hint" }), ` ${strings.meetingAsk}`),
    node("p", { className: "hint", id: "reply-meeting-hint" }, strings.meetingHint)));
  return parts;
}

/** What the reply form adds in clear to a reporter's message: `{meeting, corrects}` as set. */
export function replyExtras(form) {
  const extras = {};
  if (form.querySelector("input[name=meeting]")?.checked) extras.meeting = true;
  const corrects = form.querySelector("input[name=corrects]:checked")?.value;
  if (corrects) extras.corrects = corrects;
  return extras;
}

/** Choose `record` as the one the next reply corrects, and put the cursor in the reply. */
export function startCorrection(view, record) {
  const radio = [...view.querySelectorAll("input[name=corrects]")].find((input) => input.value === record.id);
  if (radio) radio.checked = true;
  view.querySelector("#reply-text")?.focus();
}

/** The mailbox's line on the reporter's latest request for a meeting or a call, or null. */
export function meetingText(report, strings) {
  const meeting = report?.meeting;
  if (!meeting) return null;
  const state = fill(strings[`meeting_${meeting.state}`] || "", { day: formatDay(meeting.due_on) });
  return `${fill(strings.meetingAsked, { day: formatDay(meeting.requested_on) })} ${state}`.trim();
}
