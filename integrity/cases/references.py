"""Case references: a short random name for a case, easy to read aloud ("K7QX-2M4P").

Eight characters from an alphabet without the ones people confuse when reading or hearing them
(0/O, 1/I/L, U/V): 29⁸ ≈ 5 × 10¹¹ references. They are drawn at random, never counted,
so a reference says nothing about when a case was filed nor how many were.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
LENGTH = 8
_FORM = re.compile(rf"^[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")


def new_reference() -> str:
    """A fresh random reference, ``XXXX-XXXX`` (uniqueness is the database's to enforce)."""
    letters = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{letters[:4]}-{letters[4:]}"


def normalise_reference(text: str) -> str | None:
    """A reference as typed or heard (any case, with spaces or without its hyphen) in its
    stored form; None if it cannot be one (O, I and L are not in the alphabet)."""
    letters = re.sub(r"[\s\-]", "", text or "").upper()
    candidate = f"{letters[:4]}-{letters[4:]}"
    return candidate if _FORM.match(candidate) else None
