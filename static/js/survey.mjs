// The survey form with JavaScript (bundled as static/dist/survey.js). Without it the page is one
// plain HTML form and the server applies the conditions; with it:
// - the code leaves the address bar (it came from a QR code or an e-mail link);
// - questions whose condition is not met are hidden and their answers not sent;
// - one section at a time, with Back and Next;
// - forced-response questions get a digit drawn on this device with crypto.getRandomValues,
//   shown to the respondent only: it is in no form field and never leaves the page.

import { byId, fill, pageStrings, setHidden } from "./page.mjs";

// English defaults; the template gives translations in #survey-form's data-strings (JSON).
export const STRINGS = {
  step: "Part %(number)d of %(count)d",
  required: "Please answer this question.",
  digitYes: "Your digit is %(digit)s: answer “Yes”, whatever the truth.",
  digitNo: "Your digit is %(digit)s: answer “No”, whatever the truth.",
  digitTruth: "Your digit is %(digit)s: answer truthfully.",
  sending: "Sending your answers…",
};

/** A uniform digit 0-9 from the platform's CSPRNG; bytes of 250 and above are drawn again. */
export function drawDigit(random = (bytes) => crypto.getRandomValues(bytes)) {
  const byte = new Uint8Array(1);
  for (;;) {
    random(byte);
    if (byte[0] < 250) return byte[0] % 10;
  }
}

/** What a forced-response digit asks: "yes", "no" or "truth". */
export function forcedAnswer(digit, yesDigits, noDigits) {
  if (yesDigits.includes(digit)) return "yes";
  if (noDigits.includes(digit)) return "no";
  return "truth";
}

const digitList = (text) => (text || "").split(",").filter((d) => d !== "").map(Number);

function controlsOf(field) {
  return [...field.querySelectorAll("input, textarea, select")];
}

/** The values a question currently gives, as the form would send them. */
function valuesOf(field) {
  return controlsOf(field)
    .filter((control) => !control.disabled && ((control.type !== "radio" && control.type !== "checkbox") || control.checked))
    .map((control) => control.value.trim())
    .filter((value) => value !== "");
}

/**
 * Show exactly the questions whose condition holds, in order, as the server decides them
 * (surveys/services.py `shown`): a question hidden by a condition gives no answer, so the
 * questions that depend on it are hidden as well. Hidden controls are disabled, so not sent.
 */
export function applyConditions(form) {
  const given = new Map();
  for (const field of form.querySelectorAll(".survey-question[data-question]")) {
    let show = true;
    if (field.dataset.condition) {
      const condition = JSON.parse(field.dataset.condition);
      const answers = given.get(condition.question) || [];
      show = answers.some((value) => condition.values.includes(value));
    }
    field.dataset.shown = show ? "1" : "0";
    setHidden(field, !show);
    for (const control of controlsOf(field)) control.disabled = !show;
    given.set(field.dataset.question, show ? valuesOf(field) : []);
  }
}

function wireDice(form, strings) {
  for (const box of form.querySelectorAll("[data-forced]")) {
    const die = box.querySelector("[data-die]");
    const plain = box.querySelector("[data-forced-plain]");
    const result = box.querySelector("[data-die-result]");
    const yes = digitList(box.dataset.yes);
    const no = digitList(box.dataset.no);
    setHidden(die, false);
    setHidden(plain, true);
    box.querySelector("[data-draw]").addEventListener("click", () => {
      const digit = drawDigit();
      const answer = forcedAnswer(digit, yes, no);
      const template = answer === "yes" ? strings.digitYes : answer === "no" ? strings.digitNo : strings.digitTruth;
      result.textContent = fill(template, { digit });
    });
  }
}

