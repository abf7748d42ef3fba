// Persons concerned on the case page (templates/cases/_persons.html): each person's entry
// (name or description, role) and each step (the reason of a deferral, a statement) are sealed
// in the keyring to the case's readers and the recovery key, as an internal note is. The server
// keeps the days and the state only (docs/protocol.md#persons-concerned).

import {
  byId, clearError, clearFieldErrors, fill, formatDay, openOrNull, pageStrings, setBusy, setHidden, showError,
  showFieldError,
} from "./page.mjs";
import { sealAndUpload } from "./uploads.mjs";
import { safeToSeal } from "./thread-view.mjs";

const STRINGS = {
  role_subject: "Person the report is about",
  role_witness: "Witness",
  number: "Person %(num)s",
  added: "Added on %(day)s",
  step_informed: "Informed on %(day)s",
  step_deferred: "Information deferred on %(day)s, to be reviewed on %(review)s",
  step_heard: "Heard on %(day)s",
  step_outcome_notified: "Told the outcome on %(day)s",
  step_cleared: "Cleared on %(day)s",
  kind_informed: "Informed",
  kind_deferred: "Information deferred",
  kind_heard: "Heard: a statement",
  kind_outcome_notified: "Told the outcome",
  kind_cleared: "Cleared",
  reviewDue: "Review due: inform the person, or defer it again with its reasons.",
  deleted: "This person's data was deleted on %(day)s.",
  deletesOn: "Their data will be deleted on %(day)s.",
  deleteData: "Delete this person's data",
  confirmDelete: "Delete for good: their name, steps and statements (the case is kept)",
  record: "Record the step",
  stepKind: "Next step",
  stepDay: "Day of the step",
  reviewDay: "Review the deferral on",
  stepText: "Reason, statement or remark (sealed)",
  stepFiles: "Statement files (optional)",
  noName: "Write the person's name or a description.",
  noReview: "Choose the day the deferral is to be reviewed.",
  noStatement: "Write the statement or attach its file.",
  noReason: "Write why the information is deferred.",
  personAdded: "The person was added.",
  stepRecorded: "The step was recorded.",
  dataDeleted: "The person's data was deleted.",
  damagedPerson: "This entry could not be opened: it was altered or damaged.",
  none: "No person concerned recorded yet.",
};

// The steps that may follow each state, as the server allows them (cases/persons.py).
const NEXT = {
  added: ["informed", "deferred", "cleared"],
  deferred: ["informed", "deferred", "cleared"],
  informed: ["heard", "outcome_notified", "cleared"],
  heard: ["heard", "outcome_notified", "cleared"],
  outcome_notified: ["cleared"],
  cleared: [],
  deleted: [],
};

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function todayIso() {
  return new Date().toISOString().slice(0, 10);
}

/** The persons section of a case page: `page` is the case (static/js/case.mjs). */
export class Persons {
  constructor(page) {
    this.page = page;
    this.area = byId("persons");
    this.strings = pageStrings(this.area, STRINGS);
    this.persons = [];
  }

  async load() {
    if (!this.area) return;
    const { persons } = await this.page.staff.get(this.area.dataset.url);
    for (const person of persons) {
      person.document = person.payload && person.key_slot ? await this.page.open(person) : null;
      for (const step of person.steps) step.document = step.key_slot ? await this.page.open(step) : null;
    }
    this.persons = persons;
    this.render();
  }

  /** The documents this inspector can open, as a share request names them. */
  documents() {
    const out = [];
    for (const person of this.persons) {
      if (person.key_slot) out.push([`person:${person.id}`, person.key_slot]);
      for (const step of person.steps) if (step.key_slot) out.push([`person-step:${step.id}`, step.key_slot]);
    }
    return out;
  }

  render() {
    const list = byId("persons-list");
    list.replaceChildren(...this.persons.map((person) => this.item(person)));
    if (!this.persons.length) list.append(element("li", this.strings.none, "hint"));
    setHidden(this.area, !this.page.report);
  }

  item(person) {
    const s = this.strings;
    const item = element("li", undefined, "person");
    item.id = `person-${person.id}`;
    const heading = element("h3", fill(s.number, { num: person.number }));
    item.append(heading);
    if (person.state === "deleted") {
      item.append(element("p", fill(s.deleted, { day: formatDay(person.deleted_on) }), "notice"));
      return item;
    }
    const opened = person.document;
    if (opened && typeof opened.name === "string") {
      heading.append(" · ", element("span", opened.name, "person-name"));
      item.append(element("p", s[`role_${opened.role}`] || "", "meta"));
    } else {
      item.append(element("p", s.damagedPerson, "error-message damaged"));
    }
    const steps = element("ol", undefined, "person-steps");
    steps.append(element("li", fill(s.added, { day: formatDay(person.added_on) })));
    for (const step of person.steps) steps.append(this.stepItem(step));
    item.append(steps);
    if (person.review_due) item.append(element("p", s.reviewDue, "badge badge-due review-due"));
    if (person.deletion_on) item.append(element("p", fill(s.deletesOn, { day: formatDay(person.deletion_on) }), "hint"));
    if (NEXT[person.state]?.length) item.append(this.stepForm(person));
    if (person.state === "cleared") item.append(this.deleteButton(person));
    return item;
  }

