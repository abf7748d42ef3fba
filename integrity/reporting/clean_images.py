"""Hidden details removed from photos (JPEG, PNG) and the readers of Exif and XMP that say
what was there; see clean_files for the whole picture."""

from __future__ import annotations

import struct
import zlib


class CleanError(ValueError):
    """The file is not what its first bytes say, or is built in a way this code cannot clean."""


# --- Exif (inside JPEG APP1 and PNG eXIf) and XMP ------------------------------------------

_IFD0_TAGS = {0x8825: "gps", 0x010F: "camera", 0x0110: "camera", 0x0132: "date",
              0x013B: "author", 0x8298: "author", 0x0131: "software"}
_EXIF_TAGS = {0x9003: "date", 0x9004: "date", 0xA430: "author", 0xA431: "camera",
              0xA433: "camera", 0xA434: "camera", 0xA435: "camera", 0x927C: "camera"}
ORIENTATION = 0x0112
# Tags that say nothing about who, where or when: how the picture is turned and scaled.
_HARMLESS = {ORIENTATION, 0x011A, 0x011B, 0x0128, 0x0213}


def _ifd(tiff: bytes, offset: int, big: bool) -> dict[int, bytes]:
    """The entries of one IFD: tag -> its 4-byte value field."""
    if offset < 8 or offset + 2 > len(tiff):
        raise CleanError("IFD outside the Exif block")
    count = struct.unpack_from(">H" if big else "<H", tiff, offset)[0]
    if offset + 2 + 12 * count > len(tiff):
        raise CleanError("IFD runs past the Exif block")
    entries = {}
    for i in range(count):
        at = offset + 2 + 12 * i
        tag = struct.unpack_from(">H" if big else "<H", tiff, at)[0]
        entries[tag] = tiff[at + 8:at + 12]
    return entries


def exif_details(tiff: bytes) -> tuple[set[str], int]:
    """What a TIFF-structured Exif block holds, and its orientation (1 when absent)."""
    try:
        if tiff[:4] not in (b"MM\x00\x2a", b"II\x2a\x00"):
            raise CleanError("not a TIFF header")
        big = tiff[:2] == b"MM"
        ifd0 = _ifd(tiff, struct.unpack_from(">I" if big else "<I", tiff, 4)[0], big)
        found = {name for tag, name in _IFD0_TAGS.items() if tag in ifd0}
        if 0x8769 in ifd0:
            sub = _ifd(tiff, struct.unpack_from(">I" if big else "<I", ifd0[0x8769])[0], big)
            found |= {name for tag, name in _EXIF_TAGS.items() if tag in sub}
        orientation = 1
        if ORIENTATION in ifd0:
            value = struct.unpack_from(">H" if big else "<H", ifd0[ORIENTATION])[0]
            orientation = value if 1 <= value <= 8 else 1
        if not found and set(ifd0) - _HARMLESS:
            found.add("other")
        return found, orientation
    except (CleanError, struct.error):
        return {"other"}, 1


def orientation_exif(orientation: int) -> bytes:
    """A minimal big-endian Exif block that says only how the picture is turned."""
    return (b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
            + struct.pack(">HHIHH", ORIENTATION, 3, 1, orientation, 0) + struct.pack(">I", 0))


_XMP_MARKS = ((b"GPSLatitude", "gps"), (b"GPSLongitude", "gps"), (b"tiff:Make", "camera"),
              (b"tiff:Model", "camera"), (b"CreateDate", "date"), (b"ModifyDate", "date"),
              (b"DateCreated", "date"), (b"DateTimeOriginal", "date"), (b"dc:creator", "author"),
              (b"CreatorTool", "software"), (b"pdf:Producer", "software"))


def xmp_details(xmp: bytes) -> set[str]:
    """What an XMP packet names, read by the property names it contains (an empty packet
    names nothing)."""
    found = {name for mark, name in _XMP_MARKS if mark in xmp}
    if not found and b"<rdf:Description" in xmp:
        found.add("other")
    return found


# --- JPEG -----------------------------------------------------------------------------------

_EXIF_ID = b"Exif\x00\x00"
_XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"


def _segment_details(marker: int, body: bytes) -> tuple[bool, set[str], int]:
    """Whether a segment is kept, what it carried if dropped, and an Exif orientation."""
    if marker == 0xE0 and body.startswith(b"JFIF\x00"):
        return True, set(), 1
    if marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00"):
        return True, set(), 1
    if marker == 0xEE and body.startswith(b"Adobe"):
        return True, set(), 1  # colour transform: the picture decodes wrongly without it
    if marker == 0xE1 and body.startswith(_EXIF_ID):
        found, orientation = exif_details(body[6:])
        return False, found, orientation
    if marker == 0xE1 and body.startswith(_XMP_ID):
        return False, xmp_details(body), 1
    if 0xE0 <= marker <= 0xEF or marker == 0xFE:
        return False, {"other"}, 1
    return True, set(), 1


