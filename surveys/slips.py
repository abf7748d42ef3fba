"""Printable access-code slips: eight per A4 page, each with its QR code, as one PDF, in one
language (right-aligned, read right to left, in Arabic; codes and addresses stay left to right).

Drawn with matplotlib's PDF backend on plain Figure objects (no pyplot, so nothing global and
nothing that needs a display). The PDF is made in memory and handed to whoever prints it;
it is the only place the codes exist in clear, so it is not kept.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
import segno
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from matplotlib.figure import Figure

from integrity import fonts
from integrity.i18n import RTL_SCRIPTS
from surveys.codes import IssuedCode, format_code, survey_link

A4_INCHES = (8.27, 11.69)
COLUMNS, ROWS = 2, 4
SLIPS_PER_PAGE = COLUMNS * ROWS
ADDRESS_WIDTH = 2.4  # inches beside the QR code


def _qr_matrix(data: str) -> np.ndarray:
    """The QR code as an image (1 = white), with the quiet zone scanners need around it."""
    qr = segno.make(data, error="m")
    return np.array([[0.0 if bit else 1.0 for bit in row] for row in qr.matrix_iter(border=4)])


@dataclass(frozen=True)
class SlipText:
    """What every slip of one PDF shares: the survey's title, the site, the slips' language."""

    title: str
    public_url: str
    language: str

    @property
    def rtl(self) -> bool:
        return self.language.split("_")[0] in RTL_SCRIPTS


def _draw_slip(figure: Figure, position: int, slip: IssuedCode, text: SlipText) -> None:
    page_w, page_h = A4_INCHES
    slip_w, slip_h = page_w / COLUMNS, page_h / ROWS
    left = (position % COLUMNS) * slip_w
    top = page_h - (position // COLUMNS) * slip_h

    def put(x: float, y_down: float, words: str, size: float, **style: object) -> None:
        """Text at inches from the slip's top corner on the side lines start from (the right
        one in a right-to-left language); codes and addresses still read left to right."""
        across = left + slip_w - x if text.rtl else left + x
        figure.text(across / page_w, (top - y_down) / page_h, words, fontsize=size,
                    va="top", ha="right" if text.rtl else "left",
                    **style)  # type: ignore[arg-type]

    # A dashed frame to cut along.
    frame = figure.add_axes((left / page_w, (top - slip_h) / page_h, slip_w / page_w,
                             slip_h / page_h))
    frame.set_xticks([])
    frame.set_yticks([])
    frame.patch.set_alpha(0)
    for spine in frame.spines.values():
        spine.set_linestyle((0, (4, 4)))
        spine.set_edgecolor("0.6")
    put(0.2, 0.18, "\n".join(textwrap.wrap(text.title, 44)[:2]), 9.5, fontweight="bold")
    put(0.2, 0.62, str(_l("Unit: %(unit)s", unit=slip.org_unit_name))[:40], 8)
    put(0.2, 0.95, str(_l("Your one-time access code")), 8)
    put(0.2, 1.13, format_code(slip.code), 14, family="monospace", fontweight="bold")
    put(0.2, 1.55, str(_l("Scan the QR code, or type the code at:")), 7.5)
    address = survey_link(text.public_url, language=text.language)
    # Smaller for a long address, so that it stops short of the QR code (monospace: 0.6 em).
    put(0.2, 1.72, address, min(7.0, ADDRESS_WIDTH * 72 / (0.6 * len(address))),
        family="monospace")
    put(0.2, 2.3, "\n".join(textwrap.wrap(str(_l(
        "The code can be used once. Your answers are stored without it, and nobody records "
        "who took which slip.")), 52)), 6.5, color="0.25", linespacing=1.4)
    size = 1.3
    # The QR code sits at the end of the lines: on the left in a right-to-left language.
    qr_left = left + 0.12 if text.rtl else left + slip_w - size - 0.12
    qr_axes = figure.add_axes((qr_left / page_w, (top - 0.8 - size) / page_h, size / page_w,
                               size / page_h))
    qr_axes.imshow(_qr_matrix(survey_link(text.public_url, slip.code, text.language)),
                   cmap="gray", interpolation="nearest", vmin=0, vmax=1)
    qr_axes.set_axis_off()


def slips_pdf(slips: Sequence[IssuedCode], title: str, public_url: str,
              language: str) -> bytes:
    """A PDF of one slip per code, eight to an A4 page, in the order given, written in
    ``language``; the address and QR codes open the survey in that language."""
    text = SlipText(title, public_url, language)
    buffer = io.BytesIO()
    # No creation date or tool names in the file: nothing to tell when the codes were made.
    metadata = {"Title": title, "Creator": None, "Producer": None, "CreationDate": None}
    with force_locale(language), fonts.DRAWING, matplotlib.rc_context(fonts.style()), \
            fonts.ReadingOrderPdfPages(buffer, metadata=metadata) as pdf:
        for start in range(0, len(slips), SLIPS_PER_PAGE):
            figure = Figure(figsize=A4_INCHES)
            for position, slip in enumerate(slips[start:start + SLIPS_PER_PAGE]):
                _draw_slip(figure, position, slip, text)
            pdf.savefig(figure)
    return buffer.getvalue()
