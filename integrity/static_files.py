"""Subresource Integrity for the page scripts and stylesheets: hashes of the files as served."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, url_for


@lru_cache(maxsize=64)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def integrity_of(static_folder: Path, filename: str) -> str:
    """The ``integrity`` value of a static file, or "" when the file is missing."""
    path = (static_folder / filename).resolve()
    if static_folder.resolve() not in path.parents or not path.is_file():
        return ""
    stat = path.stat()
    return _digest(path, stat.st_mtime_ns, stat.st_size)


def version_of(static_folder: Path, filename: str) -> str:
    """A short hex name of a static file's content, for an address that changes with it."""
    integrity = integrity_of(static_folder, filename)
    return base64.b64decode(integrity.removeprefix("sha384-")).hex()[:16] if integrity else ""


def init_app(app: Flask) -> None:
    folder = Path(app.static_folder or "static")
    # The stylesheets are hashed now, once; a file that changes is hashed again when next used.
    for stylesheet in sorted((folder / "css").glob("*.css")):
        integrity_of(folder, stylesheet.relative_to(folder).as_posix())
    app.jinja_env.globals["sri"] = lambda filename: integrity_of(folder, filename)
    # The staff keyring is a SharedWorker, known to the browser by its address: a versioned one,
    # since a worker script cannot carry an integrity attribute (docs/inspector-keys.md).
    app.jinja_env.globals["keyring_url"] = lambda: url_for(
        "static", filename="dist/keyring.js", v=version_of(folder, "dist/keyring.js"))
