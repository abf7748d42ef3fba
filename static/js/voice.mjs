// A voice message on the report form and the mailbox (EU Directive 2019/1937, Art. 9(2)): with
// JavaScript and a microphone, the reporter records, listens, and keeps or discards it. A kept
// recording joins the form's chosen files, so it is sealed in the browser and uploaded like any
// file (static/js/uploads.mjs): nothing else is sent, and nothing is stored on the device. The
// page says first that a voice can identify a person. Without JavaScript, or in a browser
// without a microphone or MediaRecorder, the control is not shown at all.

import { setHidden } from "./page.mjs";

export const VOICE_STRINGS = {
  voiceHeading: "Voice message (optional)",
  voiceWarning: "A voice can identify you, even if you never say your name. Writing is safer: if you can, type your message instead.",
  voiceRecord: "Record",
  voiceStop: "Stop",
  voiceDiscard: "Discard the recording",
  voicePlayer: "Your recording",
  voiceRecording: "Recording… %(time)s",
  voiceKept: "Recorded: %(time)s. It will be sealed and sent with your files.",
  voiceDiscarded: "The recording was discarded.",
  voiceDenied: "The microphone could not be used. You can write your message instead.",
  voiceFileName: "voice-message",
};

const TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];
const MAX_SECONDS = 10 * 60;

function element(tag, attributes = {}, text = undefined) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (match, name) => (name in values ? String(values[name]) : match));
}

/** m:ss of a number of seconds. */
export function clock(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

/** Whether this browser can record: a microphone API and MediaRecorder. */
export function canRecord(scope = globalThis) {
  return Boolean(scope.MediaRecorder && scope.navigator?.mediaDevices?.getUserMedia && scope.DataTransfer);
}

/** The first recording type the browser supports ("" lets it choose). */
function recordingType() {
  return TYPES.find((type) => globalThis.MediaRecorder.isTypeSupported?.(type)) || "";
}

/**
 * Add the voice recorder beside the file `input` (placed after `anchor`); `strings` are the
 * page's. Returns the recorder, or null when this browser cannot record.
 */
export function addVoiceRecorder(input, anchor, strings) {
  if (!canRecord()) return null;
  return new VoiceRecorder(input, anchor, { ...VOICE_STRINGS, ...strings });
}

class VoiceRecorder {
  constructor(input, anchor, strings) {
    Object.assign(this, { input, strings, file: null, recorder: null, stream: null, timer: null });
    const id = `${input.id}-voice`;
    const s = strings;
    this.section = element("section", { className: "voice-recorder", id, "aria-labelledby": `${id}-heading` });
    this.record = element("button", { type: "button", id: `${id}-record`, "aria-describedby": `${id}-warning` },
      s.voiceRecord);
    this.stop = element("button", { type: "button", id: `${id}-stop` }, s.voiceStop);
    this.discard = element("button", { type: "button", id: `${id}-discard` }, s.voiceDiscard);
    this.player = element("audio", { controls: "", id: `${id}-player`, "aria-label": s.voicePlayer });
    this.status = element("p", { className: "hint", id: `${id}-status`, role: "status", "aria-live": "polite" });
    const buttons = element("div", { className: "voice-buttons" });
    buttons.append(this.record, this.stop, this.discard);
    this.section.append(
      element("p", { className: "voice-heading", id: `${id}-heading` }, s.voiceHeading),
      element("p", { className: "notice voice-warning", id: `${id}-warning` }, s.voiceWarning),
      buttons, this.player, this.status);
    anchor.after(this.section);
    this.record.addEventListener("click", () => this.start());
    this.stop.addEventListener("click", () => this.finish());
    this.discard.addEventListener("click", () => this.drop(true));
    // Choosing other files replaces the input's list: keep the recording in it.
    input.addEventListener("change", () => {
      if (!this.syncing && this.file) this.putInInput();
    });
    this.show();
  }

  show() {
    const recording = Boolean(this.recorder);
    setHidden(this.record, recording || Boolean(this.file));
    setHidden(this.stop, !recording);
    setHidden(this.discard, !this.file);
    setHidden(this.player, !this.file);
  }

  async start() {
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      this.status.textContent = this.strings.voiceDenied;
      return;
    }
    const type = recordingType();
    this.chunks = [];
    this.recorder = new MediaRecorder(this.stream, type ? { mimeType: type } : {});
    this.recorder.addEventListener("dataavailable", (event) => {
      if (event.data?.size) this.chunks.push(event.data);
    });
    this.stopped = new Promise((resolve) => this.recorder.addEventListener("stop", resolve, { once: true }));
    this.started = Date.now();
    this.recorder.start(1000);
    this.tick();
    this.timer = setInterval(() => this.tick(), 1000);
    this.show();
    this.stop.focus();
  }

  tick() {
    const seconds = (Date.now() - this.started) / 1000;
    this.status.textContent = fill(this.strings.voiceRecording, { time: clock(seconds) });
    if (seconds >= MAX_SECONDS) this.finish();
  }

  async finish() {
    if (!this.recorder) return;
    clearInterval(this.timer);
    const seconds = (Date.now() - this.started) / 1000;
    this.recorder.stop();
    await this.stopped;
    for (const track of this.stream.getTracks()) track.stop();
    const type = (this.recorder.mimeType || "audio/webm").split(";")[0];
    this.recorder = this.stream = null;
    const extension = type === "audio/ogg" ? "ogg" : type === "audio/mp4" ? "m4a" : "webm";
    this.file = new File(this.chunks, `${this.strings.voiceFileName}.${extension}`, { type });
    this.chunks = [];
    if (this.player.src) URL.revokeObjectURL(this.player.src);
    this.player.src = URL.createObjectURL(this.file);
    this.putInInput();
    this.status.textContent = fill(this.strings.voiceKept, { time: clock(seconds) });
    this.show();
    this.discard.focus();
  }

  /** The input's files with the recording in (once), then tell the file checks. */
  putInInput(removed = null) {
    const list = new DataTransfer();
    for (const file of this.input.files || []) if (file !== this.file && file !== removed) list.items.add(file);
    if (this.file) list.items.add(this.file);
    this.syncing = true;
    this.input.files = list.files;
    this.input.dispatchEvent(new Event("change", { bubbles: true }));
    this.syncing = false;
  }

  /** Forget the recording: out of the input, out of the player, out of memory. */
  drop(announce) {
    const had = this.file;
    this.file = null;
    if (had) this.putInInput(had);
    if (this.player.src) URL.revokeObjectURL(this.player.src);
    this.player.removeAttribute("src");
    if (announce) this.status.textContent = this.strings.voiceDiscarded;
    this.show();
    if (announce) this.record.focus();
  }
}
