"""Which grid nodes a user may see: admins everything, others the subtrees they are assigned."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from shared.schema import LEAF_LEVEL, Role
from sync_server.errors import Forbidden
from sync_server.models import GridNode, User, subtree_bounds


@dataclass(frozen=True)
class Scope:
    """The roots of the subtrees a user may read; `everything` for admins."""

    everything: bool
    root_paths: tuple[str, ...]

    def covers_path(self, path: str) -> bool:
        return self.everything or any(path.startswith(root) for root in self.root_paths)

    def path_filter(self, column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        """A WHERE clause keeping rows whose grid path lies within the scope."""
        if self.everything:
            return true()
        if not self.root_paths:
            return false()
        clauses = []
        for root in self.root_paths:
            low, high = subtree_bounds(root)
            clauses.append((column >= low) & (column < high))
        return or_(*clauses)


def scope_of(user: User) -> Scope:
    if user.role == Role.ADMIN:
        return Scope(everything=True, root_paths=())
    paths = sorted({ug.grid.path for ug in user.grids if not ug.grid.deleted})
    # A root nested inside another root adds nothing.
    roots = tuple(p for p in paths if not any(p != q and p.startswith(q) for q in paths))
    return Scope(everything=False, root_paths=roots)


def require_node_in_scope(user: User, node: GridNode) -> None:
    # The message names no grid: asked for by id, the answer must not tell what the id is.
    if not scope_of(user).covers_path(node.path):
        raise Forbidden("this grid is outside your assigned grids", code="out_of_scope")


@dataclass(frozen=True)
class GridSet:
    """A user's scope as ids: level-5 grids they may hold, and the grid nodes they may see."""

    leaves: frozenset[str]
    nodes: frozenset[str]
    # A handler's scope (services/matter_sync.py): `leaves` holds their matter keys, and of
    # `nodes` only the grid nodes themselves travel.
    handler: bool = False


def grid_set(*, session: Session, user: User) -> GridSet:
    scope = scope_of(user)
    rows = session.execute(
        select(GridNode.id, GridNode.level, GridNode.path).where(
            GridNode.deleted.is_(False), scope.path_filter(GridNode.path)
        )
    ).all()
    leaves = frozenset(r.id for r in rows if r.level == LEAF_LEVEL)
    nodes = {r.id for r in rows}
    # Ancestors of the assigned roots travel too, so the app can show where a grid sits.
    for root in scope.root_paths:
        nodes.update(p for p in root.strip("/").split("/") if p)
    return GridSet(leaves=leaves, nodes=frozenset(nodes))