/** Paging by section: Back, Next, "Part 2 of 7"; sections with nothing to ask are skipped. */
class Pager {
  constructor(form, strings) {
    this.form = form;
    this.strings = strings;
    this.sections = [...form.querySelectorAll("[data-section]")];
    this.pager = byId("survey-pager");
    this.step = byId("survey-step");
    this.back = byId("survey-back");
    this.next = byId("survey-next");
    this.submit = byId("survey-submit");
    // Whatever follows the sections (the unit on open-link surveys) belongs to the last page.
    this.tail = [...form.children].filter((el) => el.classList.contains("field") && !el.closest("[data-section]"));
    this.current = 0;
    this.back.addEventListener("click", () => this.go(this.neighbour(-1), true));
    this.next.addEventListener("click", () => {
      if (this.checkRequired()) this.go(this.neighbour(1), true);
    });
    setHidden(this.pager, false);
  }

  active() {
    return this.sections.map((section, index) => ({ section, index }))
      .filter(({ section }) => [...section.querySelectorAll(".survey-question")].some((q) => q.dataset.shown !== "0"));
  }

  neighbour(direction) {
    const active = this.active().map(({ index }) => index);
    const position = active.indexOf(this.current);
    const target = active[position + direction];
    return target === undefined ? this.current : target;
  }

  go(index, focus = false) {
    this.current = index;
    const active = this.active().map(({ index: i }) => i);
    const position = Math.max(0, active.indexOf(index));
    const last = position === active.length - 1;
    this.sections.forEach((section, i) => setHidden(section, i !== index));
    for (const element of this.tail) setHidden(element, !last);
    setHidden(this.back, position === 0);
    setHidden(this.next, last);
    setHidden(this.submit, !last);
    this.step.textContent = fill(this.strings.step, { number: position + 1, count: active.length });
    if (focus) this.sections[index].querySelector("h2").focus();
  }

  refresh() {
    if (!this.active().some(({ index }) => index === this.current)) this.current = this.neighbour(1);
    this.go(this.current);
  }

  /** Required questions of the current section must be answered before moving on. */
  checkRequired() {
    let first = null;
    for (const field of this.sections[this.current].querySelectorAll(".survey-question[data-required]")) {
      field.querySelector(".js-required")?.remove();
      if (field.dataset.shown === "0" || valuesOf(field).length) continue;
      const note = document.createElement("p");
      note.className = "error-message js-required";
      note.setAttribute("role", "alert");
      note.textContent = this.strings.required;
      (field.querySelector("legend") || field.querySelector("label")).after(note);
      first ||= field;
    }
    if (first) controlsOf(first)[0]?.focus();
    return first === null;
  }
}

export function start() {
  const form = byId("survey-form");
  if (!form) return;
  const strings = pageStrings(form, STRINGS);
  // The code came in the address (QR code, e-mail): keep it out of the history from now on,
  // but keep the chosen language (?lang=), which nothing else on the device remembers.
  const query = new URLSearchParams(window.location.search);
  if (query.has("code")) {
    query.delete("code");
    const rest = query.toString();
    window.history.replaceState(null, "", window.location.pathname + (rest ? `?${rest}` : ""));
  }
  for (const hint of form.querySelectorAll("[data-condition-hint]")) setHidden(hint, true);
  applyConditions(form);
  wireDice(form, strings);
  const pager = new Pager(form, strings);
  // After a refused submission, open the first section with a problem; else the first.
  const marked = form.querySelector(".survey-question.has-error");
  const first = marked ? pager.sections.indexOf(marked.closest("[data-section]")) : pager.active()[0]?.index ?? 0;
  pager.go(first);
  byId("form-error")?.focus(); // the list of what to fix, read out first
  form.addEventListener("change", () => {
    applyConditions(form);
    pager.refresh();
  });
  form.addEventListener("submit", (event) => {
    if (form.dataset.sending) {
      event.preventDefault(); // one submission: a second click would only be refused
      return;
    }
    form.dataset.sending = "1";
    byId("survey-submit").textContent = strings.sending;
  });
}

if (typeof document !== "undefined") start();
