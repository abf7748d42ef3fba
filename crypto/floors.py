"""The lowest costs a protocol 2 client accepts from a server (docs/protocol.md#floors).

A server that hands out a cheaper Argon2id cost makes receipts easier to guess; a smaller
padding block shows more of a report's length. A protocol 2 client checks the installation
parameters against these floors, built into it, before it derives or seals anything.
"""

from __future__ import annotations

from crypto.errors import ShapeError

MIN_OPSLIMIT = 3
MIN_MEMLIMIT = 64 * 1024 * 1024  # 67,108,864 bytes
MIN_PAD_BLOCK = 1024


def check_floors(opslimit: object, memlimit: object, pad_block: object) -> None:
    """``ShapeError`` with one sentence unless every parameter is at or above its floor."""
    for value, floor, sentence in (
        (opslimit, MIN_OPSLIMIT,
         "The server asks for an Argon2id cost below 3 passes, which this client refuses."),
        (memlimit, MIN_MEMLIMIT,
         "The server asks for less than 64 MiB of Argon2id memory, which this client refuses."),
        (pad_block, MIN_PAD_BLOCK,
         "The server asks for a padding block below 1024 bytes, which this client refuses."),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < floor:
            raise ShapeError(sentence)
