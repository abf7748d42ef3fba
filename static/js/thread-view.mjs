// How the mailbox and the case page show a protocol 2 report's chains and readers
// (docs/protocol.md, "Judging a listing" and "Visible readers"): each message judged by its link
// (the worker's p2-judge), shown in seq order with a plain sentence when it is not intact, and
// who can read the case compared with the report's record. A protocol 1 report's thread is
// shown as not authenticated. No libsodium here: the worker does the cryptography.

import { fill } from "./page.mjs";

// English defaults; the pages give translations in their data-strings.
export const THREAD_STRINGS = {
  routeAltered: "Warning: the channel, category or unit stored for this case is not the one the reporter chose when sending it.",
  notAuthentic: "Not authentic: this message may have been forged or moved from another case.",
  replayed: "Listed again (a replayed copy).",
  missingBefore: "A message before this one is missing.",
  outOfOrder: "Listed out of order.",
  conflicting: "Conflicting message: another message was listed in its place.",
  threadIntact: "Authentic: every message is as its writer sent it, in its place.",
  threadAltered: "Warning: some messages are not as they were sent. See the marks beside them.",
  protocol1: "Not authenticated (sent with protocol 1).",
  readersHeading: "Who can read this case",
  readersAsRecorded: "As recorded when the report was sent.",
  readersAlarm: "Warning: who can read this case is not as recorded when the report was sent.",
  readerFingerprint: "%(name)s (key %(fingerprint)s)",
  inspectorNumber: "Inspector no. %(id)s",
  reader_uncertified: "%(name)s: their key is not certified by the organisation; it may have been substituted.",
  reader_excluded_reader: "%(name)s was left out when the report was sent, but can read it now.",
  reader_key_changed: "%(name)s reads it with another key than the one recorded.",
  reader_unrecorded: "%(name)s was added without any record in the conversation.",
  reader_shared: "%(name)s was added when an inspector shared the case.",
  reader_removed: "%(name)s no longer reads it.",
  reader_recovery_added: "A recovery key was added.",
  reader_recovery_changed: "The recovery key was replaced.",
  reader_recovery_removed: "The recovery key was removed.",
  recoveryUncertified: "The recovery key is not certified by the organisation.",
  shareMessage: "The case was shared with %(name)s.",
  readersUnsafe: "Not sent: a reader's key is not certified by the organisation (see “Who can read this case”).",
};

function node(tag, className, text) {
  const item = document.createElement(tag);
  if (className) item.className = className;
  if (text !== undefined) item.textContent = text;
  return item;
}

/** `{payload, link}` of each listed message, as p2-judge and p2-seal-message take them. */
export function listing(messages) {
  return messages.map((message) => ({ payload: message.payload, link: message.link }));
}

/**
 * Judge a protocol 2 report in the worker: `chains` maps a chain name to its listed messages
 * (`{payload, link, document}`); recipients and the recovery key are the case's current ones.
 * `key` is `{secretKey}` (the reporter's, in the mailbox) or `{keyHandle}` (the keyring's).
 */
export function judge(client, { report, key, padBlock, orgKey, chains, recipients, recoveryKey,
  recoveryCertificate }) {
  return client.call("p2-judge", {
    report: { payload: report.payload, key_slot: report.key_slot }, ...key, padBlock, orgKey,
    chains: Object.fromEntries(Object.entries(chains).map(([name, messages]) => [name, listing(messages)])),
    documents: (chains.thread || []).map((message) => message.document ?? null),
    recipients: recipients.map(({ id, public_key: key, certificate }) => ({ id, public_key: key, certificate })),
    recoveryKey: recoveryKey || null, recoveryCertificate: recoveryCertificate || null,
  });
}

/** Whether a check has no mark. */
export function intact(check) {
  return Boolean(check?.authentic) && !check.replayed && !check.conflicting && !check.missing_before
    && !check.out_of_order;
}

/** The sentences that mark a message (none when it is intact). */
export function marks(check, strings) {
  if (!check?.authentic) return [strings.notAuthentic];
  const found = [];
  if (check.replayed) found.push(strings.replayed);
  if (check.conflicting) found.push(strings.conflicting);
  if (check.missing_before) found.push(strings.missingBefore);
  if (check.out_of_order) found.push(strings.outOfOrder);
  return found;
}

/** `[message, check]` pairs in seq order (messages without a usable seq last, as listed). */
export function inSeqOrder(messages, checks) {
  const seqOf = (check) => (Number.isSafeInteger(check?.seq) ? check.seq : Infinity);
  return messages.map((message, index) => [message, checks[index], index])
    .sort(([, a, i], [, b, j]) => (seqOf(a) - seqOf(b)) || (i - j))
    .map(([message, check]) => [message, check]);
}

