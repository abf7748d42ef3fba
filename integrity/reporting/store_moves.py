"""Moving sealed attachments from one store to another (``integrity migrate-attachments``):
the data folder's files into the database's rows on PostgreSQL, or back.

Each attachment is copied as it is read, never whole in memory, read back from the target
and compared (SHA-256) with what was read, and only then shredded where it was. Interrupted,
the move runs again from where it stopped: an attachment already in the target with the same
bytes is only shredded from the source; one in both places with different bytes is left in
both, and named.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from integrity.reporting.storage import READ_SIZE, AttachmentStore, digest


class MoveError(Exception):
    """An attachment did not read back as it was written; the message is one sentence."""


@dataclass
class Moves:
    moved: int = 0  # copied, checked, and shredded where they were
    already: int = 0  # in the target already: only shredded where they were
    differing: list[str] = field(default_factory=list)  # in both, not the same: left


def _hashed(source: BinaryIO, hashed: hashlib._Hash) -> Iterator[bytes]:
    for piece in iter(lambda: source.read(READ_SIZE), b""):
        hashed.update(piece)
        yield piece


def move_attachments(source: AttachmentStore, target: AttachmentStore) -> Moves:
    """Move every attachment of ``source`` into ``target``."""
    moves = Moves()
    for attachment_id in source.ids():
        if target.exists(attachment_id):
            if digest(target, attachment_id) == digest(source, attachment_id):
                source.shred(attachment_id)
                moves.already += 1
            else:
                moves.differing.append(attachment_id)
            continue
        read = hashlib.sha256()
        try:
            handle = source.open(attachment_id)
        except FileNotFoundError:
            continue  # shredded meanwhile (a purge): nothing to move
        with handle:
            target.write(attachment_id, _hashed(handle, read), sys.maxsize)
        if digest(target, attachment_id) != read.hexdigest():
            target.shred(attachment_id)
            raise MoveError(f"The attachment {attachment_id} did not read back as it was "
                            f"written; it was left where it was.")
        source.shred(attachment_id)
        moves.moved += 1
    return moves
