// The case page: the inspector's key is unwrapped in the worker with the wrapping key this
// tab derived at sign-in, and the report and its thread are opened there. Nothing readable
// goes back to the server.

import { startWorker } from "./worker-client.mjs";

const WRAPPING_KEY = "integrity.wrappingKey";

function element(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

function shown(value) {
  return Array.isArray(value) ? value.join(", ") : String(value);
}

async function main() {
  const area = document.getElementById("case-content");
  if (!area) return;
  const strings = JSON.parse(area.dataset.strings || "{}");
  const locked = document.getElementById("case-locked");
  const wrappingKey = sessionStorage.getItem(WRAPPING_KEY);
  if (!wrappingKey || !area.dataset.wrapped) {
    locked.textContent = strings.locked;
    return;
  }
  let client;
  try {
    client = await startWorker(area.dataset.worker, area.dataset.workerIntegrity);
    const { secretKey } = await client.call("staff-unwrap", {
      wrapped: area.dataset.wrapped, wrappingKey, publicKey: area.dataset.public,
    });
    const response = await fetch(area.dataset.data, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error(`case data: ${response.status}`);
    const data = await response.json();
    const open = (item) => client.call("open-document", {
      payload: item.payload, slot: item.key_slot, secretKey, padBlock: data.pad_block,
    });
    const report = await open(data.report);
    const answers = document.getElementById("case-answers");
    const labels = new Map((data.questions || []).map((q) => [q.key, q.label]));
    for (const [key, value] of Object.entries(report.answers || {})) {
      answers.append(element("dt", labels.get(key) || key), element("dd", shown(value)));
    }
    answers.hidden = false;
    const thread = document.getElementById("case-thread");
    for (const message of data.messages) {
      if (!message.key_slot) continue; // sealed before this inspector could read the case
      const document_ = await open(message);
      const item = element("li");
      item.className = `message-${message.from}`;
      item.append(element("p", `${strings[message.from] || message.from} · ${message.sent_on}`));
      item.firstChild.className = "meta";
      const text = element("p", document_.text || "");
      text.className = "text";
      item.append(text);
      thread.append(item);
    }
    thread.hidden = false;
    locked.hidden = true;
    secretKey.fill(0);
    area.dataset.opened = "1";
  } catch {
    locked.textContent = strings.failed;
  } finally {
    if (client) client.terminate();
  }
}

main();
