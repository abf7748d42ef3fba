"""Whether a new staff passphrase is too easy to guess (docs/inspector-keys.md).

The server checks the passphrases it is given (the forms without JavaScript, a first
passphrase it printed); for the split in the browser, ``static/js/passphrase-strength.mjs``
applies the same rules on the device. Both are tested against
``tests/vectors/passphrase-strength.json``.
"""

from __future__ import annotations

import re
import unicodedata

MIN_PASSPHRASE_LENGTH = 12

# The most common passwords and keyboard patterns, lower case (same list as the browser's).
COMMON = (
    "password", "passphrase", "passwort", "motdepasse", "contrasena", "contraseña", "parola",
    "sifre", "şifre", "пароль", "qwerty", "qwertz", "azerty", "qwertyuiop", "azertyuiop",
    "asdfghjkl", "zxcvbnm", "qazwsx", "1q2w3e4r", "1qaz2wsx", "zaq12wsx", "letmein", "welcome",
    "iloveyou", "admin", "administrator", "changeme", "secret", "monkey", "dragon", "football",
    "baseball", "sunshine", "princess", "trustno1", "master", "login", "default", "integrity",
    "abc123", "123abc", "qwerty123", "password1", "superman", "starwars", "whatever", "freedom",
)

_SEPARATORS = re.compile(r"[\s\-_.,;:!?'\"`*#@/\\|+=~^&%$()\[\]{}<>]")
_EDGE_DIGITS = re.compile(r"^[0-9]+|[0-9]+$")


def _core(passphrase: str) -> str:
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", passphrase).lower())


def _is_repetition(text: str) -> bool:
    return any(len(text) % size == 0 and text[:size] * (len(text) // size) == text
               for size in range(1, len(text) // 2 + 1))


def _step(a: int, b: int) -> int:
    if 48 <= a <= 57 and 48 <= b <= 57:
        return 1 if (b - a) % 10 == 1 else (-1 if (a - b) % 10 == 1 else 0)
    return 1 if b - a == 1 else (-1 if a - b == 1 else 0)


def _is_sequence(text: str) -> bool:
    points = [ord(c) for c in text]
    if len(points) < 3:
        return False
    first = _step(points[0], points[1])
    return first != 0 and all(_step(a, b) == first for a, b in zip(points[1:], points[2:],
                                                                     strict=False))


def _is_pattern(text: str) -> bool:
    return (text == "" or len(set(text)) <= 2 or _is_repetition(text) or _is_sequence(text)
            or text in COMMON)


def is_weak_passphrase(passphrase: str) -> bool:
    """True for a passphrase shorter than the minimum, common, or a simple pattern."""
    if len(unicodedata.normalize("NFKC", passphrase)) < MIN_PASSPHRASE_LENGTH:
        return True
    text = _core(passphrase)
    if _is_pattern(text):
        return True
    # A common word or a pattern with digits before or after it: "password1234", "1234qwerty".
    base = _EDGE_DIGITS.sub("", text)
    return base != text and (_is_pattern(base) or len(base) < 4)
