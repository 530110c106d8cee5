"""Organisations and matter categories as admins manage them on the server.

Each write records its change rows under the key every matter-storing device reads (`*`,
services/matter_sync.py); the caller's transaction commits.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.matters import ORG_KIND_ZH, zh_kind
from sync_server.errors import Conflict, Invalid
from sync_server.models import GridNode, MatterCategory, Org
from sync_server.services.changes import ChangeSet, commit_changes
from sync_server.services.matter_sync import COMMUNITY_LEVEL, EVERYONE


def create_org(*, session: Session, name: str, kind: str, grid: GridNode | None) -> Org:
    """Add an organisation serving the community `grid` (a level-4 node), or none in particular."""
    name = name.strip()
    if not name:
        raise Invalid("an organisation needs a name", field="name")
    value = zh_kind(kind)
    if value is None:
        raise Invalid(f"kind must be one of {', '.join(ORG_KIND_ZH)}; got {kind!r}", field="kind")
    if grid is not None and grid.level != COMMUNITY_LEVEL:
        raise Invalid("an organisation serves a community (a level-4 grid node)", field="grid")
    if session.scalar(select(Org.id).where(Org.name == name, Org.deleted.is_(False))):
        raise Conflict(f"organisation {name!r} already exists", code="org_exists")
    org = Org(name=name, kind=value, grid_id=grid.id if grid is not None else None)
    session.add(org)
    session.flush()
    _changed(session, "org", org.id)
    return org


def org_by_name(*, session: Session, name: str) -> Org | None:
    return session.scalar(select(Org).where(Org.name == name.strip(), Org.deleted.is_(False)))


def create_category(
    *, session: Session, name: str, time_limit_hours: int, base_points: int, bonus_points: int
) -> MatterCategory:
    category = MatterCategory(
        name=name.strip(),
        time_limit_hours=time_limit_hours,
        base_points=base_points,
        bonus_points=bonus_points,
        active=1,
    )
    session.add(category)
    session.flush()
    _changed(session, "matter_category", category.id)
    return category


def _changed(session: Session, entity: str, record_id: str) -> None:
    changes = ChangeSet()
    changes.add(entity, record_id, {EVERYONE})
    commit_changes(session=session, changes=changes)
