"""Small-cell suppression of per-unit survey results: no Flask, no database.

A *group* is a set of sibling cells whose responses add up to a published total: the
top-level units add up to the wave total, the children of a unit add up to that unit's own
count. Responses of a unit that none of its children holds (people attached directly to a
directorate, say) form the group's *remainder*, which is never published on its own. To have
the wave figure checked as well, or when some responses belong to no listed unit, list the
wave itself as the one top-level unit and make it the parent of the others.

Rules, applied to every group until nothing changes (docs/surveys-statistics.md):

1. primary: a cell with fewer than k responses is withheld;
2. complementary: whatever can be worked out as "total minus published cells" (the withheld
   cells and the remainder pooled) must hold no responses or at least k responses, and must
   never be a single withheld cell: otherwise the smallest published cell is withheld too;
3. a withheld unit must not be recoverable as the sum of its children: if all of them are
   published and it has no remainder, its smallest child is withheld too;
4. when every child is withheld and the group is still exposed, the parent is withheld.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ItemKind(StrEnum):
    """What a figure is, which decides its threshold."""

    INDEX = "index"
    DISTRIBUTION = "distribution"
    SENSITIVE = "sensitive"


class Reason(StrEnum):
    """Why a cell is withheld."""

    TOO_FEW = "too_few"  # primary: fewer than k responses
    COMPLEMENTARY = "complementary"  # withheld so that another cell cannot be worked out


@dataclass(frozen=True)
class Thresholds:
    """Minimum responses k behind a published figure, per kind of item."""

    index: int = 10
    distribution: int = 10
    sensitive: int = 20  # randomized-response items: fewer answers make the noise thin

    def __post_init__(self) -> None:
        if min(self.index, self.distribution, self.sensitive) < 1:
            raise ValueError("thresholds must be at least 1")

    def k(self, kind: ItemKind) -> int:
        """The threshold for `kind`."""
        return {
            ItemKind.INDEX: self.index,
            ItemKind.DISTRIBUTION: self.distribution,
            ItemKind.SENSITIVE: self.sensitive,
        }[kind]


@dataclass(frozen=True)
class Cell(Generic[V]):
    """A published cell: value and n are None when the cell is withheld, with the reason."""

    value: V | None
    n: int | None
    withheld: Reason | None = None


@dataclass(frozen=True)
class _Group(Generic[K]):
    members: list[K]
    remainder: int
    owner: K | None  # the unit whose count is the group's total; None for the top level


def _groups(counts: Mapping[K, int], parent: Mapping[K, K]) -> list[_Group[K]]:
    """Sibling groups with their remainders, after checking that the counts add up."""
    if any(n < 0 for n in counts.values()):
        raise ValueError("counts must not be negative")
    if any(child not in counts or up not in counts for child, up in parent.items()):
        raise ValueError("every unit in `parent` needs a count")
    _check_acyclic(parent)
    children: dict[K | None, list[K]] = {}
    for unit in counts:
        children.setdefault(parent.get(unit), []).append(unit)
    groups = []
    for owner, members in children.items():
        remainder = 0 if owner is None else counts[owner] - sum(counts[m] for m in members)
        if remainder < 0:
            raise ValueError(f"the units under {owner!r} hold more responses than it does")
        groups.append(_Group(members, remainder, owner))
    return groups


def _check_acyclic(parent: Mapping[K, K]) -> None:
    for start in parent:
        seen, unit = {start}, start
        while unit in parent:
            unit = parent[unit]
            if unit in seen:
                raise ValueError("`parent` contains a cycle")
            seen.add(unit)


def _exposed(group: _Group[K], counts: Mapping[K, int], hidden: Mapping[K, Reason], k: int) -> bool:
    """Whether "total minus published cells" would give away something in this group."""
    if group.owner is None and len(group.members) == 1:
        return False  # a lone top-level unit is its own total
    withheld = [counts[m] for m in group.members if m in hidden and counts[m] > 0]
    pooled = sum(withheld) + group.remainder
    if pooled == 0:
        # A withheld unit would equal the sum of its published children.
        return group.owner is not None and group.owner in hidden
    return pooled < k or len(withheld) == 1


def suppressed(
    counts: Mapping[K, int],
    *,
    kind: ItemKind = ItemKind.INDEX,
    thresholds: Thresholds = Thresholds(),
    parent: Mapping[K, K] | None = None,
    withheld: Mapping[K, Reason] | None = None,
) -> dict[K, Reason]:
    """The cells to withhold, each with its reason.

    `counts` maps every unit to its number of responses; `parent` maps a unit to the unit it
    belongs to, whose count is the total of its children; units without a parent add up to
    the wave total. `withheld` holds cells already withheld for another reason (a figure of a
    row withheld as a whole), which the rules take as withheld. Ties between equally small
    cells go to the one listed first in `counts`.
    """
    k = thresholds.k(kind)
    groups = _groups(counts, parent or {})
    hidden: dict[K, Reason] = {unit: Reason.TOO_FEW for unit, n in counts.items() if n < k}
    hidden.update(withheld or {})
    changed = True
    while changed:
        changed = False
        for group in groups:
            while _exposed(group, counts, hidden, k):
                published = [m for m in group.members if m not in hidden]
                if published:
                    hidden[min(published, key=lambda m: counts[m])] = Reason.COMPLEMENTARY
                elif group.owner is not None and group.owner not in hidden:
                    hidden[group.owner] = Reason.COMPLEMENTARY
                else:
                    break  # nothing left to withhold in this group
                changed = True
    return hidden


def publish(
    values: Mapping[K, V],
    counts: Mapping[K, int],
    *,
    kind: ItemKind = ItemKind.INDEX,
    thresholds: Thresholds = Thresholds(),
    parent: Mapping[K, K] | None = None,
) -> dict[K, Cell[V]]:
    """The per-unit table `values` with withheld cells' value and n replaced by None.

    Suppression is decided on all of `counts` (see :func:`suppressed`); `values` may hold any
    subset of its units.
    """
    if any(unit not in counts for unit in values):
        raise ValueError("every unit in `values` needs a count")
    hidden = suppressed(counts, kind=kind, thresholds=thresholds, parent=parent)
    return {
        unit: Cell(None, None, hidden[unit]) if unit in hidden else Cell(value, counts[unit])
        for unit, value in values.items()
    }
