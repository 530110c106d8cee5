"""Creating and finding grid nodes, keeping each node's materialised path right."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.schema import GRID_LEVELS
from sync_server.errors import Invalid, NotFound
from sync_server.models import GridNode, new_id


def node_path(parent: GridNode | None, node_id: str) -> str:
    return (parent.path if parent else "/") + node_id + "/"


def create_grid_node(
    *,
    session: Session,
    code: str,
    name: str,
    level: int,
    parent: GridNode | None,
    node_id: str | None = None,
    user_id: str | None = None,
) -> GridNode:
    """Add a grid node under `parent`; a level-N node's parent must be of level N-1."""
    if level not in GRID_LEVELS:
        raise Invalid(f"grid level must be 1-5, got {level}", code="grid_level")
    if parent is None and level != 1:
        raise Invalid(
            f"a level-{level} grid needs a parent of level {level - 1}", code="grid_parent"
        )
    if parent is not None and parent.level != level - 1:
        raise Invalid(
            f"a level-{level} grid cannot sit under a level-{parent.level} grid", code="grid_parent"
        )
    node_id = node_id or new_id()
    node = GridNode(
        id=node_id,
        code=code,
        name=name,
        level=level,
        parent_id=parent.id if parent else None,
        path=node_path(parent, node_id),
        updated_by_user_id=user_id,
    )
    session.add(node)
    session.flush()
    return node


def get_node(*, session: Session, node_id: str) -> GridNode:
    node = session.get(GridNode, node_id)
    if node is None or node.deleted:
        raise NotFound(f"grid node {node_id} does not exist")
    return node


def get_node_by_code(*, session: Session, code: str) -> GridNode | None:
    return session.scalars(
        select(GridNode).where(GridNode.code == code, GridNode.deleted.is_(False))
    ).first()
