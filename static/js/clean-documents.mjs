// Hidden details removed from PDF and Office (OOXML) documents: the mirror of
// integrity/reporting/clean_documents.py, byte for byte. See clean-files.mjs.
//
// PDF: every string of the document information dictionaries (author, title, creator, dates)
// and every XMP metadata stream is overwritten in place with spaces of the same length, so the
// cross-reference offsets stay valid. Office: the zip is written again with docProps/core.xml,
// app.xml and custom.xml replaced by empty property sets (stored, so every implementation writes
// the same bytes), the other entries' compressed data copied as it is, every entry's time set to
// 1980-01-01.

import { CleanError, ascii, concat, crc32, latin1, startsWith, u16, u32, xmpDetails } from "./clean-images.mjs";

// --- PDF ------------------------------------------------------------------------------------

const WHITE = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);
const DELIMITERS = new Set([..."()<>[]{}/%"].map((c) => c.charCodeAt(0)));
// Python's \s on bytes: space, \t, \n, \v, \f, \r (never a non-ASCII byte).
const S = "[\\t\\n\\v\\f\\r ]";
const RE_WHITE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]);
const INFO_KEYS = new Map([["Author", "author"], ["Creator", "software"], ["Producer", "software"],
  ["CreationDate", "date"], ["ModDate", "date"]]);
// How deeply arrays and dictionaries may nest in an information dictionary (a real one nests once
// or twice; the limit keeps a hostile file from exhausting the stack, the same on the server).
const MAX_DEPTH = 32;
const INFO_REF = new RegExp(`/Info${S}*(\\d+)${S}+(\\d+)${S}+R`, "g");
const METADATA_REF = new RegExp(`/Metadata${S}*(\\d+)${S}+(\\d+)${S}+R`, "g");
// What a metadata stream becomes when it has room: a valid packet that says nothing.
export const EMPTY_XMP = ascii('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"/><?xpacket end="w"?>');

const isDigit = (byte) => byte >= 0x30 && byte <= 0x39;

/** Walks one PDF object and overwrites the content of every string in it with spaces. */
class Blanker {
  constructor(data) {
    this.data = data;
    this.found = new Set();
    this.refs = [];
  }

  skip(at) {
    const data = this.data;
    while (at < data.length) {
      if (WHITE.has(data[at])) {
        at++;
      } else if (data[at] === 0x25) {
        while (at < data.length && data[at] !== 0x0d && data[at] !== 0x0a) at++;
      } else {
        break;
      }
    }
    return at;
  }

  tokenEnd(at) {
    while (at < this.data.length && !WHITE.has(this.data[at]) && !DELIMITERS.has(this.data[at])) at++;
    return at;
  }

  blank(start, end, detail) {
    for (let i = start; i < end; i++) {
      if (!WHITE.has(this.data[i])) {
        this.found.add(detail);
        break;
      }
    }
    this.data.fill(0x20, start, end);
  }

  /** `\s+(\d+)\s+R` not followed by a regular character, at `at`: [generation, end] or null. */
  refAt(at) {
    const data = this.data;
    let i = at;
    while (i < data.length && RE_WHITE.has(data[i])) i++;
    if (i === at) return null;
    const digits = i;
    while (i < data.length && isDigit(data[i])) i++;
    if (i === digits) return null;
    const generation = latin1(data.subarray(digits, i));
    const gap = i;
    while (i < data.length && RE_WHITE.has(data[i])) i++;
    if (i === gap || data[i] !== 0x52) return null;
    i++;
    if (i < data.length && !WHITE.has(data[i]) && !DELIMITERS.has(data[i])) return null;
    return [generation, i];
  }

  /** Parse one value at `at` (after white space); return where it ends. */
  value(at, detail, depth = 0) {
    if (depth > MAX_DEPTH) throw new CleanError("objects nested too deeply");
    const data = this.data;
    at = this.skip(at);
    if (at >= data.length) throw new CleanError("the object ends early");
    if (data[at] === 0x3c && data[at + 1] === 0x3c) {
      at += 2;
      for (;;) {
        at = this.skip(at);
        if (data[at] === 0x3e && data[at + 1] === 0x3e) return at + 2;
        if (at >= data.length || data[at] !== 0x2f) throw new CleanError("a name was expected in a dictionary");
        const end = this.tokenEnd(at + 1);
        const key = latin1(data.subarray(at + 1, end));
        at = this.value(end, INFO_KEYS.get(key) || detail, depth + 1);
      }
    }
    if (data[at] === 0x3c) {
      const end = data.indexOf(0x3e, at);
      if (end < 0) throw new CleanError("a hex string does not end");
      this.blank(at + 1, end, detail);
      return end + 1;
    }
    if (data[at] === 0x28) {
      let end = at + 1;
      let depth = 1;
      while (depth) {
        if (end >= data.length) throw new CleanError("a string does not end");
        if (data[end] === 0x5c) {
          end += 2;
          continue;
        }
        if (data[end] === 0x28) depth++;
        else if (data[end] === 0x29) depth--;
        end++;
      }
      this.blank(at + 1, end - 1, detail);
      return end;
    }
    if (data[at] === 0x5b) {
      at++;
      for (;;) {
        at = this.skip(at);
        if (at >= data.length) throw new CleanError("an array does not end");
        if (data[at] === 0x5d) return at + 1;
        at = this.value(at, detail, depth + 1);
      }
    }
    if (data[at] === 0x2f) return this.tokenEnd(at + 1);
    const end = this.tokenEnd(at);
    if (end === at) throw new CleanError("an unexpected character");
    const ref = this.refAt(end);
    if (ref && data.subarray(at, end).every(isDigit)) {
      this.refs.push([latin1(data.subarray(at, end)), ref[0], detail]);
      return ref[1];
    }
    return end;
  }
}

