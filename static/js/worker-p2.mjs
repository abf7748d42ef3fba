// The protocol 2 operations of the worker (static/js/worker.mjs): certificate checks, sealing a
// protocol 2 report, judging a report's chains and who can read it, and sealing a message with
// its link. Each operation that needs the report's thread secret opens the report here again:
// the secret never leaves the worker (open-document hands the report back without it).
//
// Operations (keys and slots as b64 text or bytes; results in b64):
//   p2-certify {orgKey, recipients: [{id, public_key, certificate}], recoveryKey?, recoveryCertificate?}
//     -> {certified: [id], uncertified: [id], recovery: true | false | null, fingerprints: {id: text}}
//   p2-seal-report {document: {answers, attachments, language?}, reporterPublicKey, route:
//     {channel, category, orgUnit}, readers: [[id, key]], excluded: [id], recoveryKey, padBlock}
//     -> {payload, keySlots}: a fresh thread secret, sealed inside the report only
//   p2-judge {report: {payload, key_slot}, secretKey, padBlock, orgKey, chains: {name: [{payload,
//     link}]}, documents: [document | null] (the "thread" chain's, opened), recipients,
//     recoveryKey, recoveryCertificate}
//     -> {reporterPublicKey, route: {channel, category, orgUnit} (as sealed), checks: {name: [check]},
//         changes: [{kind, reader, alarm}],
//         uncertified: [id], fingerprints: {id: text}, recoveryCertified}
//   p2-seal-message {report, secretKey, padBlock, chain, messages: [{payload, link}], role, sender,
//     document | share: {id, publicKey}, readers: {id: key}}
//     -> {payload, keySlots, link: {seq, prev, auth}}
//   p2-replacement {report, secretKey, padBlock, chain, message: {payload, link}, payload (the
//     replacement; empty for a deleted message), replacedBy}
//     -> {auth}: the replacement's authenticator (docs/protocol.md#redactions-and-deletions)

import {
  KEY_BYTES, SLOT_BYTES, ShapeError, b64decode, b64encode, openDocument, sealDocument,
} from "./protocol.mjs";
import {
  checkLinks, fingerprint, intact, newThreadSecret, nextLink, payloadDigest, readerChanges, replacementAuth,
  reportDocument, reportThread, shareDocument, sharedReader, verifyInspectorKey, verifyRecoveryKey,
} from "./protocol2.mjs";

function binary(value, what, length = null) {
  if (typeof value === "string") return b64decode(value, length, what);
  if (!(value instanceof Uint8Array)) throw new ShapeError(`The ${what} must be bytes or base64url.`);
  if (length !== null && value.length !== length) throw new ShapeError(`The ${what} must be ${length} bytes.`);
  return value;
}

function orBytes(value) {
  try {
    return value === null || value === undefined ? undefined : binary(value, "value");
  } catch {
    return undefined; // malformed: the link does not hold
  }
}

function sealed(document, readers, padBlock) {
  const keys = Object.fromEntries(Object.entries(readers).map(([id, key]) => (
    [id, binary(key, `public key of “${id}”`, KEY_BYTES)])));
  const result = sealDocument(document, keys, padBlock);
  result.key.fill(0);
  const keySlots = Object.fromEntries(Object.entries(result.keySlots).map(([id, slot]) => [id, b64encode(slot)]));
  return { payload: result.payload, keySlots };
}

/** The report's thread, opened with the reader's secret key (ShapeError for a protocol 1 report). */
function openThread(request) {
  const document = openDocument(binary(request.report.payload, "payload"),
    binary(request.report.key_slot, "key slot", SLOT_BYTES), binary(request.secretKey, "secret key", KEY_BYTES),
    request.padBlock);
  return reportThread(document);
}

/** A listed message `{payload, link}` as checkLinks takes it; malformed fields stay unusable. */
function listed(message) {
  const link = message?.link || {};
  const replaced = link.replaced;
  return {
    seq: link.seq, role: link.role, sender: link.sender, prev: orBytes(link.prev), auth: orBytes(link.auth),
    payload: orBytes(message?.payload),
    // Replaced by a reader: a missing or malformed part leaves the message not authentic.
    ...(replaced ? {
      payloadHash: orBytes(replaced.payload_hash) ?? new Uint8Array(0), replacedBy: replaced.by,
      replacementAuth: orBytes(replaced.auth),
    } : {}),
  };
}

function certified(orgKey, recipients) {
  // Without a pinned organisation key no certificate verifies.
  const org = orgKey ? binary(orgKey, "organisation key", KEY_BYTES) : null;
  const result = { certified: [], uncertified: [], fingerprints: {} };
  for (const recipient of recipients || []) {
    let ok = false;
    try {
      const key = binary(recipient.public_key, "public key", KEY_BYTES);
      result.fingerprints[recipient.id] = fingerprint(key);
      ok = Boolean(org && recipient.certificate)
        && verifyInspectorKey(org, recipient.id, key, binary(recipient.certificate, "certificate"));
    } catch {
      ok = false;
    }
    result[ok ? "certified" : "uncertified"].push(recipient.id);
  }
  return result;
}

