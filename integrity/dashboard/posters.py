"""Awareness posters: A4 or A3, PDF or PNG, with a QR code to the reporting page.

Ready to print and hang at a border crossing point: a headline, the address as a QR code and
in words (and the onion address for Tor Browser when there is one), what stays anonymous, and
the receipt in one line. The caller renders it in the poster's language (force_locale).
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from urllib.parse import urlencode

import matplotlib
import numpy as np
import segno
from flask_babel import gettext as _
from matplotlib.figure import Figure

from integrity import fonts
from integrity.dashboard.charts import drawing_lock
from integrity.i18n import LANGUAGE_ARG

PAPER = {"A4": (8.27, 11.69), "A3": (11.69, 16.54)}
PNG_PIXELS_WIDE = 1240  # 150 dpi on A4: sharp on screen, and enough for a QR code scanner
INK = "#1b1f24"
ACCENT = "#0b5394"


@dataclass(frozen=True)
class Poster:
    channel_name: str
    address: str
    onion_address: str | None
    size: str = "A4"
    rtl: bool = False
    # The pinned organisation key's fingerprint, for staff to compare with the installation's.
    org_key_fingerprint: str | None = None
    # The channel's page "Other ways to report, and your rights" (Directive 2019/1937 asks
    # that reporters can find it easily).
    rights_address: str | None = None


def reporting_address(base_url: str, slug: str, language: str, page: str = "") -> str:
    """The channel's reporting page under ``base_url`` (or its ``page``, such as "rights"),
    opening in the poster's ``language`` (the reporter is not signed in, so the address is
    what carries the language)."""
    path = f"/report/{slug}" + (f"/{page}" if page else "")
    return f"{base_url.rstrip('/')}{path}?{urlencode({LANGUAGE_ARG: language})}"


def _qr(axes: object, data: str) -> None:
    qr = segno.make(data, error="m")
    matrix = np.array([[0.0 if bit else 1.0 for bit in row]
                       for row in qr.matrix_iter(border=4)])
    axes.imshow(matrix, cmap="gray", interpolation="nearest", vmin=0,  # type: ignore[attr-defined]
                vmax=1)
    axes.set_axis_off()  # type: ignore[attr-defined]


def _draw(poster: Poster) -> Figure:
    width, height = PAPER[poster.size]
    figure = Figure(figsize=(width, height))
    scale = width / PAPER["A4"][0]
    x, ha = (0.92, "right") if poster.rtl else (0.08, "left")

    def put(y: float, text: str, size: float, wrap: int, **style: object) -> float:
        lines = textwrap.wrap(text, wrap) or [""]
        figure.text(x, y, "\n".join(lines), fontsize=size * scale, va="top", ha=ha,
                    linespacing=1.25, color=style.pop("color", INK), **style)  # type: ignore[arg-type]
        return y - len(lines) * size * scale * 1.25 / 72 / height - 0.012

    band = figure.add_axes((0, 0.86, 1, 0.14))
    band.set_axis_off()
    band.add_patch(matplotlib.patches.Rectangle((0, 0), 1, 1, color=ACCENT))
    figure.text(x, 0.955, _("Seen corruption at the border?"), fontsize=30 * scale,
                fontweight="bold", color="white", va="top", ha=ha)
    figure.text(x, 0.905, _("Report it safely and anonymously."), fontsize=20 * scale,
                color="white", va="top", ha=ha)
    y = put(0.84, poster.channel_name, 16, 50, fontweight="bold")
    size = 0.42
    qr_axes = figure.add_axes(((1 - size) / 2, y - size * width / height, size, size * width
                               / height))
    _qr(qr_axes, poster.address)
    y -= size * width / height + 0.01
    figure.text(0.5, y, _("Scan the code or open:"), fontsize=12 * scale, ha="center", va="top",
                color=INK)
    figure.text(0.5, y - 0.022, poster.address, fontsize=14 * scale, ha="center", va="top",
                family="monospace", fontweight="bold", color=INK)
    y -= 0.06
    if poster.onion_address:
        small = 0.14
        onion_axes = figure.add_axes((0.08 if not poster.rtl else 0.92 - small,
                                      y - small * width / height, small, small * width / height))
        _qr(onion_axes, poster.onion_address)
        text_x = 0.08 + small + 0.02 if not poster.rtl else 0.92 - small - 0.02
        figure.text(text_x, y - 0.01, _("With Tor Browser:"), fontsize=11 * scale, va="top",
                    ha="left" if not poster.rtl else "right", color=INK)
        figure.text(text_x, y - 0.032, "\n".join(textwrap.wrap(poster.onion_address, 34)),
                    fontsize=9 * scale, va="top", family="monospace",
                    ha="left" if not poster.rtl else "right", color=INK)
        y -= small * width / height + 0.02
    y = put(y, _("What stays anonymous"), 15, 50, fontweight="bold", color=ACCENT)
    for line in (
        _("You never give your name. No account, no phone number, no network address is "
          "asked for or kept."),
        _("Your report is sealed on your phone before it leaves it: only the inspectors who "
          "handle it can read it, not your managers, not the administrators."),
    ):
        y = put(y, "• " + line, 12, 62)
    y = put(y - 0.01, _("You get a receipt number: with it you read the inspectors' questions "
                        "and answer them, still without giving your name."), 12, 62,
            fontweight="bold")
    if poster.rights_address:
        y = put(y - 0.005, _("Other ways to report, and your rights:"), 11, 70)
        figure.text(x, y + 0.004, poster.rights_address, fontsize=9 * scale, va="top", ha=ha,
                    family="monospace", color=INK)
    if poster.org_key_fingerprint:
        figure.text(0.5, 0.03, _("Organisation key: %(fingerprint)s",
                                 fingerprint=poster.org_key_fingerprint),
                    fontsize=9 * scale, ha="center", va="bottom", family="monospace",
                    color=INK)
    return figure


def poster_pdf(poster: Poster) -> bytes:
    buffer = io.BytesIO()
    metadata = {"Title": _("Report corruption safely"), "Creator": None, "Producer": None,
                "CreationDate": None}
    with drawing_lock(), matplotlib.rc_context(fonts.style()), \
            fonts.ReadingOrderPdfPages(buffer, metadata=metadata) as pdf:
        pdf.savefig(_draw(poster))
    return buffer.getvalue()


def poster_png(poster: Poster) -> bytes:
    buffer = io.BytesIO()
    width = PAPER[poster.size][0]
    with drawing_lock(), matplotlib.rc_context(fonts.style()):
        _draw(poster).savefig(buffer, format="png", dpi=PNG_PIXELS_WIDE / width,
                              metadata={"Software": None})
    return buffer.getvalue()
