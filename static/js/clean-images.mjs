// Hidden details removed from photos (JPEG, PNG), and the readers of Exif and XMP that say
// what was there: the mirror of integrity/reporting/clean_images.py. See clean-files.mjs.

export class CleanError extends Error {}

export const ascii = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0));
export const latin1 = (bytes) => new TextDecoder("latin1").decode(bytes);

export function concat(parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function startsWith(data, prefix, at = 0) {
  if (at + prefix.length > data.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[at + i] !== prefix[i]) return false;
  return true;
}

export function indexOf(data, needle, from = 0, to = data.length) {
  const first = needle[0];
  for (let at = data.indexOf(first, from); at >= 0 && at + needle.length <= to; at = data.indexOf(first, at + 1)) {
    if (startsWith(data, needle, at)) return at;
  }
  return -1;
}

export const view = (data) => new DataView(data.buffer, data.byteOffset, data.byteLength);
export const u16 = (data, at, big) => view(data).getUint16(at, !big);
export const u32 = (data, at, big) => view(data).getUint32(at, !big);

// --- CRC-32 (zip entries, PNG chunks) ---------------------------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data) {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// --- Exif and XMP -------------------------------------------------------------------------

const IFD0_TAGS = new Map([[0x8825, "gps"], [0x010f, "camera"], [0x0110, "camera"], [0x0132, "date"],
  [0x013b, "author"], [0x8298, "author"], [0x0131, "software"]]);
const EXIF_TAGS = new Map([[0x9003, "date"], [0x9004, "date"], [0xa430, "author"], [0xa431, "camera"],
  [0xa433, "camera"], [0xa434, "camera"], [0xa435, "camera"], [0x927c, "camera"]]);
const ORIENTATION = 0x0112;
// Tags that say nothing about who, where or when: how the picture is turned and scaled.
const HARMLESS = new Set([ORIENTATION, 0x011a, 0x011b, 0x0128, 0x0213]);

function ifd(tiff, offset, big) {
  if (offset < 8 || offset + 2 > tiff.length) throw new CleanError("IFD outside the Exif block");
  const count = u16(tiff, offset, big);
  if (offset + 2 + 12 * count > tiff.length) throw new CleanError("IFD runs past the Exif block");
  const entries = new Map();
  for (let i = 0; i < count; i++) {
    const at = offset + 2 + 12 * i;
    entries.set(u16(tiff, at, big), tiff.subarray(at + 8, at + 12));
  }
  return entries;
}

/** What a TIFF-structured Exif block holds, and its orientation (1 when absent). */
export function exifDetails(tiff) {
  try {
    const big = startsWith(tiff, [0x4d, 0x4d, 0, 0x2a]);
    if (!big && !startsWith(tiff, [0x49, 0x49, 0x2a, 0])) throw new CleanError("not a TIFF header");
    const ifd0 = ifd(tiff, u32(tiff, 4, big), big);
    const found = new Set([...IFD0_TAGS].filter(([tag]) => ifd0.has(tag)).map(([, name]) => name));
    if (ifd0.has(0x8769)) {
      const sub = ifd(tiff, u32(ifd0.get(0x8769), 0, big), big);
      for (const [tag, name] of EXIF_TAGS) if (sub.has(tag)) found.add(name);
    }
    let orientation = 1;
    if (ifd0.has(ORIENTATION)) {
      const value = u16(ifd0.get(ORIENTATION), 0, big);
      orientation = value >= 1 && value <= 8 ? value : 1;
    }
    if (!found.size && [...ifd0.keys()].some((tag) => !HARMLESS.has(tag))) found.add("other");
    return { found, orientation };
  } catch {
    return { found: new Set(["other"]), orientation: 1 };
  }
}

/** A minimal big-endian Exif block that says only how the picture is turned. */
export function orientationExif(orientation) {
  const out = new Uint8Array(26);
  out.set([0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation]);
  return out;
}

const XMP_MARKS = [["GPSLatitude", "gps"], ["GPSLongitude", "gps"], ["tiff:Make", "camera"],
  ["tiff:Model", "camera"], ["CreateDate", "date"], ["ModifyDate", "date"], ["DateCreated", "date"],
  ["DateTimeOriginal", "date"], ["dc:creator", "author"], ["CreatorTool", "software"],
  ["pdf:Producer", "software"]].map(([mark, name]) => [ascii(mark), name]);

/** What an XMP packet names, read by the property names it contains (an empty packet names nothing). */
export function xmpDetails(xmp) {
  const found = new Set(XMP_MARKS.filter(([mark]) => indexOf(xmp, mark) >= 0).map(([, name]) => name));
  if (!found.size && indexOf(xmp, ascii("<rdf:Description")) >= 0) found.add("other");
  return found;
}

// --- JPEG -----------------------------------------------------------------------------------

const EXIF_ID = ascii("Exif\0\0");
const XMP_ID = ascii("http://ns.adobe.com/xap/1.0/\0");

function segmentDetails(marker, body) {
  const none = { keep: true, found: new Set(), orientation: 1 };
  if (marker === 0xe0 && startsWith(body, ascii("JFIF\0"))) return none;
  if (marker === 0xe2 && startsWith(body, ascii("ICC_PROFILE\0"))) return none;
  // The colour transform: the picture decodes wrongly without it.
  if (marker === 0xee && startsWith(body, ascii("Adobe"))) return none;
  if (marker === 0xe1 && startsWith(body, EXIF_ID)) {
    return { keep: false, ...exifDetails(body.subarray(6)) };
  }
  if (marker === 0xe1 && startsWith(body, XMP_ID)) return { keep: false, found: xmpDetails(body), orientation: 1 };
  if ((marker >= 0xe0 && marker <= 0xef) || marker === 0xfe) return { keep: false, found: new Set(["other"]), orientation: 1 };
  return none;
}

function segmentEnd(data, at) {
  if (at + 4 > data.length || data[at] !== 0xff) throw new CleanError("a segment was expected");
  const length = u16(data, at + 2, true);
  if (length < 2 || at + 2 + length > data.length) throw new CleanError("a segment runs past the end");
  return at + 2 + length;
}

/** Where the entropy-coded data starting at `at` ends: the 0xFF of the next marker. */
function scanEnd(data, at) {
  const n = data.length;
  for (;;) {
    at = data.indexOf(0xff, at);
    if (at < 0 || at + 1 >= n) return n;
    let follow = at + 1;
    while (follow < n && data[follow] === 0xff) follow++;
    if (follow >= n) return n;
    if (data[follow] === 0 || (data[follow] >= 0xd0 && data[follow] <= 0xd7)) {
      at = follow + 1;
      continue;
    }
    return follow - 1;
  }
}

/** A JPEG without Exif, XMP, IPTC, comments or trailing data; ICC and orientation kept. */
export function cleanJpeg(data) {
  if (!startsWith(data, [0xff, 0xd8])) throw new CleanError("not a JPEG");
  const found = new Set();
  let orientation = 1;
  const head = [];
  const tail = [];
  let at = 2;
  let inScans = false;
  for (;;) {
    if (at >= data.length) {
      if (!inScans) throw new CleanError("the picture ends before its image data");
      break;
    }
    while (at + 1 < data.length && data[at] === 0xff && data[at + 1] === 0xff) at++;
    if (at + 1 >= data.length || data[at] !== 0xff) throw new CleanError("a marker was expected");
    let marker = data[at + 1];
    if (marker === 0xd9) {
      tail.push(Uint8Array.of(0xff, 0xd9));
      if (data.length > at + 2) found.add("other"); // previews, maker trailers after the picture
      break;
    }
    if ((marker >= 0xd0 && marker <= 0xd8) || marker === 0x01) throw new CleanError("a marker out of place");
    const end = segmentEnd(data, at);
    marker = data[at + 1];
    const segment = segmentDetails(marker, data.subarray(at + 4, end));
    for (const name of segment.found) found.add(name);
    if (segment.orientation !== 1 && orientation === 1) orientation = segment.orientation;
    if (segment.keep) (inScans ? tail : head).push(data.subarray(at, end));
    at = end;
    if (marker === 0xda) {
      inScans = true;
      const stop = scanEnd(data, at);
      tail.push(data.subarray(at, stop));
      at = stop;
    }
  }
  const out = [Uint8Array.of(0xff, 0xd8)];
  if (head.length && head[0][1] === 0xe0) out.push(head.shift());
  if (orientation !== 1) {
    const body = concat([EXIF_ID, orientationExif(orientation)]);
    out.push(Uint8Array.of(0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff), body);
  }
  return { data: concat([...out, ...head, ...tail]), found };
}

// --- PNG ------------------------------------------------------------------------------------

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const PNG_TEXT_WORDS = new Map([["author", "author"], ["creation time", "date"], ["software", "software"],
  ["copyright", "author"]]);

function be32(value) {
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

function pngChunk(kind, body) {
  const typed = concat([ascii(kind), body]);
  return concat([be32(body.length), typed, be32(crc32(typed))]);
}

function pngTextDetails(body) {
  const nul = body.indexOf(0);
  const keyword = latin1(nul < 0 ? body : body.subarray(0, nul)).replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (keyword === "xml:com.adobe.xmp") return xmpDetails(body);
  return new Set([PNG_TEXT_WORDS.get(keyword) || "other"]);
}

/** A PNG without text chunks, eXIf (but its orientation) and tIME, nor anything after IEND. */
export function cleanPng(data) {
  if (!startsWith(data, PNG_SIGNATURE)) throw new CleanError("not a PNG");
  const out = [PNG_SIGNATURE];
  const found = new Set();
  let at = PNG_SIGNATURE.length;
  for (;;) {
    if (at + 12 > data.length) throw new CleanError("the picture ends before IEND");
    const length = u32(data, at, true);
    const kind = latin1(data.subarray(at + 4, at + 8));
    const end = at + 12 + length;
    if (end > data.length) throw new CleanError("a chunk runs past the end");
    const body = data.subarray(at + 8, at + 8 + length);
    if (kind === "tEXt" || kind === "zTXt" || kind === "iTXt") {
      for (const name of pngTextDetails(body)) found.add(name);
    } else if (kind === "tIME") {
      found.add("date");
    } else if (kind === "eXIf") {
      const exif = exifDetails(body);
      for (const name of exif.found) found.add(name);
      if (exif.orientation !== 1) out.push(pngChunk("eXIf", orientationExif(exif.orientation)));
    } else {
      out.push(data.subarray(at, end));
    }
    at = end;
    if (kind === "IEND") {
      if (at < data.length) found.add("other");
      break;
    }
  }
  return { data: concat(out), found };
}
