"""Channels as the database holds them now."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.models import Channel


def channel_row(db: Session, slug: str) -> Channel:
    """The channel ``slug`` read afresh (what a page or the API just changed is seen)."""
    db.expire_all()
    row = db.scalar(select(Channel).where(Channel.slug == slug))
    assert row is not None
    return row
