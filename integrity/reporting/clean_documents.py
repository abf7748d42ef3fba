"""Hidden details removed from PDF and Office (OOXML) documents; see clean_files.

PDF: every string of the document information dictionaries (author, title, creator, dates)
and every XMP metadata stream is overwritten in place with spaces of the same length, so the
cross-reference offsets stay valid and nothing else of the file changes.

Office (docx, xlsx, pptx): the zip is written again with docProps/core.xml, app.xml and
custom.xml replaced by empty property sets (stored, not compressed, so every implementation
writes the same bytes), the other entries' compressed data copied as it is, and every entry's
time set to the zip format's first day (1980-01-01).
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from integrity.reporting.clean_images import CleanError, xmp_details

# --- PDF ------------------------------------------------------------------------------------

_WHITE = b"\x00\t\n\x0c\r "
_DELIMITERS = b"()<>[]{}/%"
_INFO_KEYS = {b"Author": "author", b"Creator": "software", b"Producer": "software",
              b"CreationDate": "date", b"ModDate": "date"}
_INFO_REF = re.compile(rb"/Info\s*(\d+)\s+(\d+)\s+R")
# How deeply arrays and dictionaries may nest in an information dictionary (a real one nests
# once or twice; the limit keeps a hostile file from exhausting the stack, the same in both
# implementations).
MAX_DEPTH = 32
_METADATA_REF = re.compile(rb"/Metadata\s*(\d+)\s+(\d+)\s+R")
# What a metadata stream becomes when it has room: a valid packet that says nothing.
EMPTY_XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:'
             b'meta/"/><?xpacket end="w"?>')


class _Blanker:
    """Walks one PDF object and overwrites the content of every string in it with spaces."""

    def __init__(self, data: bytearray) -> None:
        self.data = data
        self.found: set[str] = set()
        self.refs: list[tuple[bytes, bytes, str]] = []  # number, generation, detail

    def skip(self, at: int) -> int:
        data = self.data
        while at < len(data):
            if data[at] in _WHITE:
                at += 1
            elif data[at] == 0x25:  # % comment to the end of the line
                while at < len(data) and data[at] not in b"\r\n":
                    at += 1
            else:
                break
        return at

    def token_end(self, at: int) -> int:
        while (at < len(self.data) and self.data[at] not in _WHITE
               and self.data[at] not in _DELIMITERS):
            at += 1
        return at

    def blank(self, start: int, end: int, detail: str) -> None:
        if self.data[start:end].strip(_WHITE):
            self.found.add(detail)
        self.data[start:end] = b" " * (end - start)

    def value(self, at: int, detail: str, depth: int = 0) -> int:
        """Parse one value at ``at`` (after white space); return where it ends."""
        if depth > MAX_DEPTH:
            raise CleanError("objects nested too deeply")
        data = self.data
        at = self.skip(at)
        if at >= len(data):
            raise CleanError("the object ends early")
        if data[at:at + 2] == b"<<":
            at += 2
            while True:
                at = self.skip(at)
                if data[at:at + 2] == b">>":
                    return at + 2
                if data[at] != 0x2F:
                    raise CleanError("a name was expected in a dictionary")
                end = self.token_end(at + 1)
                key = bytes(data[at + 1:end])
                at = self.value(end, _INFO_KEYS.get(key, detail), depth + 1)
        if data[at] == 0x3C:  # <hex string>
            end = data.find(b">", at)
            if end < 0:
                raise CleanError("a hex string does not end")
            self.blank(at + 1, end, detail)
            return end + 1
        if data[at] == 0x28:  # (literal string), balanced parentheses, backslash escapes
            end, depth = at + 1, 1
            while depth:
                if end >= len(data):
                    raise CleanError("a string does not end")
                if data[end] == 0x5C:
                    end += 2
                    continue
                depth += {0x28: 1, 0x29: -1}.get(data[end], 0)
                end += 1
            self.blank(at + 1, end - 1, detail)
            return end
        if data[at] == 0x5B:  # [array]
            at += 1
            while True:
                at = self.skip(at)
                if at >= len(data):
                    raise CleanError("an array does not end")
                if data[at] == 0x5D:
                    return at + 1
                at = self.value(at, detail, depth + 1)
        if data[at] == 0x2F:
            return self.token_end(at + 1)
        end = self.token_end(at)
        if end == at:
            raise CleanError("an unexpected character")
        ref = re.compile(rb"\s+(\d+)\s+R(?![^\x00\t\n\x0c\r ()<>\[\]{}/%])").match(data, end)
        if data[at:end].isdigit() and ref:
            self.refs.append((bytes(data[at:end]), ref.group(1), detail))
            return ref.end()
        return end


def _objects(source: bytes, number: bytes, generation: bytes) -> list[int]:
    """Where each definition of object ``number generation`` starts its value."""
    pattern = re.compile(rb"(?<![0-9])" + number + rb"\s+" + generation + rb"\s+obj")
    return [match.end() for match in pattern.finditer(source)]


def _blank_info(source: bytes, blanker: _Blanker) -> None:
    pending = [(m.group(1), m.group(2), "other") for m in _INFO_REF.finditer(source)]
    seen: set[tuple[bytes, bytes]] = set()
    while pending:
        number, generation, detail = pending.pop(0)
        if (number, generation) in seen:
            continue
        seen.add((number, generation))
        starts = _objects(source, number, generation)
        if not starts:
            raise CleanError("the information dictionary is compressed")
        for start in starts:
            blanker.refs = []
            blanker.value(start, detail)
            pending += blanker.refs


def _blank_metadata(source: bytes, data: bytearray, found: set[str]) -> None:
    # Searches read the file as it came; only the writes go to the copy.
    for match in _METADATA_REF.finditer(source):
        for start in _objects(source, match.group(1), match.group(2)):
            head = source.find(b"stream", start)
            dictionary_end = source.rfind(b">>", start, head)
            if head < 0 or dictionary_end < 0:
                raise CleanError("a metadata stream has no stream")
            body = head + 6
            body += 2 if source[body:body + 2] == b"\r\n" else 1
            end = source.find(b"endstream", body)
            if end < 0:
                raise CleanError("a metadata stream does not end")
            while end > body and source[end - 1] in b"\r\n":
                end -= 1
            header = source[start:dictionary_end]
            filtered = re.search(rb"/(Filter|DecodeParms)\b", header) is not None
            if source[body:end].strip(_WHITE):
                found |= {"other"} if filtered else xmp_details(source[body:end])
            empty = EMPTY_XMP if end - body >= len(EMPTY_XMP) else b""
            data[body:end] = empty + b" " * (end - body - len(empty))
            if filtered:
                # The spaces are not compressed data: say so by removing the filter.
                blank = re.compile(rb"/(?:Filter|DecodeParms)\s*(?:/[^\s/<>\[\]()]+|\[[^\]]*\]"
                                   rb"|<<.*?>>)", re.S)
                for found_filter in blank.finditer(source, start, dictionary_end):
                    span = found_filter.end() - found_filter.start()
                    data[found_filter.start():found_filter.end()] = b" " * span


def clean_pdf(data: bytes) -> tuple[bytes, set[str]]:
    """The PDF with its information dictionaries and XMP metadata blanked in place."""
    if re.search(rb"/Encrypt\s*\d+\s+\d+\s+R|/Encrypt\s*<<", data):
        raise CleanError("an encrypted PDF")
    copy = bytearray(data)
    blanker = _Blanker(copy)
    _blank_info(data, blanker)
    found = set(blanker.found)
    _blank_metadata(data, copy, found)
    return bytes(copy), found


# --- Office (OOXML) -------------------------------------------------------------------------

_XML_HEAD = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
_VT = b'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"'
EMPTY_PARTS = {
    "docProps/core.xml": _XML_HEAD + b'<cp:coreProperties xmlns:cp="http://schemas.'
    b'openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/'
    b'elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org'
    b'/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>',
    "docProps/app.xml": _XML_HEAD + b'<Properties xmlns="http://schemas.openxmlformats.org/'
    b'officeDocument/2006/extended-properties" ' + _VT + b"/>",
    "docProps/custom.xml": _XML_HEAD + b'<Properties xmlns="http://schemas.openxmlformats.org/'
    b'officeDocument/2006/custom-properties" ' + _VT + b"/>",
}
_PART_WORDS = {
    "docProps/core.xml": {"creator": "author", "lastModifiedBy": "author", "created": "date",
                          "modified": "date", "lastPrinted": "date"},
    "docProps/app.xml": {"Company": "company", "Manager": "author", "Application": "software",
                         "AppVersion": "software", "Template": "other", "lpstr": "other",
                         "HyperlinkBase": "other"},
    "docProps/custom.xml": {},
}
# Elements with text in them: <prefix:name attributes>text</
_ELEMENT = re.compile(rb"<(?:[A-Za-z0-9_.-]+:)?([A-Za-z0-9_.-]+)(?:\s[^>]*)?>([^<]*)</")
_DOS_DAY = 0x0021  # 1980-01-01, the first day a zip entry can carry


def _part_details(name: str, xml: bytes) -> set[str]:
    words = _PART_WORDS[name]
    found = set()
    for match in _ELEMENT.finditer(xml):
        if not match.group(2).strip():
            continue
        local = match.group(1).decode("ascii")
        if name == "docProps/app.xml":
            if local in words:
                found.add(words[local])
        else:
            found.add(words.get(local, "other"))
    return found


@dataclass
class _Entry:
    """One zip entry as it will be written again."""

    name: bytes
    flags: int
    method: int
    crc: int
    usize: int
    data: bytes


def _entries(data: bytes) -> list[_Entry]:
    """The central directory's entries of a zip without zip64, encryption or split parts."""
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if eocd < 0 or eocd + 22 > len(data):
        raise CleanError("no end of central directory")
    count, size, offset = struct.unpack_from("<HII", data, eocd + 10)
    if count == 0xFFFF or offset == 0xFFFFFFFF or offset + size > eocd:
        raise CleanError("a zip64 or damaged archive")
    entries: list[_Entry] = []
    at = offset
    for _ in range(count):
        if data[at:at + 4] != b"PK\x01\x02":
            raise CleanError("a central directory entry was expected")
        (flags, method, crc, csize, usize, name_length, extra_length, comment_length,
         local) = struct.unpack_from("<8xHH4xIIIHHH8xI", data, at)
        name = data[at + 46:at + 46 + name_length]
        if flags & 1:
            raise CleanError("an encrypted entry")
        if data[local:local + 4] != b"PK\x03\x04":
            raise CleanError("a local header was expected")
        local_name, local_extra = struct.unpack_from("<HH", data, local + 26)
        start = local + 30 + local_name + local_extra
        if start + csize > len(data):
            raise CleanError("an entry runs past the end")
        entries.append(_Entry(name, flags, method, crc, usize, data[start:start + csize]))
        at += 46 + name_length + extra_length + comment_length
    return entries