def _segment(data: bytes, at: int) -> tuple[int, int]:
    """The marker at ``at`` (an 0xFF) and the end of its segment."""
    if at + 4 > len(data) or data[at] != 0xFF:
        raise CleanError("a segment was expected")
    length = struct.unpack_from(">H", data, at + 2)[0]
    if length < 2 or at + 2 + length > len(data):
        raise CleanError("a segment runs past the end")
    return data[at + 1], at + 2 + length


def _scan_end(data: bytes, at: int) -> int:
    """Where the entropy-coded data starting at ``at`` ends: the 0xFF of the next marker."""
    n = len(data)
    while True:
        at = data.find(b"\xff", at)
        if at < 0 or at + 1 >= n:
            return n
        follow = at + 1
        while follow < n and data[follow] == 0xFF:
            follow += 1
        if follow >= n:
            return n
        if data[follow] == 0x00 or 0xD0 <= data[follow] <= 0xD7:
            at = follow + 1
            continue
        return follow - 1


def clean_jpeg(data: bytes) -> tuple[bytes, set[str]]:
    """A JPEG without Exif, XMP, IPTC, comments or trailing data; ICC and orientation kept."""
    if not data.startswith(b"\xff\xd8"):
        raise CleanError("not a JPEG")
    found: set[str] = set()
    orientation = 1
    head: list[bytes] = []
    tail: list[bytes] = []
    at, in_scans = 2, False
    while True:
        if at >= len(data):
            if not in_scans:
                raise CleanError("the picture ends before its image data")
            break
        while at + 1 < len(data) and data[at] == 0xFF and data[at + 1] == 0xFF:
            at += 1  # fill bytes before a marker
        if at + 1 >= len(data) or data[at] != 0xFF:
            raise CleanError("a marker was expected")
        marker = data[at + 1]
        if marker == 0xD9:
            tail.append(b"\xff\xd9")
            if len(data) > at + 2:
                found.add("other")  # whatever follows the picture: previews, maker trailers
            break
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:
            raise CleanError("a marker without a segment out of place")
        marker, end = _segment(data, at)
        keep, carried, turned = _segment_details(marker, data[at + 4:end])
        found |= carried
        if turned != 1 and orientation == 1:
            orientation = turned
        target = tail if in_scans else head
        if keep:
            target.append(data[at:end])
        at = end
        if marker == 0xDA:
            in_scans = True
            scan_end = _scan_end(data, at)
            tail.append(data[at:scan_end])
            at = scan_end
    out = [b"\xff\xd8"]
    if head and head[0][1] == 0xE0:
        out.append(head.pop(0))
    if orientation != 1:
        body = _EXIF_ID + orientation_exif(orientation)
        out.append(b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body)
    return b"".join(out + head + tail), found


# --- PNG ------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT_WORDS = {b"author": "author", b"creation time": "date", b"software": "software",
                   b"copyright": "author"}


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_text_details(kind: bytes, body: bytes) -> set[str]:
    keyword = body.split(b"\x00", 1)[0].lower()
    if keyword == b"xml:com.adobe.xmp":
        return xmp_details(body)
    return {_PNG_TEXT_WORDS.get(keyword, "other")}


def clean_png(data: bytes) -> tuple[bytes, set[str]]:
    """A PNG without text chunks, eXIf (but its orientation) and tIME, nor anything after IEND."""
    if not data.startswith(PNG_SIGNATURE):
        raise CleanError("not a PNG")
    out = [PNG_SIGNATURE]
    found: set[str] = set()
    at = len(PNG_SIGNATURE)
    while True:
        if at + 12 > len(data):
            raise CleanError("the picture ends before IEND")
        length = struct.unpack_from(">I", data, at)[0]
        kind = data[at + 4:at + 8]
        end = at + 12 + length
        if end > len(data):
            raise CleanError("a chunk runs past the end")
        body = data[at + 8:at + 8 + length]
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            found |= _png_text_details(kind, body)
        elif kind == b"tIME":
            found.add("date")
        elif kind == b"eXIf":
            carried, orientation = exif_details(body)
            found |= carried
            if orientation != 1:
                out.append(_png_chunk(b"eXIf", orientation_exif(orientation)))
        else:
            out.append(data[at:end])
        at = end
        if kind == b"IEND":
            if at < len(data):
                found.add("other")
            break
    return b"".join(out), found
