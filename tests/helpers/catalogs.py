"""The translation catalogs as files: reading them, and extracting the marked strings."""

from __future__ import annotations

import shlex
import sys
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


@cache
def read_catalog(path: Path) -> Catalog:
    """The catalog (.po or .pot) at ``path``, read once."""
    with path.open("rb") as handle:
        return read_po(handle)


def extract_command(output: Path) -> list[str]:
    """`make babel-extract`'s pybabel command, writing into ``output`` instead."""
    makefile = (ROOT / "Makefile").read_text()
    (line,) = [line for line in makefile.splitlines() if "pybabel extract" in line]
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    command = shlex.split(line.replace("$(BIN)/pybabel", pybabel))
    return [str(output) if part == "$(TRANSLATIONS)/messages.pot" else part for part in command]
