"""Creating users and assigning them grid nodes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.schema import LEAF_LEVEL, Role
from sync_server.errors import Conflict, Invalid
from sync_server.models import GridNode, Org, User, UserGrid
from sync_server.security import hash_password


def create_user(
    *,
    session: Session,
    username: str,
    password: str | None = None,
    role: Role | str,
    display_name: str = "",
    grids: list[GridNode] | None = None,
    password_hash: str | None = None,
    org: Org | None = None,
) -> User:
    """Add a user; pass `password_hash` instead of `password` to reuse a hash computed once.
    A handler belongs to an organisation (`org`) and, unless given grids, serves its community."""
    role = Role(role)
    username = username.strip()
    if not username:
        raise Invalid("username must not be empty", code="invalid", field="username")
    if password_hash is None:
        if not password or len(password) < 8:
            raise Invalid("password must have at least 8 characters", field="password")
        password_hash = hash_password(password)
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user {username!r} already exists", code="user_exists")
    grids = grids or []
    if role is Role.HANDLER:
        if org is None:
            raise Invalid("a handler belongs to an organisation (--org)", field="org")
        # They serve their organisation's community, and any other community given.
        if org.grid_id is not None and org.grid_id not in {g.id for g in grids}:
            grids = [*grids, session.get_one(GridNode, org.grid_id)]
    elif org is not None:
        raise Invalid("only a handler belongs to an organisation", field="org")
    if role is Role.WORKER and any(g.level != LEAF_LEVEL for g in grids):
        raise Invalid("a worker can only be assigned level-5 grids", field="grids")
    user = User(
        username=username,
        display_name=display_name,
        role=role.value,
        password_hash=password_hash,
        org_id=org.id if org is not None else None,
    )
    user.grids = [UserGrid(grid_id=g.id) for g in grids]
    session.add(user)
    session.flush()
    return user


def assign_grids(*, session: Session, user: User, grids: list[GridNode]) -> None:
    """Replace a user's grid assignment; their devices re-scope at their next pull."""
    if user.role == Role.WORKER and any(g.level != LEAF_LEVEL for g in grids):
        raise Invalid("a worker can only be assigned level-5 grids", field="grids")
    user.grids = [UserGrid(grid_id=g.id) for g in grids]
    session.flush()
