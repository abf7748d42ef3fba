"""Printable access-code slips: eight per A4 page, each with its QR code, as one PDF.

Drawn with matplotlib's PDF backend on plain Figure objects (no pyplot, so nothing global and
nothing that needs a display). The PDF is made in memory and handed to whoever prints it;
it is the only place the codes exist in clear, so it is not kept.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

import matplotlib
import numpy as np
import segno
from flask_babel import lazy_gettext as _l
from matplotlib.figure import Figure

from integrity import fonts
from surveys.codes import IssuedCode, format_code, survey_link

A4_INCHES = (8.27, 11.69)
COLUMNS, ROWS = 2, 4
SLIPS_PER_PAGE = COLUMNS * ROWS


def _qr_matrix(data: str) -> np.ndarray:
    """The QR code as an image (1 = white), with the quiet zone scanners need around it."""
    qr = segno.make(data, error="m")
    return np.array([[0.0 if bit else 1.0 for bit in row] for row in qr.matrix_iter(border=4)])


def _draw_slip(figure: Figure, position: int, slip: IssuedCode, title: str,
               public_url: str) -> None:
    page_w, page_h = A4_INCHES
    slip_w, slip_h = page_w / COLUMNS, page_h / ROWS
    left = (position % COLUMNS) * slip_w
    top = page_h - (position // COLUMNS) * slip_h

    def put(x: float, y_down: float, words: str, size: float, **style: object) -> None:
        """Text at inches from the slip's top-left corner."""
        figure.text((left + x) / page_w, (top - y_down) / page_h, words, fontsize=size,
                    va="top", **style)  # type: ignore[arg-type]

    # A dashed frame to cut along.
    frame = figure.add_axes((left / page_w, (top - slip_h) / page_h, slip_w / page_w,
                             slip_h / page_h))
    frame.set_xticks([])
    frame.set_yticks([])
    frame.patch.set_alpha(0)
    for spine in frame.spines.values():
        spine.set_linestyle((0, (4, 4)))
        spine.set_edgecolor("0.6")
    put(0.2, 0.18, "\n".join(textwrap.wrap(title, 44)[:2]), 9.5, fontweight="bold")
    put(0.2, 0.62, str(_l("Unit: %(unit)s", unit=slip.unit_name))[:40], 8)
    put(0.2, 0.95, str(_l("Your one-time access code")), 8)
    put(0.2, 1.13, format_code(slip.code), 14, family="monospace", fontweight="bold")
    put(0.2, 1.55, str(_l("Scan the QR code, or type the code at:")), 7.5)
    put(0.2, 1.72, survey_link(public_url), 7, family="monospace")
    put(0.2, 2.3, "\n".join(textwrap.wrap(str(_l(
        "The code can be used once. Your answers are stored without it, and nobody records "
        "who took which slip.")), 52)), 6.5, color="0.25", linespacing=1.4)
    size = 1.3
    qr_axes = figure.add_axes(((left + slip_w - size - 0.12) / page_w,
                               (top - 0.8 - size) / page_h, size / page_w, size / page_h))
    qr_axes.imshow(_qr_matrix(survey_link(public_url, slip.code)), cmap="gray",
                   interpolation="nearest", vmin=0, vmax=1)
    qr_axes.set_axis_off()


def slips_pdf(slips: Sequence[IssuedCode], title: str, public_url: str) -> bytes:
    """A PDF of one slip per code, eight to an A4 page, in the order given."""
    buffer = io.BytesIO()
    # No creation date or tool names in the file: nothing to tell when the codes were made.
    metadata = {"Title": title, "Creator": None, "Producer": None, "CreationDate": None}
    with fonts.DRAWING, matplotlib.rc_context(fonts.style()), \
            fonts.ReadingOrderPdfPages(buffer, metadata=metadata) as pdf:
        for start in range(0, len(slips), SLIPS_PER_PAGE):
            figure = Figure(figsize=A4_INCHES)
            for position, slip in enumerate(slips[start:start + SLIPS_PER_PAGE]):
                _draw_slip(figure, position, slip, title, public_url)
            pdf.savefig(figure)
    return buffer.getvalue()
