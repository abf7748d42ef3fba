// Risk assessments and protective measures on the case page (static/js/case.mjs draws them
// with these). Each is sealed in the keyring as an internal note of the case, to its readers and
// the recovery key (never the reporter), with the level and reasons, or the measure, its day and
// details, inside; the server is told only which of the two it is (docs/inspectors.md).

import { clearError, clearFieldErrors, fill, formatDay, setBusy, showError, showFieldError } from "./page.mjs";
import { markItem, safeToSeal } from "./thread-view.mjs";

export const PROTECTION_STRINGS = {
  riskAssessment: "Risk assessment",
  measure: "Protective measure",
  risk_low: "Low risk",
  risk_medium: "Medium risk",
  risk_high: "High risk",
  measure_transfer: "Transfer",
  measure_confidentiality_reminder: "Confidentiality reminder",
  measure_support: "Support offered",
  measure_other: "Other measure",
  measure_lifted: "Measure lifted",
  measureOn: "From %(day)s",
  noProtection: "No risk assessment or measure recorded yet.",
  chooseLevel: "Choose the level of risk.",
  emptyReasoning: "Give the reasons for the assessment.",
  chooseMeasure: "Choose the measure.",
  measureDay: "Give the day of the measure.",
  riskSaved: "The risk assessment was sealed and saved.",
  measureSaved: "The measure was sealed and saved.",
  writtenBy: "Recorded by %(name)s",
};

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** Whether a listed message is a risk assessment or a measure (shown here, not in the thread). */
export function isRecord(message) {
  return Boolean(message.record);
}

/** Draw the case's risk assessments and measures, newest first, into #protection-list. */
export function renderProtection(page, checks) {
  const s = page.strings;
  const area = document.getElementById("protection-list");
  if (!area) return;
  const records = page.messages.filter(isRecord).reverse();
  if (!records.length) {
    area.replaceChildren(element("p", s.noProtection, "empty"));
    return;
  }
  const names = page.names();
  const list = element("ol", undefined, "thread");
  list.id = "protection-records";
  for (const message of records) {
    const item = element("li", undefined, `record-${message.record}`);
    const opened = message.document;
    const who = names.get(message.author) || "";
    item.append(element("p", `${message.record === "measure" ? s.measure : s.riskAssessment} · ${formatDay(message.sent_on)}${who ? ` · ${fill(s.writtenBy, { name: who })}` : ""}`, "meta"));
    if (opened && typeof opened === "object") {
      if (opened.risk) item.append(element("p", s[`risk_${opened.risk.level}`] || String(opened.risk.level), "kind"));
      if (opened.measure) {
        const kind = s[`measure_${opened.measure.type}`] || String(opened.measure.type);
        item.append(element("p", opened.measure.on ? `${kind} · ${fill(s.measureOn, { day: formatDay(opened.measure.on) })}` : kind, "kind"));
      }
      item.append(element("p", typeof opened.text === "string" ? opened.text : "", "text"));
    } else {
      item.append(page.damaged(s.damagedMessage));
    }
    if (checks) markItem(item, checks.get(message), s);
    list.append(item);
  }
  area.replaceChildren(list);
}

/** The sealed document of the risk form or the measure form, or null after showing what is missing. */
function recordDocument(form, s) {
  clearError();
  clearFieldErrors(form);
  if (form.id === "risk-form") {
    const level = form.querySelector("input[name=level]:checked")?.value;
    const reasons = form.querySelector("#risk-reasoning");
    if (!level) {
      const field = form.querySelector("#risk-level");
      showFieldError(field, [...field.querySelectorAll("input")], s.chooseLevel, "risk-level-error");
      field.querySelector("input")?.focus();
      return null;
    }
    if (!reasons.value.trim()) {
      showFieldError(reasons.closest(".field"), [reasons], s.emptyReasoning, "risk-reasoning-error");
      reasons.focus();
      return null;
    }
    return ["risk_assessment", { text: reasons.value.trim(), attachments: [], risk: { level } }];
  }
  const type = form.querySelector("#measure-type");
  const day = form.querySelector("#measure-day");
  if (!type.value) {
    showFieldError(type.closest(".field"), [type], s.chooseMeasure, "measure-type-error");
    type.focus();
    return null;
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day.value)) {
    showFieldError(day.closest(".field"), [day], s.measureDay, "measure-day-error");
    day.focus();
    return null;
  }
  const details = form.querySelector("#measure-details").value.trim();
  return ["measure", { text: details, attachments: [], measure: { type: type.value, on: day.value } }];
}

/** Seal the record as a note of the case and send it with its kind. */
export async function saveRecord(page, form) {
  const s = page.strings;
  const found = recordDocument(form, s);
  if (!found) return;
  const [record, document] = found;
  if (page.protocol2 && !(page.judged && safeToSeal(page.judged))) {
    showError(form, s.readersUnsafe).focus();
    return;
  }
  setBusy(form, true);
  try {
    page.progress.step(s.sending, null);
    const body = { record };
    if (page.protocol2) {
      const sealed = await page.sealWithLink("notes", page.readers(false), { document: { protocol: 2, ...document } });
      Object.assign(body, { payload: sealed.payload, key_slots: sealed.keySlots, link: sealed.link });
    } else {
      const sealed = await page.client.call("seal-document", {
        document, readers: page.readers(false), padBlock: page.sealed.pad_block,
      });
      Object.assign(body, { payload: sealed.payload, key_slots: sealed.keySlots });
    }
    await page.staff.post(page.area.dataset.protection, body);
    form.reset();
    await page.load();
    page.announce(record === "measure" ? s.measureSaved : s.riskSaved);
  } catch (err) {
    await page.reloadIfChanged(err);
    page.fail(err, form);
  } finally {
    page.progress.hide();
    setBusy(form, false);
  }
}
