"""Compressed answers: brotli or gzip, as the client's ``Accept-Encoding`` allows (RFC 9110,
section 12.5.3), for the text the application writes per request (pages, JSON, CSV, SVG).

Static files are compressed once, when they are built (``integrity/static_files.py``), and
served by ``integrity/static_views.py``; this module compresses what is made per request.
Sealed payloads and attachments (``application/octet-stream``) are random bytes and are never
compressed, nor is anything already encoded, streamed, or shorter than ``MIN_BYTES``.
"""

from __future__ import annotations

import gzip

import brotli
from flask import Flask, Request, Response, request

# Media types worth compressing: text the application writes.
COMPRESSIBLE = frozenset({
    "text/html", "text/plain", "text/css", "text/csv", "text/javascript",
    "application/javascript", "application/json", "application/xml", "image/svg+xml",
})
# Below this, the encoded answer saves less than a packet and costs time on both sides.
MIN_BYTES = 1024
# Per request: fast settings (the static files get the slowest, best ones at build time).
BROTLI_QUALITY = 5
GZIP_LEVEL = 6
ENCODINGS = ("br", "gzip")  # in the order preferred when the client weighs them alike


def accepted_encoding(header: str | None, available: tuple[str, ...] = ENCODINGS) -> str | None:
    """The encoding of ``available`` the ``Accept-Encoding`` value ranks highest (``q`` > 0),
    the earlier one of ``available`` on a tie; None when the client accepts none of them."""
    weights: dict[str, float] = {}
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[name] = max(0.0, min(weight, 1.0))
    best: tuple[float, int] | None = None
    chosen = None
    for index, name in enumerate(available):
        weight = weights.get(name, weights.get("*", 0.0))
        if weight > 0 and (best is None or (weight, -index) > best):
            best, chosen = (weight, -index), name
    return chosen


def encode(data: bytes, encoding: str, *, best: bool = False) -> bytes:
    """``data`` compressed with ``encoding`` ("br" or "gzip"); ``best`` for build time."""
    if encoding == "br":
        return brotli.compress(data, quality=11 if best else BROTLI_QUALITY)
    if encoding == "gzip":
        return gzip.compress(data, compresslevel=9 if best else GZIP_LEVEL, mtime=0)
    raise ValueError(f"unknown encoding {encoding!r}")


def compressible(response: Response, req: Request) -> bool:
    """Whether ``response`` is text made per request that may be encoded."""
    return not (
        response.direct_passthrough
        or response.is_streamed
        or "Content-Encoding" in response.headers
        or req.method == "HEAD"
        or response.status_code < 200
        or response.status_code in (204, 206, 304)
        or response.mimetype not in COMPRESSIBLE
    )


def compress_response(response: Response) -> Response:
    """Encode ``response`` for the current request, when it is worth it and the client can."""
    if not compressible(response, request):
        return response
    response.vary.add("Accept-Encoding")  # caches keep one copy per encoding
    data = response.get_data()
    if len(data) < MIN_BYTES:
        return response
    encoding = accepted_encoding(request.headers.get("Accept-Encoding"))
    if encoding is None:
        return response
    response.set_data(encode(data, encoding))
    response.headers["Content-Encoding"] = encoding
    if response.headers.get("ETag"):
        # The same entity in another encoding is another representation.
        response.headers["ETag"] = response.headers["ETag"].rstrip('"') + f'-{encoding}"'
    return response


def init_app(app: Flask) -> None:
    # Registered before the other hooks, so that it runs after them (Flask runs them in
    # reverse), on the body they leave.
    app.after_request(compress_response)
