"""The organisational units as the dashboard counts them: subtrees, headcounts, roll-ups."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.models import OrgUnit


@dataclass(frozen=True)
class UnitNode:
    id: int
    parent_id: int | None
    name: str
    headcount: int


class UnitTree:
    """The organisational units, for subtrees, headcounts and roll-ups."""

    def __init__(self, nodes: Iterable[UnitNode]) -> None:
        self.nodes = {node.id: node for node in nodes}
        self.children: dict[int | None, list[int]] = {}
        for node in sorted(self.nodes.values(), key=lambda n: n.name):
            parent = node.parent_id if node.parent_id in self.nodes else None
            self.children.setdefault(parent, []).append(node.id)

    @classmethod
    def load(cls, session: Session) -> UnitTree:
        rows = session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.name,
                                      OrgUnit.headcount))
        return cls(UnitNode(uid, parent, name, headcount or 0)
                   for uid, parent, name, headcount in rows)

    def subtree(self, org_unit_id: int) -> set[int]:
        found, todo = set(), [org_unit_id]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo.extend(self.children.get(current, []))
        return found

    def headcount(self, org_unit_id: int | None = None) -> int:
        """Staff of a unit and every unit under it; of the whole organisation for None."""
        ids = self.subtree(org_unit_id) if org_unit_id is not None else set(self.nodes)
        return sum(self.nodes[uid].headcount for uid in ids if uid in self.nodes)

    def ancestors(self, org_unit_id: int) -> list[int]:
        """The unit and every unit above it."""
        chain: list[int] = []
        current: int | None = org_unit_id
        while current is not None and current in self.nodes and current not in chain:
            chain.append(current)
            current = self.nodes[current].parent_id
        return chain

    def depth(self, org_unit_id: int) -> int:
        return len(self.ancestors(org_unit_id)) - 1

    def ordered(self, root: int | None = None) -> list[int]:
        """Units depth first, siblings by name."""
        result: list[int] = []
        for child in self.children.get(root, []):
            result.append(child)
            result.extend(self.ordered(child))
        return result
