"""Hidden details removed from a reporter's files before they are sealed.

A photo taken at a border post carries the crossing point's GPS position, the time and the
phone model; an office document carries its author's account name. Photos (JPEG, PNG) are
cleaned in clean_images, HEIF photos in clean_heif, PDF and Office documents in
clean_documents. This is the server's
copy (basic mode) of static/js/clean-files.mjs, which the browser runs before sealing: both
give the same bytes for the same file (tests/vectors/clean-files.json).

``clean_file`` never raises on bad input: a file it cannot clean comes back as it is with the
status ``failed``, and the reporter decides whether to send it anyway.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from integrity.reporting.clean_documents import clean_office, clean_pdf, is_office
from integrity.reporting.clean_heif import clean_heif
from integrity.reporting.clean_images import PNG_SIGNATURE, CleanError, clean_jpeg, clean_png

# What a file was found to carry, in the order the page lists it.
DETAILS = ("gps", "camera", "date", "author", "company", "software", "other")

# Statuses: "cleaned" (details found and removed), "clean" (nothing found), "unchecked" (a
# kind of file this code does not look into, sent as it is), "failed" (a kind that may carry
# details that could not be removed: sent only if the reporter chooses to send it as it is).
CLEANED, CLEAN, UNCHECKED, FAILED = "cleaned", "clean", "unchecked", "failed"

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
                b"avif", b"avis"}


@dataclass(frozen=True)
class CleanResult:
    kind: str  # jpeg, png, pdf, office, heif, video, tiff, webp, text, other
    status: str
    found: tuple[str, ...]
    data: bytes  # the bytes to seal: cleaned, or the file as it is when nothing could be done


def ordered(found: set[str]) -> tuple[str, ...]:
    """Details in the canonical order of DETAILS."""
    return tuple(name for name in DETAILS if name in found)


def sniff(data: bytes) -> str:
    """The kind of a file, from its first bytes only (never from its name or declared type)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "office" if is_office(data) else "other"
    if data[4:8] == b"ftyp":
        return "heif" if data[8:12] in _HEIF_BRANDS else "video"
    if data[:4] in (b"MM\x00\x2a", b"II\x2a\x00"):
        return "tiff"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
            return "text"
        except UnicodeDecodeError:
            pass
    return "other"


_CLEANERS = {"jpeg": clean_jpeg, "png": clean_png, "pdf": clean_pdf, "office": clean_office,
             "heif": clean_heif}


def clean_file(data: bytes) -> CleanResult:
    """The file with its hidden details removed where this code knows how; see the module."""
    kind = sniff(data)
    cleaner = _CLEANERS.get(kind)
    if cleaner is not None:
        try:
            cleaned, found = cleaner(data)
        except (CleanError, struct.error, zlib.error, IndexError, ValueError, OverflowError,
                RecursionError, MemoryError):
            return CleanResult(kind, FAILED, (), data)
        return CleanResult(kind, CLEANED if found else CLEAN, ordered(found), cleaned)
    if kind in ("video", "tiff", "webp"):
        return CleanResult(kind, FAILED, (), data)
    return CleanResult(kind, CLEAN if kind == "text" else UNCHECKED, (), data)


def may_need_cleaning(first_bytes: bytes) -> bool:
    """Whether a file starting with these bytes is of a kind cleaned or refused here (the rest
    of a file of another kind can be sealed as it arrives)."""
    return (first_bytes.startswith((b"\xff\xd8\xff", PNG_SIGNATURE, b"PK\x03\x04"))
            or b"%PDF-" in first_bytes or first_bytes[4:8] == b"ftyp"
            or first_bytes[:4] in (b"MM\x00\x2a", b"II\x2a\x00", b"RIFF"))
