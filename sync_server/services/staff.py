"""Administering staff: activating and deactivating accounts, and handing level-5 grids over.

Account creation and the assignment itself live in `services.users` (create_user, assign_grids);
this module holds the admin-facing operations built on them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.schema import LEAF_LEVEL, Role
from sync_server.errors import Forbidden, Invalid, NotFound
from sync_server.models import AuthToken, GridNode, User, UserGrid
from sync_server.services import audit
from sync_server.services.grid import get_node_by_code
from sync_server.services.users import assign_grids


def require_admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise Forbidden("only an administrator can do this", code="admin_only")


def get_user(*, session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def set_active(
    *,
    session: Session,
    actor: User,
    user_id: str,
    active: bool,
    now: datetime,
    via: str,
    ip: str = "",
    device_id: str | None = None,
) -> User:
    """Deactivating signs the user out everywhere: every token of theirs is revoked. Audited."""
    require_admin(actor)
    user = get_user(session=session, user_id=user_id)
    if user.id == actor.id and not active:
        raise Invalid("you cannot deactivate your own account", code="self_deactivate")
    user.active = active
    if not active:
        _revoke_tokens(session, user, now)
    action = audit.Action.USER_ACTIVATED if active else audit.Action.USER_DEACTIVATED
    _audit_account(session, action, actor, user, via=via, ip=ip, device_id=device_id)
    session.flush()
    return user


def sign_out_everywhere(
    *,
    session: Session,
    actor: User,
    user_id: str,
    now: datetime,
    via: str,
    ip: str = "",
    device_id: str | None = None,
) -> int:
    """End every sign-in of the user (the app's tokens and console sessions) without disabling
    the account: after a lost phone or a shared password, before a new one is set. Admins, for
    any account (`sign_out_own` for one's own); audited. Returns how many sign-ins ended."""
    require_admin(actor)
    return _end_sign_ins(
        session, actor, get_user(session=session, user_id=user_id), via, ip, device_id, now
    )


def sign_out_own(
    *, session: Session, actor: User, now: datetime, via: str, ip: str = "", device_id: str | None
) -> int:
    """End every sign-in of the actor's own account, the one in use included."""
    return _end_sign_ins(session, actor, actor, via, ip, device_id, now)


def _end_sign_ins(
    session: Session,
    actor: User,
    user: User,
    via: str,
    ip: str,
    device_id: str | None,
    now: datetime,
) -> int:
    count = _revoke_tokens(session, user, now)
    action = audit.Action.USER_SIGNED_OUT
    _audit_account(session, action, actor, user, via=via, ip=ip, device_id=device_id, ended=count)
    session.flush()
    return count


def _revoke_tokens(session: Session, user: User, now: datetime) -> int:
    """Revoke every live token of the user (the app's and the console's); how many."""
    ended = session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(ended.rowcount or 0)  # type: ignore[attr-defined]


def _audit_account(
    session: Session,
    action: str,
    actor: User,
    user: User,
    *,
    via: str,
    ip: str,
    device_id: str | None,
    **detail: Any,
) -> None:
    audit.record(
        session,
        action,
        user=actor,
        device_id=device_id,
        ip=ip,
        entity="user",
        record_id=user.id,
        of=user.username,
        via=via,
        **detail,
    )


def grids_by_code(*, session: Session, codes: str | list[str]) -> list[GridNode]:
    """Grid nodes named by codes (a list, or text separated by spaces, commas or new lines)."""
    if isinstance(codes, str):
        codes = [c for c in re.split(r"[\s,，;；]+", codes) if c]
    nodes: list[GridNode] = []
    unknown: list[str] = []
    for code in dict.fromkeys(codes):  # keep the order, drop repeats
        node = get_node_by_code(session=session, code=code)
        if node is None:
            unknown.append(code)
        else:
            nodes.append(node)
    if unknown:
        raise Invalid(
            f"no grid has the code {', '.join(unknown)}", code="unknown_grid", field="grids"
        )
    return nodes


def give_grid(*, session: Session, actor: User, grid: GridNode, to_user: User) -> list[User]:
    """Make `to_user` the worker of a level-5 grid; returns the workers who held it before.

    Their devices drop the grid and the new worker's devices bootstrap it at their next pull.
    """
    require_admin(actor)
    if grid.level != LEAF_LEVEL:
        raise Invalid("only a level-5 grid is handed to a worker", code="grid_level")
    if to_user.role != Role.WORKER or not to_user.active:
        raise Invalid("a grid is handed to an active worker", code="not_a_worker")
    holders = session.scalars(
        select(User)
        .join(UserGrid, UserGrid.user_id == User.id)
        .where(UserGrid.grid_id == grid.id, User.role == Role.WORKER, User.id != to_user.id)
    ).all()
    for holder in holders:
        assign_grids(
            session=session,
            user=holder,
            grids=[ug.grid for ug in holder.grids if ug.grid_id != grid.id],
        )
    if all(ug.grid_id != grid.id for ug in to_user.grids):
        assign_grids(
            session=session, user=to_user, grids=[*(ug.grid for ug in to_user.grids), grid]
        )
    return list(holders)
