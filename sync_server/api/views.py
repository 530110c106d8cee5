"""Turning domain objects into wire models (the outer boundary where fields are chosen)."""

from __future__ import annotations

from shared.protocol import GridRef, GridTreeNode, UserInfo
from sync_server.models import User
from sync_server.queries.grid import TreeNode


def user_info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        grids=[
            GridRef(id=ug.grid.id, code=ug.grid.code, name=ug.grid.name, level=ug.grid.level)
            for ug in sorted(user.grids, key=lambda ug: ug.grid.code)
        ],
    )


def tree_node(node: TreeNode) -> GridTreeNode:
    return GridTreeNode(
        id=node.id,
        code=node.code,
        name=node.name,
        level=node.level,
        parent_id=node.parent_id,
        houses=node.houses,
        households=node.households,
        residents=node.residents,
        children=[tree_node(c) for c in node.children],
    )
