"""Finding a grid node or house for a viewer: outside their subtree it simply does not exist.

A supervisor who guesses the id of a node in another community gets the same 404 as for an id
that was never issued, so the console never confirms what lies outside a viewer's scope.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sync_server.console.deps import Viewer
from sync_server.errors import NotFound
from sync_server.models import GridNode
from sync_server.queries.places import HouseDetail, house_detail


def node_for(*, session: Session, viewer: Viewer, node_id: str) -> GridNode:
    node = session.get(GridNode, node_id)
    if node is None or node.deleted or not viewer.scope.covers_path(node.path):
        raise NotFound(f"grid node {node_id} does not exist")
    return node


def house_for(*, session: Session, viewer: Viewer, house_id: str) -> HouseDetail:
    detail = house_detail(session=session, house_id=house_id)
    if detail is None or not viewer.scope.covers_path(detail.grid.path):
        raise NotFound(f"house {house_id} does not exist")
    return detail
