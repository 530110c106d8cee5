"""The directory of people a phone's matters name (`PullResponse.people`): whoever moved, took
or made a step on a matter the device holds, by display name, and, for supervisors and admins,
whom a matter of each community they serve may be dispatched to (the console's own dispatch
list, `matter_board.community_targets`, so the phone and the console offer the same people).

Names, roles and units only: a phone learns nobody's phone number or ID number from it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.protocol import MatterPerson
from shared.schema import Role
from sync_server.models import GridNode, Matter, MatterStep, User
from sync_server.queries.matter_board import community_targets
from sync_server.services.matter_sync import COMMUNITY_LEVEL, matter_filter
from sync_server.services.scope import GridSet

_CASE_ROLES = (Role.SUPERVISOR.value, Role.ADMIN.value)


def matter_people(*, session: Session, user: User, grids: GridSet) -> list[MatterPerson]:
    """Everyone the device of `user` (scope `grids`) may name on its matters, by id."""
    reached = select(Matter.id).where(Matter.deleted.is_(False), matter_filter(grids.leaves))
    acted: set[str] = {user.id}
    for by, assignee in session.execute(
        select(Matter.state_by, Matter.assignee_user_id).where(Matter.id.in_(reached))
    ):
        acted |= {u for u in (by, assignee) if u}
    for author, target in session.execute(
        select(MatterStep.updated_by_user_id, MatterStep.user_id).where(
            MatterStep.matter_id.in_(reached), MatterStep.deleted.is_(False)
        )
    ):
        acted |= {u for u in (author, target) if u}
    serves: dict[str, list[str]] = {}
    if str(user.role) in _CASE_ROLES:
        communities = session.scalars(
            select(GridNode)
            .where(
                GridNode.deleted.is_(False),
                GridNode.level == COMMUNITY_LEVEL,
                *(() if user.role == Role.ADMIN else (GridNode.id.in_(sorted(grids.nodes)),)),
            )
            .order_by(GridNode.path)
        )
        for community in communities:
            _, people = community_targets(session=session, community=community, area=community)
            for person in people:
                serves.setdefault(person.id, []).append(community.id)
    ids = sorted(acted | set(serves))
    found: list[MatterPerson] = []
    for start in range(0, len(ids), 500):
        for person in session.scalars(select(User).where(User.id.in_(ids[start : start + 500]))):
            found.append(
                MatterPerson(
                    id=person.id,
                    name=person.display_name or person.username,
                    role=str(person.role),
                    org_id=person.org_id,
                    communities=serves.get(person.id, []),
                )
            )
    return sorted(found, key=lambda p: (p.name, p.id))
