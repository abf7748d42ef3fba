"""Compressed answers (integrity/compression.py) and the static files under versioned addresses
(integrity/static_files.py, static_views.py): what a client accepts decides the encoding, the
decoded bytes are the uncompressed answer's, random bytes stay as they are, versioned files are
kept for a year and match their SRI, and the report page with everything needed to file stays
within its weight budget on the wire."""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import re
from pathlib import Path

import brotli
import pytest
from flask import Flask
from flask.testing import FlaskClient

from integrity import compression, static_files
from tests.conftest import ChannelSetup
from tests.protocol_client import ReporterClient, Upload

STATIC = Path(__file__).resolve().parent.parent / "static"
ASSET = re.compile(r'(?:src|href|data-worker)="(/static/[^"]+)"')
# The report page and everything it needs to file a report, on the wire (issue: 250 kB).
PAGE_BUDGET = 250_000


def _decoded(response) -> bytes:
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        return brotli.decompress(response.data)
    if encoding == "gzip":
        return gzip.decompress(response.data)
    assert encoding is None, encoding
    return response.data


@pytest.mark.parametrize(("header", "chosen"), [
    ("br, gzip", "br"),
    ("gzip, deflate, br, zstd", "br"),
    ("gzip", "gzip"),
    ("gzip;q=1, br;q=0.5", "gzip"),
    ("br;q=0, gzip", "gzip"),
    ("BR;Q=0.8, GZIP;q=0.8", "br"),
    ("*", "br"),
    ("*;q=0.5, br;q=0", "gzip"),
    ("identity", None),
    ("deflate, zstd", None),
    ("", None),
    (None, None),
    ("gzip;q=nonsense", None),
    (",,;q=1, gzip;;q=0.3", "gzip"),
])
def test_the_encoding_is_the_one_the_client_ranks_highest(header, chosen) -> None:
    assert compression.accepted_encoding(header) == chosen


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_pages_and_json_decode_to_the_uncompressed_bytes(client: FlaskClient, channel: ChannelSetup,
                                                        encoding: str) -> None:
    for path in ("/", "/api/v1/config", f"/api/v1/config?channel={channel.slug}", "/mailbox"):
        plain = client.get(path)
        packed = client.get(path, headers={"Accept-Encoding": encoding})
        assert plain.status_code == packed.status_code == 200, path
        assert "Content-Encoding" not in plain.headers
        assert packed.headers["Content-Encoding"] == encoding, path
        for answer in (plain, packed):
            assert "Accept-Encoding" in answer.headers["Vary"]
        body = _decoded(packed)
        if path == "/mailbox":  # its form token is made per request: compare around it
            body, expected = (re.sub(rb'value="[^"]{40,}"', b"", b) for b in (body, plain.data))
        else:
            expected = plain.data
        assert body == expected, path
        assert len(packed.data) < len(plain.data)
        assert int(packed.headers["Content-Length"]) == len(packed.data)


def test_a_sealed_attachment_is_sent_as_it_is(app: Flask, channel: ChannelSetup) -> None:
    import crypto

    reporter = ReporterClient(app.test_client())
    photo = b"\xff\xd8" + b"\x00" * 200_000  # compresses to nothing, unsealed
    filed = reporter.file(channel.slug, {"what": "A photo."},
                          uploads=[Upload("photo.jpg", "image/jpeg", photo)])
    keys = reporter.derive(filed.receipt)
    box = reporter.mailbox(filed.receipt)
    attachment = box["report"]["document"]["attachments"][0]["id"]
    answer = app.test_client().post(
        "/api/v1/mailbox/attachment",
        json={"lookup": crypto.b64encode(keys.lookup), "id": attachment},
        headers={"Accept-Encoding": "br, gzip"})
    assert answer.status_code == 200
    assert answer.mimetype == "application/octet-stream"
    assert "Content-Encoding" not in answer.headers
    assert len(answer.get_data()) > 200_000
    answer.close()


