"""The static files as the pages name them: Subresource Integrity (hashes of the files as
served), addresses that carry a hash of the content (so that browsers may keep them for a
year), and copies compressed once, at build time (``python -m integrity.static_files``).

``asset_url("dist/report.js")`` is ``/static/dist/report.<16 hex digits>.js``: the digits are
the start of the file's SHA-384, so a changed file gets a new address and an old address never
names other bytes (``integrity/static_views.py`` answers 404 for it).
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
from functools import lru_cache
from pathlib import Path

from flask import Flask, url_for

from integrity import compression

# `report.<16 hex digits>.js`: the address of a file with its content's version.
HASHED_NAME = re.compile(r"^(?P<stem>.+)\.(?P<version>[0-9a-f]{16})(?P<suffix>\.[A-Za-z0-9]+)$")
# The files compressed at build time, and the encodings kept beside them (`x.js.br`, `x.js.gz`).
COMPRESSED_SUFFIXES = frozenset({".js", ".css", ".svg", ".json", ".txt"})
PRECOMPRESSED = {"br": ".br", "gzip": ".gz"}


@lru_cache(maxsize=64)
def _digest(path: Path, mtime_ns: int, size: int) -> bytes:
    return hashlib.sha384(path.read_bytes()).digest()


def _file_digest(static_folder: Path, filename: str) -> bytes | None:
    path = (static_folder / filename).resolve()
    if static_folder.resolve() not in path.parents or not path.is_file():
        return None
    stat = path.stat()
    return _digest(path, stat.st_mtime_ns, stat.st_size)


def integrity_of(static_folder: Path, filename: str) -> str:
    """The ``integrity`` value of a static file, or "" when the file is missing."""
    digest = _file_digest(static_folder, filename)
    return "sha384-" + base64.b64encode(digest).decode() if digest else ""


def version_of(static_folder: Path, filename: str) -> str:
    """A short hex name of a static file's content, for an address that changes with it."""
    digest = _file_digest(static_folder, filename)
    return digest.hex()[:16] if digest else ""


def hashed_name(static_folder: Path, filename: str) -> str:
    """``dist/report.js`` as ``dist/report.<version>.js``; unchanged when the file is missing."""
    version = version_of(static_folder, filename)
    stem, dot, suffix = filename.rpartition(".")
    if not version or not dot or "/" in suffix:
        return filename
    return f"{stem}.{version}.{suffix}"


def plain_name(static_folder: Path, filename: str) -> tuple[str, bool] | None:
    """The file a requested name serves and whether the name carried its version:
    ``("dist/report.js", True)`` for ``dist/report.<its version>.js``, the name itself and
    False for a name without a version, None for a version that is not the file's."""
    match = HASHED_NAME.match(filename)
    if match is None:
        return filename, False
    plain = match["stem"] + match["suffix"]
    if version_of(static_folder, plain) != match["version"]:
        return None
    return plain, True


def precompressed(path: Path, encoding: str) -> Path | None:
    """The copy of ``path`` compressed with ``encoding`` at build time, if it is up to date."""
    copy = path.with_name(path.name + PRECOMPRESSED[encoding])
    try:
        if copy.stat().st_mtime_ns >= path.stat().st_mtime_ns:
            return copy
    except FileNotFoundError:
        pass
    return None


def compress_folder(static_folder: Path) -> list[Path]:
    """Write the brotli and gzip copies of every compressible static file whose copies are
    missing or older than it; the copies written."""
    written = []
    for path in sorted(static_folder.rglob("*")):
        if not path.is_file() or path.suffix not in COMPRESSED_SUFFIXES:
            continue
        data = None
        for encoding in PRECOMPRESSED:
            if precompressed(path, encoding) is not None:
                continue
            data = path.read_bytes() if data is None else data
            copy = path.with_name(path.name + PRECOMPRESSED[encoding])
            copy.write_bytes(compression.encode(data, encoding, best=True))
            written.append(copy)
    return written


def init_app(app: Flask) -> None:
    folder = Path(app.static_folder or "static")
    # The stylesheets are hashed now, once; a file that changes is hashed again when next used.
    for stylesheet in sorted((folder / "css").glob("*.css")):
        integrity_of(folder, stylesheet.relative_to(folder).as_posix())
    app.jinja_env.globals["sri"] = lambda filename: integrity_of(folder, filename)
    app.jinja_env.globals["asset_url"] = lambda filename: url_for(
        "static", filename=hashed_name(folder, filename))
    # The staff keyring is a SharedWorker, known to the browser by its address, which changes
    # with its content (a worker script cannot carry an integrity attribute;
    # docs/inspector-keys.md).
    app.jinja_env.globals["keyring_url"] = lambda: url_for(
        "static", filename=hashed_name(folder, "dist/keyring.js"))


def main(argv: list[str]) -> int:
    """``python -m integrity.static_files [folder]``: compress the static files (Makefile)."""
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "static"
    written = compress_folder(folder)
    print(f"wrote {len(written)} compressed copies of static files" if written
          else "the compressed copies of the static files are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