/** Mark a message's list item with its judgement: `data-check` and the sentences, if any. */
export function markItem(item, check, strings) {
  const found = marks(check, strings);
  item.dataset.check = found.length ? "marked" : "intact";
  if (found.length) {
    const mark = node("p", "error-message link-mark", found.join(" "));
    item.classList.add("message-marked");
    item.append(mark);
  }
}

/** The line above a chain: authentic, altered, or not authenticated (protocol 1). */
export function chainStatus(checks, strings, id) {
  let text;
  let state;
  if (checks === null) {
    [text, state] = [strings.protocol1, "protocol1"];
  } else if (checks.every(intact)) {
    [text, state] = [strings.threadIntact, "authentic"];
  } else {
    [text, state] = [strings.threadAltered, "altered"];
  }
  const line = node("p", state === "altered" ? "error-message thread-status" : "notice thread-status", text);
  line.id = id;
  line.dataset.state = state;
  if (state === "altered") line.setAttribute("role", "alert");
  return line;
}

/** Whether the route sealed in the report (`{channel, category, orgUnit}`) is the stored one. */
export function sameRoute(sealed, stored) {
  const text = (value) => (value === null || value === undefined ? null : String(value));
  return Boolean(sealed && stored) && text(sealed.channel) === text(stored.channel)
    && text(sealed.category) === text(stored.category) && text(sealed.orgUnit) === text(stored.org_unit);
}

/** The alarm shown when the stored channel, category or unit is not the sealed one. */
export function routeAlarm(strings, id) {
  const line = node("p", "error-message thread-status", strings.routeAltered);
  line.id = id;
  line.dataset.state = "route-altered";
  line.setAttribute("role", "alert");
  return line;
}

/**
 * "Who can read this case": the current readers (with their key fingerprints), then each
 * difference from the report's record; alarms first and prominent, benign changes plainly.
 */
export function readersSection(judged, recipients, fingerprints, strings, id = "readers") {
  const section = node("section", "readers");
  section.id = id;
  section.append(node("h3", undefined, strings.readersHeading));
  const names = new Map(recipients.map((r) => [r.id, r.name]));
  const nameOf = (reader) => names.get(reader) || fill(strings.inspectorNumber, { id: reader });
  const list = node("ul", "reader-list");
  list.id = `${id}-list`;
  for (const recipient of recipients) {
    const print = fingerprints?.[recipient.id];
    list.append(node("li", undefined, print
      ? fill(strings.readerFingerprint, { name: recipient.name, fingerprint: print }) : recipient.name));
  }
  section.append(list);
  const changes = [...judged.changes];
  const alarms = changes.filter((c) => c.alarm);
  if (judged.recoveryCertified === false) alarms.push({ kind: "recoveryUncertified", reader: "recovery", alarm: true });
  const benign = changes.filter((c) => !c.alarm);
  const sentence = (change) => (change.kind === "recoveryUncertified" ? strings.recoveryUncertified
    : fill(strings[`reader_${change.kind}`] || change.kind, { name: nameOf(change.reader) }));
  if (alarms.length) {
    const box = node("div", "error-message readers-alarm");
    box.id = `${id}-alarm`;
    box.setAttribute("role", "alert");
    box.append(node("p", undefined, strings.readersAlarm));
    const items = node("ul");
    for (const change of alarms) {
      const item = node("li", undefined, sentence(change));
      item.dataset.kind = change.kind;
      items.append(item);
    }
    box.append(items);
    section.append(box);
  }
  if (benign.length) {
    const items = node("ul", "reader-changes");
    items.id = `${id}-changes`;
    for (const change of benign) {
      const item = node("li", undefined, sentence(change));
      item.dataset.kind = change.kind;
      items.append(item);
    }
    section.append(items);
  }
  if (!alarms.length && !benign.length) section.append(node("p", "notice", strings.readersAsRecorded));
  return section;
}

/** What a share message says (its document names the inspector added), or null for another message. */
export function shareText(document, names, strings) {
  const share = document?.protocol === 2 ? document.share : undefined;
  if (!share || typeof share !== "object" || typeof share.id !== "string") return null;
  return fill(strings.shareMessage, { name: names.get(share.id) || fill(strings.inspectorNumber, { id: share.id }) });
}

/** Whether a reply may be sealed: every current reader (and the recovery key) certified. */
export function safeToSeal(judged) {
  return judged.uncertified.length === 0 && judged.recoveryCertified !== false;
}