  stepItem(step) {
    const s = this.strings;
    const line = element("li", fill(s[`step_${step.kind}`] || step.kind, {
      day: formatDay(step.done_on), review: formatDay(step.review_on),
    }));
    const opened = step.document;
    if (opened && typeof opened.text === "string") {
      if (opened.text) line.append(element("p", opened.text, "text"));
      const files = this.page.fileItems(opened);
      if (files.length) {
        const list = element("ul", undefined, "files");
        list.append(...files);
        line.append(list);
      }
    } else {
      line.append(element("p", s.damagedPerson, "error-message damaged"));
    }
    return line;
  }

  field(id, label, control) {
    const field = element("div", undefined, "field");
    const caption = element("label", label);
    caption.htmlFor = id;
    control.id = id;
    field.append(caption, control);
    return field;
  }

  stepForm(person) {
    const s = this.strings;
    const form = element("form", undefined, "stack person-step");
    const kind = element("select");
    for (const value of NEXT[person.state]) {
      const option = element("option", s[`kind_${value}`]);
      option.value = value;
      kind.append(option);
    }
    const day = element("input");
    day.type = "date";
    day.value = todayIso();
    day.max = todayIso();
    const review = element("input");
    review.type = "date";
    const text = element("textarea");
    text.rows = 3;
    text.maxLength = 20000;
    const files = element("input");
    files.type = "file";
    files.multiple = true;
    const prefix = `person-${person.id}`;
    const reviewField = this.field(`${prefix}-review`, s.reviewDay, review);
    const filesField = this.field(`${prefix}-files`, s.stepFiles, files);
    form.append(this.field(`${prefix}-kind`, s.stepKind, kind), this.field(`${prefix}-day`, s.stepDay, day),
      reviewField, this.field(`${prefix}-text`, s.stepText, text), filesField);
    const button = element("button", s.record);
    button.type = "submit";
    form.append(button);
    const shown = () => {
      setHidden(reviewField, kind.value !== "deferred");
      setHidden(filesField, kind.value !== "heard");
    };
    kind.addEventListener("change", shown);
    shown();
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.record(form, person, { kind, day, review, text, files });
    });
    return form;
  }

  deleteButton(person) {
    const button = element("button", this.strings.deleteData, "danger");
    button.type = "button";
    button.addEventListener("click", () => this.deleteData(person, button));
    return button;
  }

  /** Seal `document` to the case's readers (never the reporter), as a note is sealed. */
  async seal(document) {
    return this.page.client.call("seal-document", {
      document, readers: this.page.readers(false), padBlock: this.page.sealed.pad_block,
    });
  }

  unsafe(anchor) {
    if (!this.page.protocol2 || (this.page.judged && safeToSeal(this.page.judged))) return false;
    showError(anchor, this.page.strings.readersUnsafe).focus();
    return true;
  }

  async add(form) {
    clearError();
    clearFieldErrors(form);
    const name = byId("person-name");
    if (!name.value.trim()) {
      showFieldError(name.closest(".field"), [name], this.strings.noName, "person-name-error");
      name.focus();
      return;
    }
    if (this.unsafe(form)) return;
    setBusy(form, true);
    try {
      const sealed = await this.seal({ name: name.value.trim(), role: byId("person-role").value });
      await this.page.staff.post(this.area.dataset.url, { payload: sealed.payload, key_slots: sealed.keySlots });
      name.value = "";
      await this.load();
      this.page.announce(this.strings.personAdded);
    } catch (err) {
      this.page.fail(err, form);
    } finally {
      setBusy(form, false);
    }
  }

  async record(form, person, { kind, day, review, text, files }) {
    const s = this.strings;
    clearError();
    clearFieldErrors(form);
    const chosen = kind.value;
    const picked = chosen === "heard" ? [...files.files] : [];
    const words = text.value.trim();
    if (chosen === "deferred" && !review.value) {
      showFieldError(review.closest(".field"), [review], s.noReview, `${review.id}-error`);
      review.focus();
      return;
    }
    if ((chosen === "deferred" && !words) || (chosen === "heard" && !words && !picked.length)) {
      showFieldError(text.closest(".field"), [text], chosen === "heard" ? s.noStatement : s.noReason, `${text.id}-error`);
      text.focus();
      return;
    }
    if (this.unsafe(form)) return;
    setBusy(form, true);
    try {
      const uploads = await sealAndUpload(this.page.client, this.page.api, picked, this.page.progress, this.page.strings);
      const sealed = await this.seal({ text: words, attachments: uploads.entries });
      const body = { kind: chosen, on: day.value, payload: sealed.payload, key_slots: sealed.keySlots };
      if (chosen === "deferred") body.review_on = review.value;
      if (uploads.ids.length) body.attachments = uploads.ids;
      await this.page.staff.post(`${this.area.dataset.url}/${person.id}/steps`, body);
      await this.load();
      this.page.announce(s.stepRecorded);
    } catch (err) {
      this.page.fail(err, form);
    } finally {
      this.page.progress.hide();
      setBusy(form, false);
    }
  }

  async deleteData(person, button) {
    clearError();
    if (button.dataset.armed !== "1") {
      // A second click confirms: the data cannot be brought back.
      button.dataset.armed = "1";
      button.textContent = this.strings.confirmDelete;
      return;
    }
    button.disabled = true;
    try {
      await this.page.staff.post(`${this.area.dataset.url}/${person.id}/delete`, {});
      await this.load();
      this.page.announce(this.strings.dataDeleted);
    } catch (err) {
      this.page.fail(err, button);
      button.disabled = false;
    }
  }

  listen() {
    byId("person-form")?.addEventListener("submit", (event) => {
      event.preventDefault();
      this.add(event.currentTarget);
    });
  }
}
