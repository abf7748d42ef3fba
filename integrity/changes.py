"""What staff forms share: a change committed or refused in one sentence, errors flashed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import flash
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import Field


@dataclass
class Change:
    """What became of the change made in a ``commit_unless`` block."""

    refusal: str | None = None

    @property
    def stored(self) -> bool:
        """True when the change was committed."""
        return self.refusal is None


@contextmanager
def commit_unless(session: Session, refused: type[Exception] | tuple[type[Exception], ...],
                  field: Field | None = None) -> Iterator[Change]:
    """Commit what the block changes, unless it raises ``refused``: then roll back instead.

    The refusal's sentence goes to ``field``'s errors when a field is given, else it is
    flashed as an error; the block stops there and the view goes on, checking ``stored``.
    """
    change = Change()
    try:
        yield change
    except refused as exc:
        session.rollback()
        change.refusal = str(exc)
        if field is None:
            flash(change.refusal, "error")
        else:
            field.errors = [*field.errors, change.refusal]
    else:
        session.commit()


def flash_form_errors(form: FlaskForm) -> None:
    """Flash each error of ``form`` as one sentence, after the label of its field."""
    for field in form:
        for error in field.errors:
            flash(f"{field.label.text}: {error}", "error")
