"""Hidden details removed from HEIF photos (HEIC, AVIF): the Exif and XMP items are overwritten
in place, the rest of the file kept byte for byte; see clean_files for the whole picture.

The items are found through the meta box: iinf names them (item type ``Exif``, or ``mime`` with
the content type ``application/rdf+xml``), iloc says where their bytes are (in the file, or in
the idat box). An Exif item becomes an empty Exif block (its 4-byte header offset, then a TIFF
header with an IFD of no entries) padded with zeros; an XMP item an empty packet padded with
spaces. Lengths do not change, so no offset has to be rewritten.
"""

from __future__ import annotations

import struct

from integrity.reporting.clean_images import CleanError, exif_details, xmp_details

EMPTY_EXIF = b"\x00\x00\x00\x00" + b"MM\x00\x2a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"
EMPTY_XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:'
             b'meta/"/><?xpacket end="w"?>')


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """The boxes between ``start`` and ``end``: type, where the content starts, where it ends."""
    found = []
    at = start
    while at < end:
        if at + 8 > end:
            raise CleanError("a box header runs past its parent")
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, at + 8)[0]
            header = 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            raise CleanError("a box runs past its parent")
        found.append((kind, at + header, at + size))
        at += size
    return found


def _number(data: bytes, at: int, size: int) -> int:
    if size not in (0, 4, 8):
        raise CleanError("an unusual field size")
    if at + size > len(data):
        raise CleanError("a field runs past the end")
    return int.from_bytes(data[at:at + size], "big")


def _string_end(data: bytes, at: int, end: int) -> int:
    stop = data.find(b"\x00", at, end)
    if stop < 0:
        raise CleanError("a string does not end")
    return stop + 1


def _items(data: bytes, start: int, end: int) -> dict[int, str]:
    """iinf: the ids of the Exif and XMP items."""
    version = data[start]
    at = start + 4 + (2 if version == 0 else 4)
    items = {}
    for kind, body, stop in _boxes(data, at, end):
        if kind != b"infe":
            continue
        if data[body] < 2:
            raise CleanError("an old item info entry")
        width = 2 if data[body] == 2 else 4
        item = _number(data, body + 4, width) if width == 4 else struct.unpack_from(
            ">H", data, body + 4)[0]
        item_type = data[body + 4 + width + 2:body + 4 + width + 6]
        name_end = _string_end(data, body + 4 + width + 6, stop)
        if item_type == b"Exif":
            items[item] = "exif"
        elif item_type == b"mime":
            content_type = data[name_end:_string_end(data, name_end, stop) - 1]
            if content_type == b"application/rdf+xml":
                items[item] = "xmp"
    return items


Place = tuple[int, int, list[tuple[int, int]]]  # construction method, base offset, extents


def _locations(data: bytes, start: int, end: int) -> dict[int, Place]:
    """iloc: each item's construction method, base offset and extents (offset, length)."""
    version = data[start]
    if version > 2:
        raise CleanError("an unknown iloc version")
    sizes = data[start + 4:start + 6]
    offset_size, length_size = sizes[0] >> 4, sizes[0] & 15
    base_size, index_size = sizes[1] >> 4, (sizes[1] & 15) if version else 0
    if index_size not in (0, 4, 8):
        raise CleanError("an unusual field size")
    at = start + 6
    if version < 2:
        count, at = struct.unpack_from(">H", data, at)[0], at + 2
    else:
        count, at = _number(data, at, 4), at + 4
    places = {}
    for _ in range(count):
        if version < 2:
            item, at = struct.unpack_from(">H", data, at)[0], at + 2
        else:
            item, at = _number(data, at, 4), at + 4
        method = 0
        if version:
            method, at = struct.unpack_from(">H", data, at)[0] & 15, at + 2
        at += 2  # data reference index
        base, at = _number(data, at, base_size), at + base_size
        extent_count, at = struct.unpack_from(">H", data, at)[0], at + 2
        extents = []
        for _ in range(extent_count):
            at += index_size  # the extent's index: not needed here
            offset, at = _number(data, at, offset_size), at + offset_size
            length, at = _number(data, at, length_size), at + length_size
            extents.append((offset, length))
        if at > end:
            raise CleanError("iloc runs past its box")
        places[item] = (method, base, extents)
    return places


def clean_heif(data: bytes) -> tuple[bytes, set[str]]:
    """The HEIF file with its Exif and XMP items emptied in place."""
    metas = [box for box in _boxes(data, 0, len(data)) if box[0] == b"meta"]
    if len(metas) != 1:
        raise CleanError("a HEIF file has one meta box")
    _, start, end = metas[0]
    children = {kind: (body, stop) for kind, body, stop in _boxes(data, start + 4, end)}
    if b"iinf" not in children or b"iloc" not in children:
        raise CleanError("no item information or locations")
    items = _items(data, *children[b"iinf"])
    places = _locations(data, *children[b"iloc"])
    idat = children.get(b"idat")
    copy = bytearray(data)
    found: set[str] = set()
    for item, kind in sorted(items.items()):
        if item not in places:
            raise CleanError("an item without a location")
        method, base, extents = places[item]
        if method == 0:
            origin, limit = 0, len(data)
        elif method == 1 and idat is not None:
            origin, limit = idat
        else:
            raise CleanError("an item built in a way this code does not clean")
        spans = []
        for offset, length in extents:
            first = origin + base + offset
            if length == 0 or first + length > limit:
                raise CleanError("an item's bytes lie outside the file")
            spans.append((first, first + length))
        payload = b"".join(data[a:b] for a, b in spans)
        if kind == "exif":
            header = _number(payload, 0, 4) if len(payload) >= 4 else 0
            found |= exif_details(payload[4 + header:])[0]
            empty = EMPTY_EXIF if len(payload) >= len(EMPTY_EXIF) else b""
            fresh = empty + b"\x00" * (len(payload) - len(empty))
        else:
            found |= xmp_details(payload)
            empty = EMPTY_XMP if len(payload) >= len(EMPTY_XMP) else b""
            fresh = empty + b" " * (len(payload) - len(empty))
        at = 0
        for a, b in spans:
            copy[a:b] = fresh[at:at + b - a]
            at += b - a
    return bytes(copy), found
