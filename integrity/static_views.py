"""The static files (the ``static`` endpoint, ``/static/<filename>``): under an address with
the content's version (``asset_url``), kept by browsers for a year; under a plain one,
revalidated on each use. Either way the brotli or gzip copy made at build time is sent when
the client accepts it (``integrity/static_files.py``), with the type of the file itself."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Flask, Response, abort, current_app, request, send_file
from werkzeug.security import safe_join

from integrity import compression, static_files

YEAR = 365 * 24 * 3600


def serve_static(filename: str) -> Response:
    folder = Path(current_app.static_folder or "static")
    found = static_files.plain_name(folder, filename)
    if found is None:
        abort(404)  # a version that is not the file's: never other bytes under that name
    name, versioned = found
    joined = safe_join(str(folder), name)
    if joined is None or not Path(joined).is_file():
        abort(404)
    path = Path(joined)
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    encoding = compression.accepted_encoding(
        request.headers.get("Accept-Encoding"),
        tuple(e for e in compression.ENCODINGS if static_files.precompressed(path, e)))
    sent = static_files.precompressed(path, encoding) if encoding else None
    response = send_file(sent or path, mimetype=mimetype, conditional=True, etag=True,
                         max_age=YEAR if versioned else 0)
    if sent is not None and encoding is not None:
        response.headers["Content-Encoding"] = encoding
    if path.suffix in static_files.COMPRESSED_SUFFIXES:
        response.vary.add("Accept-Encoding")
    if versioned:
        response.cache_control.public = True
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response


def init_app(app: Flask) -> None:
    """Serve ``/static/<filename>`` with this view instead of Flask's own."""
    app.view_functions["static"] = serve_static
