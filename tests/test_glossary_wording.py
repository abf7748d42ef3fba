"""The glossary's words in every English text a person reads: reports and messages are sealed
(never "locked"), an inspector's key is protected with the passphrase and unlocked by it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.helpers.catalogs import ROOT, extract_command, read_catalog

# "lock", "locks", "locked", "locking", "re-lock": the word the glossary replaced by "seal"
# (reports, messages, files) or "protect" (a key). "unlock" stays: the passphrase unlocks a key.
LOCK = re.compile(r"(?<![\w-])(?:re-?)?lock(?:s|ed|ing)?\b", re.IGNORECASE)
# The English fallbacks a page script shows when the page gives no translation.
SCRIPT_STRING = re.compile(r'"((?:[^"\\\n]|\\.){12,})"')


def test_no_message_says_lock_where_the_glossary_says_seal_or_protect(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(extract_command(pot), cwd=ROOT, check=True, capture_output=True)
    found = [str(message.id) for message in read_catalog(pot) if message.id
             and LOCK.search(" ".join(message.id) if isinstance(message.id, tuple)
                             else message.id)]
    assert not found, found


def test_page_scripts_fall_back_to_the_glossary_words() -> None:
    found = [f"{path.name}: {text}" for path in sorted((ROOT / "static" / "js").glob("*.mjs"))
             for text in SCRIPT_STRING.findall(path.read_text(encoding="utf-8"))
             if " " in text and LOCK.search(text)]
    assert not found, found
