"""Hidden details (GPS position, phone model, dates, author) removed from files before sealing:
the shared vectors, checked with an independent reader (exiftool), and pictures that still
decode."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from integrity.reporting.clean_files import CLEAN, FAILED, clean_file
from tests.helpers import clean_vectors

VECTORS = json.loads(clean_vectors.INDEX.read_text())
SAMPLES = {path.name: path.read_bytes() for path in clean_vectors.FOLDER.iterdir()}


@pytest.mark.parametrize("vector", VECTORS, ids=lambda vector: vector["file"])
def test_each_sample_cleans_to_the_shared_vector(vector) -> None:
    result = clean_file(SAMPLES[vector["file"]])
    assert (result.kind, result.status, list(result.found)) == (
        vector["kind"], vector["status"], vector["found"])
    assert hashlib.sha256(result.data).hexdigest() == vector["sha256"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda vector: vector["file"])
def test_cut_and_altered_samples_clean_to_the_shared_vectors(vector) -> None:
    data = SAMPLES[vector["file"]]
    assert vector["damaged"] == [{**copy, **{key: vector["damaged"][i][key] for key in (
        "status", "found", "sha256")}} for i, copy in enumerate(
            clean_vectors.damaged(vector["file"], data))]
    for copy in vector["damaged"]:
        result = clean_file(clean_vectors.apply_damage(data, copy["cut"], copy["changes"]))
        assert (result.status, list(result.found)) == (copy["status"], copy["found"])
        assert hashlib.sha256(result.data).hexdigest() == copy["sha256"]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_cleaned_file_has_nothing_left_to_clean(name) -> None:
    once = clean_file(SAMPLES[name])
    again = clean_file(once.data)
    assert again.data == once.data
    if once.status != FAILED:
        assert again.status == CLEAN or again.kind in ("other",)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_cut_or_damaged_file_never_breaks_the_cleaner(name) -> None:
    data = SAMPLES[name]
    for cut in range(0, len(data), max(1, len(data) // 97)):
        result = clean_file(data[:cut])
        assert result.status in ("cleaned", "clean", "unchecked", "failed")
        damaged = bytearray(data)
        damaged[cut % max(1, len(data))::53] = b"\xff" * len(damaged[cut % max(1, len(data))::53])
        assert clean_file(bytes(damaged)).data is not None


def _exiftool(path: Path) -> dict[str, object]:
    out = subprocess.run(["exiftool", "-json", "-a", "-G1", str(path)], check=True,
                         capture_output=True).stdout
    return json.loads(out)[0]


def _cleaned(tmp_path: Path, name: str) -> tuple[Path, Path]:
    original, cleaned = tmp_path / f"original-{name}", tmp_path / name
    original.write_bytes(SAMPLES[name])
    cleaned.write_bytes(clean_file(SAMPLES[name]).data)
    return original, cleaned


needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None,
                                    reason="exiftool (libimage-exiftool-perl) is missing")


@needs_exiftool
@pytest.mark.parametrize("name", ["photo.jpg", "progressive.jpg", "screenshot.png"])
def test_photos_lose_position_phone_and_dates_but_still_show_the_same_picture(
    tmp_path, name
) -> None:
    original, cleaned = _cleaned(tmp_path, name)
    before, after = _exiftool(original), _exiftool(cleaned)
    assert "GPS:GPSLatitude" in before and "IFD0:Model" in before
    for tag in ("GPS:GPSLatitude", "GPS:GPSLongitude", "IFD0:Make", "IFD0:Model",
                "ExifIFD:DateTimeOriginal", "IFD0:ModifyDate", "XMP-exif:GPSLatitude",
                "File:Comment", "PNG:Author", "PNG:Software"):
        assert tag not in after, tag
    assert not [key for key in after if key.startswith(("GPS:", "XMP", "PNG-pHYs:Time"))]
    with Image.open(io.BytesIO(SAMPLES[name])) as first, Image.open(cleaned) as second:
        assert first.tobytes() == second.tobytes()
        assert first.getexif().get(0x0112, 1) == second.getexif().get(0x0112, 1)
        if name.endswith(".jpg"):
            assert second.info.get("icc_profile") == first.info.get("icc_profile")


@needs_exiftool
def test_a_pdf_keeps_its_pages_and_loses_author_and_dates(tmp_path) -> None:
    original, cleaned = _cleaned(tmp_path, "roster.pdf")
    before, after = _exiftool(original), _exiftool(cleaned)
    assert before["PDF:Author"] == clean_vectors.AUTHOR
    assert clean_vectors.AUTHOR.encode("utf-16-be") not in cleaned.read_bytes()
    for tag in ("PDF:Author", "PDF:Title", "PDF:Creator", "PDF:Producer", "PDF:CreateDate"):
        assert str(after.get(tag, "")).strip() == "", tag
    assert not [key for key in after if key.startswith("XMP")]
    assert "Warning" not in after.get("ExifTool:Warning", "")
    assert len(cleaned.read_bytes()) == len(original.read_bytes())
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(cleaned), "-"], check=True,
                              capture_output=True).stdout
        assert b"Shift roster" in text


@needs_exiftool
def test_an_office_document_loses_author_and_company_and_keeps_its_text(tmp_path) -> None:
    original, cleaned = _cleaned(tmp_path, "roster.docx")
    before, after = _exiftool(original), _exiftool(cleaned)
    assert clean_vectors.COMPANY in json.dumps(before, ensure_ascii=False)
    shown = json.dumps(after, ensure_ascii=False)
    for secret in (clean_vectors.AUTHOR, clean_vectors.COMPANY, "2026-11-20", "2026:11:20",
                   "Microsoft Office Word"):
        assert secret not in shown
    with zipfile.ZipFile(original) as first, zipfile.ZipFile(cleaned) as second:
        assert second.testzip() is None
        assert second.namelist() == first.namelist()
        assert second.read("word/document.xml") == first.read("word/document.xml")
        assert b"creator" not in second.read("docProps/core.xml")


def test_files_this_code_cannot_clean_come_back_as_they_are() -> None:
    for name, kind in (("clip.mp4", "video"), ("broken.heic", "heif"), ("broken.jpg", "jpeg")):
        result = clean_file(SAMPLES[name])
        assert (result.kind, result.status, result.data) == (kind, FAILED, SAMPLES[name])
    other = clean_file(SAMPLES["data.bin"])
    assert (other.status, other.data) == ("unchecked", SAMPLES["data.bin"])


@needs_exiftool
def test_a_heic_photo_loses_its_exif_and_xmp_items_and_still_decodes(tmp_path) -> None:
    original, cleaned = _cleaned(tmp_path, "photo.heic")
    before, after = _exiftool(original), _exiftool(cleaned)
    assert "GPS:GPSLatitude" in before and before["XMP-dc:Creator"] == clean_vectors.AUTHOR
    assert not [key for key in after if key.startswith(("GPS:", "XMP", "IFD0:", "ExifIFD:"))]
    assert len(cleaned.read_bytes()) == len(original.read_bytes())
    if shutil.which("heif-convert"):
        png = tmp_path / "decoded.png"
        subprocess.run(["heif-convert", str(cleaned), str(png)], check=True, capture_output=True)
        with Image.open(png) as image:
            assert image.size == (64, 48)
