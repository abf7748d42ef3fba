"""The fonts every chart, report, poster and slip is drawn with, and their PDF text layer.

Noto Sans (Latin, Greek, Cyrillic) and Noto Sans Arabic ship in this folder under the SIL Open
Font License (OFL.txt); matplotlib's own DejaVu Sans stands behind them for any other sign.
matplotlib (3.11 or later) lays text out with libraqm: HarfBuzz joins the Arabic letters and
forms the ligatures, and the Unicode bidirectional algorithm puts right-to-left runs in order,
so nothing here reshapes or reorders text by hand.

The PDF text layer: matplotlib maps each glyph back to the whole cluster it came from, so a
letter and its vowel mark would each read as both, and the letters of a right-to-left ligature
(lam-alef) would come out backwards from text extractors, which turn a right-to-left line,
drawn from left to right, back into reading order. :class:`ReadingOrderPdfPages` maps a mark
glyph to the mark, a letter to the letter, and a right-to-left ligature to its letters in
drawing order, so that extracted or copied text reads in order.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont
from matplotlib import font_manager
from matplotlib.backends._backend_pdf_ps import CharacterTracker
from matplotlib.backends.backend_pdf import PdfPages

FOLDER = Path(__file__).parent
FILES = ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSansArabic-Regular.ttf",
         "NotoSansArabic-Bold.ttf")
FAMILY = ["Noto Sans", "Noto Sans Arabic", "DejaVu Sans"]  # tried in turn, glyph by glyph
MARK_CLASS = 3  # a mark glyph in the font's GDEF glyph classes
DRAWING = threading.Lock()  # held while drawing: matplotlib's settings are global

for _name in FILES:
    font_manager.fontManager.addfont(str(FOLDER / _name))


def style(**more: object) -> dict[Any, Any]:
    """matplotlib settings (for ``rc_context``) that draw text with the shipped fonts."""
    return {"font.family": FAMILY, "pdf.fonttype": 42, **more}


def _right_to_left(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


@functools.lru_cache(maxsize=16)
def _mark_glyphs(path: str) -> frozenset[int]:
    """The glyph indices the font classes as combining marks."""
    with TTFont(path, lazy=True) as font:
        if "GDEF" not in font or font["GDEF"].table.GlyphClassDef is None:
            return frozenset()
        classes = font["GDEF"].table.GlyphClassDef.classDefs
        return frozenset(font.getGlyphID(name) for name, kind in classes.items()
                         if kind == MARK_CLASS)


def glyph_text(path: str, cluster: str, glyph: int) -> str:
    """What one glyph of a right-to-left ``cluster`` stands for in the text layer."""
    marks = "".join(c for c in cluster if unicodedata.combining(c))
    letters = "".join(c for c in cluster if not unicodedata.combining(c))
    text = cluster
    if marks and letters:
        text = marks if glyph in _mark_glyphs(path) else letters
    return text[::-1]  # drawn from left to right: extractors turn the line around


class _ReadingOrderTracker(CharacterTracker):
    def track_glyph(self, font: Any, chars: Any, glyph: Any) -> tuple[int, Any]:
        if isinstance(chars, str) and len(chars) > 1 and _right_to_left(chars):
            chars = glyph_text(font.fname, chars, int(glyph))
        return super().track_glyph(font, chars, glyph)


class ReadingOrderPdfPages(PdfPages):
    """matplotlib's PdfPages, with a text layer that reads right-to-left text in order."""

    def _ensure_file(self) -> Any:
        fresh = self._file is None
        file = super()._ensure_file()
        if fresh:
            file._character_tracker = _ReadingOrderTracker(file._character_tracker.subset_size)
        return file
