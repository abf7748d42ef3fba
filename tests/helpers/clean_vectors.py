"""Sample files carrying hidden details, and what cleaning them gives:
``python -m tests.helpers.clean_vectors`` writes tests/vectors/clean-files.json from the
samples in tests/vectors/clean-files/ (``--samples`` makes the samples again).

The samples are made once (Pillow stamps its own version into nothing, but an ICC profile or
a zip's times could differ from run to run) and committed; the JSON records, for each, the
kind, status and details found and the SHA-256 of the cleaned bytes, which the Python
(integrity/reporting/clean_files.py) and the JavaScript (static/js/clean-files.mjs) cleaners
must both give.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from integrity.reporting.clean_files import clean_file

FOLDER = Path(__file__).resolve().parent.parent / "vectors" / "clean-files"
INDEX = FOLDER.parent / "clean-files.json"
# What the samples say, so tests can look for it in what is sent.
GPS = (42.4419, 19.2594)  # near a crossing point
MAKE, MODEL = "PhoneMaker", "Model X-7"
AUTHOR = "j.marković"
COMPANY = "Border Police Station 4"


def _gps_ifd() -> dict[int, object]:
    def dms(value: float) -> tuple[float, float, float]:
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        return (degrees, minutes, round(((value - degrees) * 60 - minutes) * 60, 2))
    return {1: "N", 2: dms(GPS[0]), 3: "E", 4: dms(GPS[1]), 29: "2026:11:20"}


def _exif(orientation: int = 6):  # type: ignore[no-untyped-def]
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = MAKE
    exif[0x0110] = MODEL
    exif[0x0112] = orientation
    exif[0x0132] = "2026:11:20 07:42:10"
    exif[0x0131] = "Camera 4.2"
    exif.get_ifd(0x8769)[0x9003] = "2026:11:20 07:42:10"
    exif.get_ifd(0x8825).update(_gps_ifd())
    return exif


XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
       b'exif:GPSLatitude="42,26.514N" xmp:CreateDate="2026-11-20T07:42:10"/></rdf:RDF>'
       b'</x:xmpmeta><?xpacket end="w"?>')


def photo(orientation: int = 6, **extra: object) -> bytes:
    """A small JPEG with Exif (GPS, phone, dates), XMP, a comment and an ICC profile."""
    from PIL import Image, ImageCms

    image = Image.new("RGB", (32, 24), (200, 40, 40))
    image.paste((20, 90, 200), (0, 0, 16, 12))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=_exif(orientation), icc_profile=icc, xmp=XMP,
               comment=b"Taken at lane 4", **extra)
    return out.getvalue()


def png() -> bytes:
    """A PNG with text chunks (author, software, creation time), eXIf with GPS and tIME."""
    from PIL import Image, PngImagePlugin

    image = Image.new("RGB", (20, 10), (10, 160, 60))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", AUTHOR)
    info.add_text("Software", "Screenshot tool")
    info.add_itxt("Comment", "zone B", zip=True)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, exif=_exif(1))
    data = out.getvalue()
    # tIME before IEND (Pillow does not write it).
    import struct
    import zlib
    body = struct.pack(">HBBBBB", 2026, 11, 20, 7, 42, 10)
    chunk = struct.pack(">I", len(body)) + b"tIME" + body + struct.pack(
        ">I", zlib.crc32(b"tIME" + body))
    return data[:-12] + chunk + data[-12:]


def pdf() -> bytes:
    """A one-page PDF with an information dictionary and an XMP metadata stream."""
    xmp = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
           b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
           b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">'
           b'<dc:creator><rdf:Seq><rdf:li>' + AUTHOR.encode() + b'</rdf:li></rdf:Seq></dc:creator>'
           b'<pdf:Producer>Office 16</pdf:Producer></rdf:Description></rdf:RDF></x:xmpmeta>'
           b'<?xpacket end="w"?>')
    content = b"BT /F1 18 Tf 30 60 Td (Shift roster) Tj ET"
    author = AUTHOR.encode("utf-16-be")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(xmp) + xmp
        + b"\nendstream",
        b"<< /Author <FEFF" + author.hex().upper().encode() + b"> /Title (Roster \\(lane 4\\))"
        b" /Creator (Writer) /Producer 8 0 R /CreationDate (D:20261120074210+01'00') >>",
        b"(Office 16 \\(build 2\\))",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def docx() -> bytes:
    """A minimal Word document whose properties name its author, editor and company."""
    types = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://'
             'schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
             'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
             'Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.'
             'xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
             'document.main+xml"/><Override PartName="/docProps/core.xml" ContentType="application'
             '/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.'
             'xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties'
             '+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http'
            '://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDoc'
            'ument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.open'
            'xmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps'
            '/core.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDoc'
            'ument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
            '</Relationships>')
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="'
                'http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
                '<w:t>Shift roster, lane 4</w:t></w:r></w:p></w:body></w:document>')
    core = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties xmlns:'
            'cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc'
            '="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:'
            'xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>Roster</dc:title><dc:creat'
            f'or>{AUTHOR}</dc:creator><cp:lastModifiedBy>{AUTHOR}</cp:lastModifiedBy><cp:revision'
            '>3</cp:revision><dcterms:created xsi:type="dcterms:W3CDTF">2026-11-20T07:42:00Z</dcte'
            'rms:created><dcterms:modified xsi:type="dcterms:W3CDTF">2026-11-21T08:00:00Z</dcterm'
            's:modified></cp:coreProperties>')
    app = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://'
           'schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>'
           f'Microsoft Office Word</Application><Pages>1</Pages><Company>{COMPANY}</Company>'
           '</Properties>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("[Content_Types].xml", types), ("_rels/.rels", rels),
                           ("word/document.xml", document), ("docProps/core.xml", core),
                           ("docProps/app.xml", app)):
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 21, 8, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return out.getvalue()


def heic() -> bytes:
    """A HEIC photo (libheif's heif-enc) given GPS, phone and XMP details by exiftool."""
    import subprocess
    import tempfile

    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        png, out = Path(folder) / "in.png", Path(folder) / "photo.heic"
        image = Image.new("RGB", (64, 48), (200, 40, 40))
        image.paste((20, 90, 200), (0, 0, 32, 24))
        image.save(png)
        subprocess.run(["heif-enc", "-q", "60", "-o", str(out), str(png)], check=True,
                       capture_output=True)
        subprocess.run(["exiftool", "-overwrite_original", f"-GPSLatitude={GPS[0]}",
                        "-GPSLatitudeRef=N", f"-GPSLongitude={GPS[1]}", "-GPSLongitudeRef=E",
                        f"-Make={MAKE}", f"-Model={MODEL}",
                        "-DateTimeOriginal=2026:11:20 07:42:10", f"-XMP-dc:Creator={AUTHOR}",
                        str(out)], check=True, capture_output=True)
        return out.read_bytes()


BROKEN_HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x00\x08free"
VIDEO = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2\x00\x00\x00\x08free"
# Every sample by file name, and how it is made (only when missing, or with --samples).
SAMPLES: dict[str, Callable[[], bytes]] = {
    "photo.jpg": photo,
    "upright.jpg": lambda: photo(orientation=1),
    "progressive.jpg": lambda: photo(progressive=True),
    "screenshot.png": png,
    "roster.pdf": pdf,
    "roster.docx": docx,
    "photo.heic": heic,
    "broken.heic": lambda: BROKEN_HEIC,
    "clip.mp4": lambda: VIDEO,
    "note.txt": lambda: b"Lane 4, night shift.\n",
    "data.bin": lambda: bytes(range(256)),
    "broken.jpg": lambda: b"\xff\xd8\xff\xe1\x00\x40Exif",
    # An information dictionary nested past the cleaners' limit (a hostile file): refused.
    "nested.pdf": lambda: (b"%PDF-1.4\n1 0 obj\n<< /Author " + b"[" * 40 + b"(x)" + b"]" * 40
                           + b" >>\nendobj\ntrailer\n<< /Info 1 0 R >>\n"),
}


def damaged(name: str, data: bytes, count: int = 24) -> list[dict[str, object]]:
    """Cut and altered copies of a sample (drawn once, from a seed per file name): both
    cleaners must agree on them too, byte for byte, whatever they make of them."""
    import random

    draw = random.Random(name)  # noqa: S311 - test data, not secrets
    copies = []
    for turn in range(count):
        changes = [[draw.randrange(len(data)), draw.randrange(256)]
                   for _ in range(draw.randint(1, 4))] if data else []
        cut = draw.randrange(len(data) + 1) if turn % 3 == 0 else None
        copies.append({"cut": cut, "changes": changes})
    return copies


def apply_damage(data: bytes, cut: int | None, changes: list[list[int]]) -> bytes:
    """A sample with its bytes changed at the given places, then cut at ``cut``."""
    copy = bytearray(data)
    for place, value in changes:
        copy[place] = value
    return bytes(copy if cut is None else copy[:cut])


def write(new_samples: bool) -> None:
    """Write the index of what cleaning the samples gives (and the samples, when asked)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    index = []
    for name, make in SAMPLES.items():
        if new_samples or not (FOLDER / name).exists():
            (FOLDER / name).write_bytes(make())
    for path in sorted(FOLDER.iterdir()):
        data = path.read_bytes()
        result = clean_file(data)
        copies = []
        for copy in damaged(path.name, data):
            cleaned = clean_file(apply_damage(data, copy["cut"], copy["changes"]))  # type: ignore[arg-type]
            copies.append({**copy, "status": cleaned.status, "found": list(cleaned.found),
                           "sha256": hashlib.sha256(cleaned.data).hexdigest()})
        index.append({"file": path.name, "kind": result.kind, "status": result.status,
                      "found": list(result.found),
                      "sha256": hashlib.sha256(result.data).hexdigest(), "damaged": copies})
    INDEX.write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    import sys

    write("--samples" in sys.argv)
