"""Accounts as a person signing in sees them: role, username and the grid each one works on.

`gridsweep demo` lists them from here every time it starts, so the logins it prints are the
ones the database holds, seeded by this run or by an earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from shared.schema import Role
from sync_server.models import GridNode, User, UserGrid

ROLE_ORDER = (Role.ADMIN, Role.SUPERVISOR, Role.WORKER, Role.HANDLER)


@dataclass(frozen=True)
class AccountRow:
    role: str
    username: str
    password_hash: str
    grid_code: str  # the first grid assigned (by code); "" for an account without one
    grid_name: str  # readable on its own: a level-5 grid is named with its community


@dataclass(frozen=True)
class AccountList:
    rows: list[AccountRow]
    more: int  # active accounts of these roles not listed


def active_accounts(*, session: Session, per_role: int) -> AccountList:
    """The first `per_role` active accounts of each role (admins, supervisors, workers, handlers), by
    username, and how many more there are."""
    rows: list[AccountRow] = []
    more = 0
    parent = aliased(GridNode)
    for role in ROLE_ORDER:
        total = session.scalar(
            select(func.count()).select_from(User).where(User.role == role, User.active)
        )
        users = session.execute(
            select(User.id, User.username, User.password_hash)
            .where(User.role == role, User.active)
            .order_by(User.username)
            .limit(per_role)
        ).all()
        more += (total or 0) - len(users)
        grids: dict[str, tuple[str, str]] = {}
        if users:
            for user_id, code, name, level, parent_name in session.execute(
                select(UserGrid.user_id, GridNode.code, GridNode.name, GridNode.level, parent.name)
                .join(GridNode, GridNode.id == UserGrid.grid_id)
                .outerjoin(parent, parent.id == GridNode.parent_id)
                .where(UserGrid.user_id.in_([u.id for u in users]))
                .order_by(GridNode.code)
            ):
                readable = f"{parent_name}{name}" if level == 5 and parent_name else name
                grids.setdefault(user_id, (code, readable))
        for user_id, username, password_hash in users:
            code, name = grids.get(user_id, ("", ""))
            rows.append(AccountRow(role.value, username, password_hash, code, name))
    return AccountList(rows, more)
