"""Text of another direction inside a sentence: names, addresses and links that people typed,
kept whole in a right-to-left page (and a left-to-right one)."""

from __future__ import annotations

from markupsafe import Markup


def isolate(value: object, direction: str = "auto") -> Markup:
    """``value`` in a <bdi>, so the sentence around it keeps its order; ``direction`` is
    'auto' (from the text itself) or 'ltr' for what always reads left to right (an address)."""
    if direction == "ltr":
        return Markup('<bdi dir="ltr">{}</bdi>').format(value)
    return Markup("<bdi>{}</bdi>").format(value)
