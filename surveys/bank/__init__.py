"""The question bank: ready-made survey definitions, one JSON file each in this folder."""

from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from surveys.definitions import Definition, DefinitionError, load_definition

FOLDER = Path(__file__).resolve().parent


def template_names() -> list[str]:
    """The names of the templates in the bank (their file names without ``.json``)."""
    return sorted(path.stem for path in FOLDER.glob("*.json"))


def load_template(name: str) -> Definition:
    """A template of the bank, checked like any imported definition."""
    if name not in template_names():
        raise DefinitionError(_l("The question bank has no template “%(name)s”.", name=name))
    return load_definition((FOLDER / f"{name}.json").read_text(encoding="utf-8"))
