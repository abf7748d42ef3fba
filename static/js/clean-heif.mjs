// Hidden details removed from HEIF photos (HEIC, AVIF): the mirror of
// integrity/reporting/clean_heif.py, byte for byte. The Exif and XMP items, found through the
// meta box (iinf names them, iloc places them in the file or in idat), are overwritten in place:
// Exif with an empty Exif block padded with zeros, XMP with an empty packet padded with spaces.

import { CleanError, ascii, exifDetails, latin1, xmpDetails } from "./clean-images.mjs";

const EMPTY_EXIF = Uint8Array.of(0, 0, 0, 0, 0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0);
const EMPTY_XMP = ascii('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"/><?xpacket end="w"?>');

function number(data, at, size) {
  if (size !== 0 && size !== 4 && size !== 8) throw new CleanError("an unusual field size");
  if (at + size > data.length) throw new CleanError("a field runs past the end");
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + data[at + i];
  return value;
}

const u16 = (data, at) => {
  if (at + 2 > data.length) throw new CleanError("a field runs past the end");
  return data[at] * 256 + data[at + 1];
};

/** The boxes between `start` and `end`: [type, content start, end]. */
function boxes(data, start, end) {
  const found = [];
  let at = start;
  while (at < end) {
    if (at + 8 > end) throw new CleanError("a box header runs past its parent");
    let size = number(data, at, 4);
    const kind = latin1(data.subarray(at + 4, at + 8));
    let header = 8;
    if (size === 1) {
      size = number(data, at + 8, 8);
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header || at + size > end) throw new CleanError("a box runs past its parent");
    found.push([kind, at + header, at + size]);
    at += size;
  }
  return found;
}

function stringEnd(data, at, end) {
  const stop = data.subarray(0, end).indexOf(0, at);
  if (stop < 0) throw new CleanError("a string does not end");
  return stop + 1;
}

/** iinf: the ids of the Exif and XMP items. */
function items(data, start, end) {
  if (start >= data.length) throw new CleanError("iinf is empty");
  const at = start + 4 + (data[start] === 0 ? 2 : 4);
  const found = new Map();
  for (const [kind, body, stop] of boxes(data, at, end)) {
    if (kind !== "infe") continue;
    if (!(data[body] >= 2)) throw new CleanError("an old item info entry");
    const width = data[body] === 2 ? 2 : 4;
    const item = width === 4 ? number(data, body + 4, 4) : u16(data, body + 4);
    const itemType = latin1(data.subarray(body + 4 + width + 2, body + 4 + width + 6));
    const nameEnd = stringEnd(data, body + 4 + width + 6, stop);
    if (itemType === "Exif") {
      found.set(item, "exif");
    } else if (itemType === "mime") {
      const contentType = latin1(data.subarray(nameEnd, stringEnd(data, nameEnd, stop) - 1));
      if (contentType === "application/rdf+xml") found.set(item, "xmp");
    }
  }
  return found;
}

/** iloc: each item's construction method, base offset and extents [offset, length]. */
function locations(data, start, end) {
  if (start + 6 > data.length) throw new CleanError("iloc is empty");
  const version = data[start];
  if (version > 2) throw new CleanError("an unknown iloc version");
  const offsetSize = data[start + 4] >> 4;
  const lengthSize = data[start + 4] & 15;
  const baseSize = data[start + 5] >> 4;
  const indexSize = version ? data[start + 5] & 15 : 0;
  if (![0, 4, 8].includes(indexSize)) throw new CleanError("an unusual field size");
  let at = start + 6;
  let count;
  if (version < 2) [count, at] = [u16(data, at), at + 2];
  else [count, at] = [number(data, at, 4), at + 4];
  const places = new Map();
  for (let i = 0; i < count; i++) {
    let item;
    if (version < 2) [item, at] = [u16(data, at), at + 2];
    else [item, at] = [number(data, at, 4), at + 4];
    let method = 0;
    if (version) [method, at] = [u16(data, at) & 15, at + 2];
    at += 2; // data reference index
    const base = number(data, at, baseSize);
    at += baseSize;
    const extentCount = u16(data, at);
    at += 2;
    const extents = [];
    for (let e = 0; e < extentCount; e++) {
      at += indexSize; // the extent's index: not needed here
      const offset = number(data, at, offsetSize);
      at += offsetSize;
      const length = number(data, at, lengthSize);
      at += lengthSize;
      extents.push([offset, length]);
    }
    if (at > end) throw new CleanError("iloc runs past its box");
    places.set(item, [method, base, extents]);
  }
  return places;
}

/** The HEIF file with its Exif and XMP items emptied in place. */
export function cleanHeif(data) {
  const metas = boxes(data, 0, data.length).filter(([kind]) => kind === "meta");
  if (metas.length !== 1) throw new CleanError("a HEIF file has one meta box");
  const [, start, end] = metas[0];
  const children = new Map(boxes(data, start + 4, end).map(([kind, body, stop]) => [kind, [body, stop]]));
  if (!children.has("iinf") || !children.has("iloc")) throw new CleanError("no item information or locations");
  const wanted = items(data, ...children.get("iinf"));
  const places = locations(data, ...children.get("iloc"));
  const idat = children.get("idat");
  const copy = Uint8Array.from(data);
  const found = new Set();
  for (const [item, kind] of [...wanted].sort(([a], [b]) => a - b)) {
    if (!places.has(item)) throw new CleanError("an item without a location");
    const [method, base, extents] = places.get(item);
    let origin;
    let limit;
    if (method === 0) [origin, limit] = [0, data.length];
    else if (method === 1 && idat) [origin, limit] = idat;
    else throw new CleanError("an item built in a way this code does not clean");
    const spans = extents.map(([offset, length]) => {
      const first = origin + base + offset;
      if (length === 0 || first + length > limit) throw new CleanError("an item's bytes lie outside the file");
      return [first, first + length];
    });
    const payload = new Uint8Array(spans.reduce((sum, [a, b]) => sum + b - a, 0));
    let at = 0;
    for (const [a, b] of spans) {
      payload.set(data.subarray(a, b), at);
      at += b - a;
    }
    let fresh;
    if (kind === "exif") {
      const header = payload.length >= 4 ? number(payload, 0, 4) : 0;
      for (const name of exifDetails(payload.subarray(4 + header)).found) found.add(name);
      fresh = new Uint8Array(payload.length);
      if (payload.length >= EMPTY_EXIF.length) fresh.set(EMPTY_EXIF);
    } else {
      for (const name of xmpDetails(payload)) found.add(name);
      fresh = new Uint8Array(payload.length).fill(0x20);
      if (payload.length >= EMPTY_XMP.length) fresh.set(EMPTY_XMP);
    }
    at = 0;
    for (const [a, b] of spans) {
      copy.set(fresh.subarray(at, at + b - a), a);
      at += b - a;
    }
  }
  return { data: copy, found };
}