def is_office(data: bytes) -> bool:
    """Whether a zip is an Office Open XML package (it lists [Content_Types].xml)."""
    try:
        return any(entry.name == b"[Content_Types].xml" for entry in _entries(data))
    except (CleanError, struct.error):
        return False


def _replace(entry: _Entry, found: set[str]) -> None:
    name = entry.name.decode("utf-8", "replace")
    if name not in EMPTY_PARTS:
        return
    if entry.method == 8:
        xml = zlib.decompress(entry.data, -15)
    elif entry.method == 0:
        xml = entry.data
    else:
        raise CleanError("an unknown compression method")
    found |= _part_details(name, xml)
    empty = EMPTY_PARTS[name]
    entry.flags, entry.method, entry.crc = entry.flags & 0x0800, 0, zlib.crc32(empty)
    entry.usize, entry.data = len(empty), empty


def clean_office(data: bytes) -> tuple[bytes, set[str]]:
    """The package written again with empty document properties and no entry times."""
    entries = _entries(data)
    found: set[str] = set()
    local, central = bytearray(), bytearray()
    for entry in entries:
        _replace(entry, found)
        name, body = entry.name, entry.data
        flags = entry.flags & 0x0806  # no data descriptor: the sizes are known here
        fields = (flags, entry.method, 0, _DOS_DAY, entry.crc, len(body), entry.usize, len(name))
        central += (b"PK\x01\x02" + struct.pack("<HHHHHHIIIHHHHHII", 20, 20, *fields, 0, 0, 0,
                                                 0, 0, len(local)) + name)
        local += b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", 20, *fields, 0) + name + body
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                      len(central), len(local), 0)
    return bytes(local + central + end), found