function recoveryCertified(orgKey, recoveryKey, certificate) {
  if (!recoveryKey) return null;
  try {
    return Boolean(orgKey && certificate) && verifyRecoveryKey(binary(orgKey, "organisation key", KEY_BYTES),
      binary(recoveryKey, "recovery key", KEY_BYTES), binary(certificate, "certificate"));
  } catch {
    return false;
  }
}

/** The last message a new one follows: the authentic one with the highest seq, not a replay nor a conflict. */
function lastKept(messages, checks) {
  let last = null;
  checks.forEach((check, index) => {
    if (!check.authentic || check.replayed || check.conflicting) return;
    if (last === null || check.seq > last.seq) last = messages[index];
  });
  return last;
}

export const P2_OPERATIONS = {
  "p2-certify"(request) {
    const result = certified(request.orgKey, request.recipients);
    result.recovery = recoveryCertified(request.orgKey, request.recoveryKey, request.recoveryCertificate);
    return [result, []];
  },

  "p2-seal-report"(request) {
    const threadSecret = newThreadSecret();
    try {
      const readers = (request.readers || []).map(([id, key]) => [id, binary(key, `public key of “${id}”`, KEY_BYTES)]);
      const reporterPublicKey = binary(request.reporterPublicKey, "reporter public key", KEY_BYTES);
      const recoveryKey = request.recoveryKey ? binary(request.recoveryKey, "recovery key", KEY_BYTES) : null;
      const { answers, attachments = [], language = null, minutes = null } = request.document || {};
      const document = reportDocument({
        answers, attachments, language, minutes, threadSecret, reporterPublicKey, route: request.route, readers,
        excluded: request.excluded || [], recoveryKey,
      });
      const sealTo = Object.fromEntries(readers);
      sealTo.reporter = reporterPublicKey;
      if (recoveryKey) sealTo.recovery = recoveryKey;
      const result = sealed(document, sealTo, request.padBlock);
      return [{ payload: b64encode(result.payload), keySlots: result.keySlots }, []];
    } finally {
      threadSecret.fill(0);
    }
  },

  "p2-judge"(request) {
    const thread = openThread(request);
    const reportPayload = binary(request.report.payload, "payload");
    const checks = {};
    for (const [chain, messages] of Object.entries(request.chains || {})) {
      checks[chain] = checkLinks(thread.secret, chain, reportPayload, messages.map(listed));
    }
    thread.secret.fill(0);
    const who = certified(request.orgKey, request.recipients);
    const keys = new Map((request.recipients || []).map((r) => [r.id, r.public_key]));
    const current = new Map(who.certified.map((id) => [id, binary(keys.get(id), "public key", KEY_BYTES)]));
    // Shares from intact share messages of the thread, in chain order: the later one counts.
    const shares = new Map();
    const documents = request.documents || [];
    const order = (checks.thread || []).map((check, index) => [check, index])
      .filter(([check]) => intact(check)).sort(([a], [b]) => a.seq - b.seq);
    for (const [, index] of order) {
      try {
        const share = documents[index] ? sharedReader(documents[index]) : null;
        if (share) shares.set(share.id, share.keyHash);
      } catch {
        // a malformed share names nobody
      }
    }
    const recovery = request.recoveryKey ? binary(request.recoveryKey, "recovery key", KEY_BYTES) : null;
    const changes = readerChanges(thread, current, shares, recovery, who.uncertified);
    return [{
      reporterPublicKey: b64encode(thread.reporterPublicKey), route: thread.route, checks, changes,
      uncertified: who.uncertified,
      fingerprints: who.fingerprints,
      recoveryCertified: recoveryCertified(request.orgKey, request.recoveryKey, request.recoveryCertificate),
    }, []];
  },

  "p2-replacement"(request) {
    const thread = openThread(request);
    try {
      const message = listed(request.message);
      const payload = request.payload ? binary(request.payload, "payload") : new Uint8Array(0);
      const auth = replacementAuth(thread.secret, request.chain, message.seq, payloadDigest(message), payload,
        request.replacedBy);
      return [{ auth: b64encode(auth) }, []];
    } finally {
      thread.secret.fill(0);
    }
  },

  "p2-seal-message"(request) {
    const thread = openThread(request);
    try {
      const reportPayload = binary(request.report.payload, "payload");
      const messages = (request.messages || []).map(listed);
      const checks = checkLinks(thread.secret, request.chain, reportPayload, messages);
      const document = request.share
        ? shareDocument(request.share.id, binary(request.share.publicKey, "public key", KEY_BYTES))
        : request.document;
      const result = sealed(document, request.readers, request.padBlock);
      const link = nextLink(thread.secret, request.chain, reportPayload, lastKept(messages, checks),
        request.role, request.sender, result.payload);
      return [{
        payload: b64encode(result.payload), keySlots: result.keySlots,
        link: { seq: link.seq, prev: b64encode(link.prev), auth: b64encode(link.auth) },
      }, []];
    } finally {
      thread.secret.fill(0);
    }
  },
};
