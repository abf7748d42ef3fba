// What the file pickers of the report page and the mailbox show after files are chosen: each
// file's hidden details (GPS position, phone model, dates, author) found and removed, in plain
// words, with a box to send that file as it is on purpose. Nothing uncleaned is sealed unless
// its box is ticked; a file that may carry details that cannot be removed is not sent at all
// unless its box is ticked (static/js/clean-files.mjs, docs/protocol.md "Cleaning files").

import { CLEANED, FAILED, UNCHECKED, cleanFile } from "./clean-files.mjs";
import { ApiError, fill } from "./page.mjs";

// English fallbacks; the pages give translated ones in data-strings.
export const CLEAN_STRINGS = {
  found_gps: "GPS position",
  found_camera: "camera or phone model",
  found_date: "dates and times",
  found_author: "author's name",
  found_company: "company name",
  found_software: "software used",
  found_other: "other hidden details",
  fileCleaned: "Found and removed: %(details)s.",
  fileClean: "No hidden details found.",
  fileUnchecked: "This kind of file is not checked for hidden details.",
  fileFailed: "This file may carry hidden details that cannot be removed here. It is sent only if you tick the box below.",
  keepFile: "Send this file as it is, with its details",
  cleanHint: "Photos and documents can carry hidden details: where and when a photo was taken, the phone model, a document's author. They are removed before your files are sealed, unless you choose to send a file as it is.",
  keepChosen: "“%(name)s” must be left out or sent as it is: it may carry hidden details that cannot be removed here. Tick “Send this file as it is” to send it, or choose other files.",
};

/** The details in words, joined as the page's language joins a list. */
export function detailWords(found, strings, lang = "en") {
  const words = found.map((name) => strings[`found_${name}`] || name);
  try {
    return new Intl.ListFormat(lang, { style: "long", type: "conjunction" }).format(words);
  } catch {
    return words.join(", ");
  }
}

/** The sentence that says what was done to one file. */
export function fileSentence(result, strings, lang = "en") {
  if (result.status === CLEANED) return fill(strings.fileCleaned, { details: detailWords(result.found, strings, lang) });
  if (result.status === FAILED) return strings.fileFailed;
  if (result.status === UNCHECKED) return strings.fileUnchecked;
  return strings.fileClean;
}

/**
 * The checks of one file input: shown in `list` (an element the page provides) after each
 * choice; `files()` gives the files to seal, cleaned unless kept as they are.
 */
export class FileChecks {
  constructor(input, list, strings, { lang = document.documentElement.lang || "en", clean = cleanFile } = {}) {
    Object.assign(this, { input, list, strings: { ...CLEAN_STRINGS, ...strings }, lang, clean });
    this.checked = Promise.resolve([]);
    input.addEventListener("change", () => this.refresh());
    if (input.files && input.files.length) this.refresh();
  }

  /** Check the files chosen now and list them. */
  refresh() {
    const files = [...(this.input.files || [])];
    const turn = (this.turn = (this.turn || 0) + 1);
    this.checked = Promise.all(files.map(async (file) => {
      try {
        return { file, result: await this.clean(new Uint8Array(await file.arrayBuffer())) };
      } catch {
        return { file, result: { kind: "other", status: FAILED, found: [], data: null } };
      }
    }));
    this.checked.then((checked) => {
      if (turn === this.turn) this.render(checked); // a later choice draws its own list
    });
    return this.checked;
  }

  render(checked) {
    const s = this.strings;
    const items = checked.map(({ file, result }, index) => {
      const item = document.createElement("li");
      item.className = `file-check file-${result.status}`;
      const name = document.createElement("bdi");
      name.textContent = file.name || "file";
      const sentence = document.createElement("span");
      sentence.className = "file-check-result";
      sentence.textContent = fileSentence(result, s, this.lang);
      item.append(name, ": ", sentence);
      if (result.status === CLEANED || result.status === FAILED) {
        const label = document.createElement("label");
        label.className = "choice";
        const box = document.createElement("input");
        box.type = "checkbox";
        box.className = "keep-file";
        box.dataset.index = String(index);
        label.append(box, " ", s.keepFile);
        item.append(label);
      }
      return item;
    });
    this.list.replaceChildren(...items);
    this.list.hidden = items.length === 0;
  }

  kept(index) {
    return Boolean(this.list.querySelector(`input.keep-file[data-index="${index}"]`)?.checked);
  }

  /** The files to seal: each cleaned, or as it is where its box is ticked. */
  async files() {
    const checked = await this.checked;
    if (checked.length !== (this.input.files || []).length) {
      await this.refresh();
      return this.files();
    }
    return checked.map(({ file, result }, index) => {
      if (this.kept(index) || result.status === UNCHECKED) return file;
      if (result.status === FAILED) {
        const box = this.list.querySelector(`input.keep-file[data-index="${index}"]`);
        const err = new ApiError(fill(this.strings.keepChosen, { name: file.name || "file" }));
        err.control = box;
        throw err;
      }
      // Cleaned, or clean: even then the bytes may differ (an Office file's entry times).
      return new File([result.data], file.name || "file", { type: file.type || "application/octet-stream" });
    });
  }
}

/**
 * Before the plain form goes in basic mode (the script runs but cannot seal): put the cleaned
 * files in the input in place of the chosen ones, and tick the form's own "send as they are"
 * box when some file is to be kept, so the server cleans nothing again. If this browser cannot
 * replace an input's files, the box stays unticked and the server cleans every file.
 */
export async function prepareBasicForm(checks, keepBox) {
  if (!keepBox) return;
  keepBox.checked = false;
  try {
    const files = await checks.files();
    const transfer = new DataTransfer();
    for (const file of files) transfer.items.add(file);
    checks.input.files = transfer.files;
    keepBox.checked = (await checks.checked).some((_, index) => checks.kept(index));
  } catch {
    keepBox.checked = false;
  }
}
