"""Receipts: 20 decimal digits drawn uniformly, shown as five groups of four."""

from __future__ import annotations

import secrets
import unicodedata

from crypto.errors import ReceiptError

RECEIPT_DIGITS = 20


def generate_receipt() -> str:
    """20 digits from the operating system's cryptographic RNG (about 66 bits)."""
    return f"{secrets.randbelow(10**RECEIPT_DIGITS):0{RECEIPT_DIGITS}d}"


def normalise_receipt(text: str) -> str:
    """Keep the digits, of any script, as ASCII; refuse anything but exactly 20 of them.

    A phone set to Arabic or Persian types ٠١٢… or ۰۱۲…: those are digits too.
    """
    digits = "".join(str(unicodedata.decimal(ch)) for ch in text
                     if unicodedata.category(ch) == "Nd")
    if len(digits) != RECEIPT_DIGITS:
        raise ReceiptError("A receipt has exactly 20 digits.")
    return digits


def format_receipt(receipt: str) -> str:
    """``12345678901234567890`` as ``1234 5678 9012 3456 7890``."""
    digits = normalise_receipt(receipt)
    return " ".join(digits[i : i + 4] for i in range(0, RECEIPT_DIGITS, 4))
