"""Queries and changes behind the administration pages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from integrity.models import User

PAGE_SIZE = 25


@dataclass(frozen=True)
class Page:
    items: list[User]
    page: int
    pages: int
    total: int


def list_users(session: Session, *, query: str = "", page: int = 1) -> Page:
    """Staff accounts by name, filtered by a search on name or e-mail, one page at a time."""
    condition = or_(User.name.ilike(f"%{query}%"), User.email.ilike(f"%{query}%"))
    total = session.scalar(select(func.count(User.id)).where(condition)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    items = session.scalars(
        select(User).where(condition).order_by(User.name).limit(PAGE_SIZE).offset(
            (page - 1) * PAGE_SIZE
        )
    )
    return Page(list(items), page, pages, total)