function objects(source, number, generation) {
  const pattern = new RegExp(`(?<![0-9])${number}${S}+${generation}${S}+obj`, "g");
  return [...source.matchAll(pattern)].map((match) => match.index + match[0].length);
}

function blankInfo(source, blanker) {
  const pending = [...source.matchAll(INFO_REF)].map((match) => [match[1], match[2], "other"]);
  const seen = new Set();
  while (pending.length) {
    const [number, generation, detail] = pending.shift();
    if (seen.has(`${number} ${generation}`)) continue;
    seen.add(`${number} ${generation}`);
    const starts = objects(source, number, generation);
    if (!starts.length) throw new CleanError("the information dictionary is compressed");
    for (const start of starts) {
      blanker.refs = [];
      blanker.value(start, detail);
      pending.push(...blanker.refs);
    }
  }
}

function hasContent(bytes) {
  return bytes.some((byte) => !WHITE.has(byte));
}

function blankMetadata(bytes, source, data, found) {
  // Searches read the file as it came; only the writes go to the copy.
  for (const match of source.matchAll(METADATA_REF)) {
    for (const start of objects(source, match[1], match[2])) {
      const head = source.indexOf("stream", start);
      if (head < 0) throw new CleanError("a metadata stream has no stream");
      const dictionaryEnd = source.lastIndexOf(">>", head - 2);
      if (dictionaryEnd < start) throw new CleanError("a metadata stream has no stream");
      let body = head + 6;
      body += source.slice(body, body + 2) === "\r\n" ? 2 : 1;
      let end = source.indexOf("endstream", body);
      if (end < 0) throw new CleanError("a metadata stream does not end");
      while (end > body && (bytes[end - 1] === 0x0d || bytes[end - 1] === 0x0a)) end--;
      const header = source.slice(start, dictionaryEnd);
      const filtered = /\/(Filter|DecodeParms)\b/.test(header);
      if (hasContent(bytes.subarray(body, end))) {
        for (const name of filtered ? ["other"] : xmpDetails(bytes.subarray(body, end))) found.add(name);
      }
      const empty = end - body >= EMPTY_XMP.length ? EMPTY_XMP : new Uint8Array(0);
      data.fill(0x20, body, end);
      data.set(empty, body);
      if (filtered) {
        // The spaces are not compressed data: say so by removing the filter.
        const blank = new RegExp(`/(?:Filter|DecodeParms)${S}*(?:/[^\\t\\n\\v\\f\\r /<>\\[\\]()]+|\\[[^\\]]*\\]|<<[\\s\\S]*?>>)`, "g");
        for (const found of header.matchAll(blank)) {
          data.fill(0x20, start + found.index, start + found.index + found[0].length);
        }
      }
    }
  }
}

/** The PDF with its information dictionaries and XMP metadata blanked in place. */
export function cleanPdf(bytes) {
  const source = latin1(bytes);
  if (new RegExp(`/Encrypt${S}*\\d+${S}+\\d+${S}+R|/Encrypt${S}*<<`).test(source)) {
    throw new CleanError("an encrypted PDF");
  }
  const copy = Uint8Array.from(bytes);
  const blanker = new Blanker(copy);
  blankInfo(source, blanker);
  const found = new Set(blanker.found);
  blankMetadata(bytes, source, copy, found);
  return { data: copy, found };
}

// --- Office (OOXML) -------------------------------------------------------------------------

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n';
const VT = 'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"';
export const EMPTY_PARTS = new Map([
  ["docProps/core.xml", ascii(`${XML_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>`)],
  ["docProps/app.xml", ascii(`${XML_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" ${VT}/>`)],
  ["docProps/custom.xml", ascii(`${XML_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" ${VT}/>`)],
]);
const PART_WORDS = new Map([
  ["docProps/core.xml", new Map([["creator", "author"], ["lastModifiedBy", "author"], ["created", "date"],
    ["modified", "date"], ["lastPrinted", "date"]])],
  ["docProps/app.xml", new Map([["Company", "company"], ["Manager", "author"], ["Application", "software"],
    ["AppVersion", "software"], ["Template", "other"], ["lpstr", "other"], ["HyperlinkBase", "other"]])],
  ["docProps/custom.xml", new Map()],
]);
const ELEMENT = new RegExp(`<(?:[A-Za-z0-9_.-]+:)?([A-Za-z0-9_.-]+)(?:${S}[^>]*)?>([^<]*)</`, "g");
const DOS_DAY = 0x0021; // 1980-01-01, the first day a zip entry can carry

