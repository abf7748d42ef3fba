"""Whether each configured language has a compiled, complete catalog to serve its pages."""

from __future__ import annotations

from functools import lru_cache
from gettext import GNUTranslations
from pathlib import Path

from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from integrity.config import ConfigError

# The msgids are English: its catalog may leave every msgstr empty.
SOURCE_LANGUAGE = "en"


def check_languages(languages: tuple[str, ...], directory: Path) -> None:
    """Refuse to start with a language whose catalog is missing, uncompiled or incomplete."""
    for code in languages:
        if code == SOURCE_LANGUAGE:
            continue
        problem = catalog_problem(directory / code / "LC_MESSAGES")
        if problem:
            raise ConfigError(f"INTEGRITY_LANGUAGES: {code} cannot be offered, because {problem}")


def catalog_problem(folder: Path) -> str | None:
    """Why the catalog in ``folder`` cannot serve pages, or None when it can."""
    po, mo = folder / "messages.po", folder / "messages.mo"
    if not po.is_file():
        return f"its catalog {po} is missing"
    if not mo.is_file():
        return f"its catalog {po} is not compiled (run 'make translations')"
    # Read once per version of the files: the factory runs for every test and worker.
    return _compare(po, mo, _version(po), _version(mo))


@lru_cache(maxsize=64)
def _compare(po: Path, mo: Path, _po_version: object, _mo_version: object) -> str | None:
    with po.open("rb") as handle:
        catalog = read_po(handle)
    with mo.open("rb") as handle:
        compiled = GNUTranslations(handle)
    for message in catalog:
        if not message.id:
            continue  # the header
        if message.fuzzy or not _translated(message):
            return f"{po} has untranslated or fuzzy entries, such as {_first_id(message)!r}"
        if not _compiled(compiled, message):
            return f"{mo} was compiled from an older {po.name} (run 'make translations')"
    return None


def _first_id(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else str(message.id)


def _forms(message: Message) -> list[str]:
    """The translation, one string per plural form."""
    string = message.string
    return list(string) if isinstance(string, tuple | list) else [string or ""]


def _translated(message: Message) -> bool:
    return all(_forms(message))


def _compiled(compiled: GNUTranslations, message: Message) -> bool:
    """Whether the compiled catalog gives this entry's translation."""
    context = message.context
    if isinstance(message.id, tuple):
        forms = _forms(message)
        singular, plural = str(message.id[0]), str(message.id[1])
        if context:
            return compiled.npgettext(context, singular, plural, 1) in forms
        return compiled.ngettext(singular, plural, 1) in forms
    if context:
        return compiled.pgettext(context, str(message.id)) == message.string
    return compiled.gettext(str(message.id)) == message.string


def _version(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_mtime_ns, status.st_size
