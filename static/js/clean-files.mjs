// Hidden details removed from a reporter's files before they are sealed (docs/protocol.md,
// "Cleaning files"). A photo taken at a border post carries the crossing point's GPS position,
// the time and the phone model; an office document carries its author's account name. Photos
// (JPEG, PNG) are cleaned in clean-images.mjs, HEIF photos in clean-heif.mjs, PDF and Office
// documents in clean-documents.mjs.
// This mirrors integrity/reporting/clean_files.py, the server's copy for basic mode, byte for
// byte: both are tested on tests/vectors/clean-files. Pure functions, no third-party code.

import { CleanError, PNG_SIGNATURE, cleanJpeg, cleanPng, indexOf, startsWith } from "./clean-images.mjs";
import { cleanOffice, cleanPdf, isOffice } from "./clean-documents.mjs";
import { cleanHeif } from "./clean-heif.mjs";

export { CleanError };

/** What a file was found to carry, in the order the page lists it. */
export const DETAILS = ["gps", "camera", "date", "author", "company", "software", "other"];
// "cleaned": details found and removed; "clean": nothing found; "unchecked": a kind of file
// this code does not look into, sent as it is; "failed": a kind that may carry details that
// could not be removed, sent only if the reporter chooses to send it as it is.
export const CLEANED = "cleaned";
export const CLEAN = "clean";
export const UNCHECKED = "unchecked";
export const FAILED = "failed";

const HEIF_BRANDS = new Set(["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "avif", "avis"]);
const text = (bytes) => String.fromCharCode(...bytes);

/** The kind of a file, from its first bytes only (never from its name or declared type). */
export function sniff(data) {
  if (startsWith(data, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(data, PNG_SIGNATURE)) return "png";
  if (indexOf(data, [0x25, 0x50, 0x44, 0x46, 0x2d], 0, Math.min(1024, data.length)) >= 0) return "pdf";
  if (startsWith(data, [0x50, 0x4b, 3, 4])) return isOffice(data) ? "office" : "other";
  if (text(data.subarray(4, 8)) === "ftyp") return HEIF_BRANDS.has(text(data.subarray(8, 12))) ? "heif" : "video";
  if (startsWith(data, [0x4d, 0x4d, 0, 0x2a]) || startsWith(data, [0x49, 0x49, 0x2a, 0])) return "tiff";
  if (text(data.subarray(0, 4)) === "RIFF" && text(data.subarray(8, 12)) === "WEBP") return "webp";
  if (data.indexOf(0) < 0) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(data);
      return "text";
    } catch {
      // not UTF-8: another kind
    }
  }
  return "other";
}

const CLEANERS = { jpeg: cleanJpeg, png: cleanPng, pdf: cleanPdf, office: cleanOffice, heif: cleanHeif };

/**
 * The file's bytes with its hidden details removed where this code knows how:
 * `{kind, status, found, data}`, `found` listing DETAILS in order. Never throws on bad input:
 * a file it cannot clean comes back as it is with the status FAILED. `inflate` (raw deflate to
 * bytes) defaults to the browser's DecompressionStream.
 */
export async function cleanFile(data, options = {}) {
  const kind = sniff(data);
  const cleaner = CLEANERS[kind];
  if (cleaner) {
    try {
      const cleaned = await cleaner(data, options);
      const found = DETAILS.filter((name) => cleaned.found.has(name));
      return { kind, status: found.length ? CLEANED : CLEAN, found, data: cleaned.data };
    } catch {
      return { kind, status: FAILED, found: [], data };
    }
  }
  if (["video", "tiff", "webp"].includes(kind)) return { kind, status: FAILED, found: [], data };
  return { kind, status: kind === "text" ? CLEAN : UNCHECKED, found: [], data };
}
