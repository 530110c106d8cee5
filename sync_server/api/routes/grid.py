"""The grid tree within the caller's scope, with counts at every level."""

from __future__ import annotations

from fastapi import APIRouter

from shared.protocol import GridTree, GridTreeNode
from sync_server.api.deps import CallerDep, SessionDep
from sync_server.api.responses import SIGNED_IN, problems
from sync_server.api.views import tree_node
from sync_server.queries.grid import grid_tree
from sync_server.services.grid import get_node
from sync_server.services.scope import require_node_in_scope, scope_of

router = APIRouter(prefix="/grid", tags=["grid"])


@router.get("/tree", response_model=GridTree, responses=problems(SIGNED_IN))
def tree(caller: CallerDep, session: SessionDep) -> GridTree:
    """Every grid node the caller may see, as a forest, with household and resident counts."""
    roots = grid_tree(session=session, scope=scope_of(caller.user))
    return GridTree(roots=[tree_node(r) for r in roots])


@router.get(
    "/nodes/{node_id}", response_model=GridTreeNode, responses=problems(SIGNED_IN, 404, 422)
)
def node(node_id: str, caller: CallerDep, session: SessionDep) -> GridTreeNode:
    """One grid node and its subtree; 403 when it lies outside the caller's grids."""
    found = get_node(session=session, node_id=node_id)
    require_node_in_scope(caller.user, found)
    roots = grid_tree(session=session, scope=scope_of(caller.user), root_id=found.id)
    return tree_node(roots[0])