function partDetails(name, xml) {
  const words = PART_WORDS.get(name);
  const found = new Set();
  for (const match of latin1(xml).matchAll(ELEMENT)) {
    if (!/[^\t\n\v\f\r ]/.test(match[2])) continue;
    if (name === "docProps/app.xml") {
      if (words.has(match[1])) found.add(words.get(match[1]));
    } else {
      found.add(words.get(match[1]) || "other");
    }
  }
  return found;
}

function lastIndexOfEnd(data) {
  const floor = Math.max(0, data.length - 65557);
  for (let at = data.length - 4; at >= floor; at--) {
    if (data[at] === 0x50 && data[at + 1] === 0x4b && data[at + 2] === 5 && data[at + 3] === 6) return at;
  }
  return -1;
}

/** The central directory's entries of a zip without zip64, encryption or split parts. */
function entries(data) {
  const eocd = lastIndexOfEnd(data);
  if (eocd < 0 || eocd + 22 > data.length) throw new CleanError("no end of central directory");
  const count = u16(data, eocd + 10, false);
  const size = u32(data, eocd + 12, false);
  const offset = u32(data, eocd + 16, false);
  if (count === 0xffff || offset === 0xffffffff || offset + size > eocd) throw new CleanError("a zip64 or damaged archive");
  const list = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (!startsWith(data, [0x50, 0x4b, 1, 2], at)) throw new CleanError("a central directory entry was expected");
    const flags = u16(data, at + 8, false);
    const method = u16(data, at + 10, false);
    const crc = u32(data, at + 16, false);
    const csize = u32(data, at + 20, false);
    const usize = u32(data, at + 24, false);
    const nameLength = u16(data, at + 28, false);
    const extraLength = u16(data, at + 30, false);
    const commentLength = u16(data, at + 32, false);
    const local = u32(data, at + 42, false);
    const name = data.subarray(at + 46, at + 46 + nameLength);
    if (flags & 1) throw new CleanError("an encrypted entry");
    if (!startsWith(data, [0x50, 0x4b, 3, 4], local)) throw new CleanError("a local header was expected");
    const start = local + 30 + u16(data, local + 26, false) + u16(data, local + 28, false);
    if (start + csize > data.length) throw new CleanError("an entry runs past the end");
    list.push({ name, flags, method, crc, usize, data: data.subarray(start, start + csize) });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return list;
}

/** Whether a zip is an Office Open XML package (it lists [Content_Types].xml). */
export function isOffice(data) {
  try {
    return entries(data).some((entry) => latin1(entry.name) === "[Content_Types].xml");
  } catch {
    return false;
  }
}

/** The raw deflate data inflated, with the browser's own DecompressionStream. */
export async function inflateRaw(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function replace(entry, found, inflate) {
  const name = new TextDecoder().decode(entry.name);
  if (!EMPTY_PARTS.has(name)) return;
  let xml;
  if (entry.method === 8) xml = await inflate(entry.data);
  else if (entry.method === 0) xml = entry.data;
  else throw new CleanError("an unknown compression method");
  for (const detail of partDetails(name, xml)) found.add(detail);
  const empty = EMPTY_PARTS.get(name);
  Object.assign(entry, { flags: entry.flags & 0x0800, method: 0, crc: crc32(empty), usize: empty.length, data: empty });
}

function header(fields) {
  const out = new Uint8Array(fields.reduce((sum, [size]) => sum + size, 0));
  const writer = new DataView(out.buffer);
  let at = 0;
  for (const [size, value] of fields) {
    if (size === 2) writer.setUint16(at, value, true);
    else writer.setUint32(at, value, true);
    at += size;
  }
  return out;
}

/** The package written again with empty document properties and no entry times. */
export async function cleanOffice(data, { inflate = inflateRaw } = {}) {
  const list = entries(data);
  const found = new Set();
  const local = [];
  const central = [];
  let localLength = 0;
  for (const entry of list) {
    await replace(entry, found, inflate);
    const flags = entry.flags & 0x0806; // no data descriptor: the sizes are known here
    const fields = [[2, flags], [2, entry.method], [2, 0], [2, DOS_DAY], [4, entry.crc], [4, entry.data.length],
      [4, entry.usize], [2, entry.name.length]];
    central.push(ascii("PK\x01\x02"), header([[2, 20], [2, 20], ...fields, [2, 0], [2, 0], [2, 0], [2, 0], [4, 0],
      [4, localLength]]), entry.name);
    const piece = [ascii("PK\x03\x04"), header([[2, 20], ...fields, [2, 0]]), entry.name, entry.data];
    local.push(...piece);
    localLength += piece.reduce((sum, part) => sum + part.length, 0);
  }
  const centralBytes = concat(central);
  const end = concat([ascii("PK\x05\x06"), header([[2, 0], [2, 0], [2, list.length], [2, list.length],
    [4, centralBytes.length], [4, localLength], [2, 0]])]);
  return { data: concat([...local, centralBytes, end]), found };
}