def test_short_answers_head_requests_and_encoded_answers_are_left_alone(
        app: Flask, client: FlaskClient) -> None:
    from flask import Response

    assert "Content-Encoding" not in client.head("/", headers={"Accept-Encoding": "br"}).headers
    with app.test_request_context("/", headers={"Accept-Encoding": "br"}):
        short = Response("x" * (compression.MIN_BYTES - 1), mimetype="text/html")
        assert "Content-Encoding" not in compression.compress_response(short).headers
        done = Response(b"x" * 5000, mimetype="text/html", headers={"Content-Encoding": "gzip"})
        assert compression.compress_response(done).get_data() == b"x" * 5000
        streamed = Response(iter([b"x" * 5000]), mimetype="text/csv")
        assert "Content-Encoding" not in compression.compress_response(streamed).headers


def test_random_bytes_are_sent_as_they_are(app: Flask) -> None:
    from flask import Response

    with app.test_request_context("/", headers={"Accept-Encoding": "br, gzip"}):
        sealed = Response(bytes(range(256)) * 64, mimetype="application/octet-stream")
        assert compression.compress_response(sealed).headers.get("Content-Encoding") is None
        text = Response("word " * 1000, mimetype="text/csv")
        assert compression.compress_response(text).headers["Content-Encoding"] == "br"


def _assets(html: str) -> list[str]:
    return sorted(set(ASSET.findall(html)))


def test_versioned_static_files_are_immutable_and_match_their_sri(client: FlaskClient,
                                                                  channel: ChannelSetup) -> None:
    page = client.get(f"/report/{channel.slug}").get_data(as_text=True)
    assets = _assets(page)
    assert any("/dist/report." in a for a in assets) and any("/dist/worker." in a for a in assets)
    for address in assets:
        assert static_files.HASHED_NAME.match(address.rsplit("/", 1)[-1]), address
        plain = client.get(address)
        packed = client.get(address, headers={"Accept-Encoding": "br, gzip"})
        assert plain.status_code == packed.status_code == 200
        assert "immutable" in plain.headers["Cache-Control"]
        assert "max-age=31536000" in plain.headers["Cache-Control"]
        assert _decoded(packed) == plain.data, address
        digest = "sha384-" + base64.b64encode(hashlib.sha384(plain.data).digest()).decode()
        if address.endswith(".js") and "/dist/worker." not in address:
            # Page scripts and stylesheets carry integrity="…" of the bytes at this address.
            assert f'"{address}" integrity="{digest}"' in page, address
        if "/dist/worker." in address:
            assert f'data-worker-integrity="{digest}"' in page
        plain.close()
        packed.close()
    # An address with a version that is not the file's names nothing.
    assert client.get("/static/dist/report.0123456789abcdef.js").status_code == 404
    assert client.get("/static/dist/../../pyproject.toml").status_code == 404


def test_a_file_changed_after_its_compressed_copies_is_sent_uncompressed(tmp_path: Path) -> None:
    source = tmp_path / "a.js"
    source.write_text("let x = 1;\n" * 500)
    written = static_files.compress_folder(tmp_path)
    assert sorted(p.name for p in written) == ["a.js.br", "a.js.gz"]
    assert brotli.decompress((tmp_path / "a.js.br").read_bytes()) == source.read_bytes()
    assert gzip.decompress((tmp_path / "a.js.gz").read_bytes()) == source.read_bytes()
    assert static_files.compress_folder(tmp_path) == []  # up to date
    later = max(copy.stat().st_mtime_ns for copy in written) + 1_000_000_000
    os.utime(source, ns=(later, later))  # the file changed after its copies were made
    assert static_files.precompressed(source, "br") is None  # stale: not used
    assert len(static_files.compress_folder(tmp_path)) == 2


def test_the_report_page_and_what_it_needs_to_file_fit_the_budget(client: FlaskClient,
                                                                  channel: ChannelSetup) -> None:
    page = client.get(f"/report/{channel.slug}", headers={"Accept-Encoding": "br, gzip"})
    total = len(page.data)
    html = _decoded(page).decode()
    for address in _assets(html):
        answer = client.get(address, headers={"Accept-Encoding": "br, gzip"})
        assert answer.status_code == 200
        total += len(answer.data)
        answer.close()
    config = client.get(f"/api/v1/config?channel={channel.slug}",
                        headers={"Accept-Encoding": "br, gzip"})
    total += len(config.data)
    assert total <= PAGE_BUDGET, f"{total} bytes on the wire"
