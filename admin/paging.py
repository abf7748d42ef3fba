"""One page of a list: every list of the administration is paginated and searchable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PAGE_SIZE = 25
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int
    total: int


def paginate(session: Session, query: Select[Any], page: int,
             per_page: int = PAGE_SIZE) -> Page[Any]:
    """The ``page``-th page of ``query`` (clamped to the pages there are)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, pages, total)


def slice_page(items: list[T], page: int, per_page: int = PAGE_SIZE) -> Page[T]:
    """A page of a list already in memory (a tree flattened in order, for instance)."""
    pages = max(1, -(-len(items) // per_page))
    page = min(max(1, page), pages)
    return Page(items[(page - 1) * per_page: page * per_page], page, pages, len(items))


def contains(column: Any, text: str) -> Any:
    """A case-insensitive "contains" that treats % and _ in the search as plain characters."""
    return column.icontains(text, autoescape=True)
