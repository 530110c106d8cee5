"""Whether a caller may see a photo: some matter or step in their scope names its sha256.

The photo pipeline (GET /api/v1/photos/{sha256}) asks this before it serves a blob. Photos are
named in the JSON list of a matter's or a step's `photos`; the scope is the one a pull would
send (services/matter_sync.py): a worker's or supervisor's grids, a handler's matter keys,
everything for an admin.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, String, cast, exists, select
from sqlalchemy.orm import Session

from shared.schema import Role
from sync_server.models import Matter, MatterStep
from sync_server.services.auth import Caller
from sync_server.services.matter_sync import handler_scope, matter_filter
from sync_server.services.scope import grid_set

_HEX = frozenset("0123456789abcdef")


def photo_visible(*, session: Session, caller: Caller, sha256: str) -> bool:
    """True when a live matter the caller may see, or a step of one, names the photo."""
    if len(sha256) != 64 or not set(sha256) <= _HEX:
        return False  # only a well-formed digest is ever named, and it goes into a LIKE
    named = f'%"{sha256}"%'
    user = caller.user
    visible: ColumnElement[bool]
    if user.role == Role.ADMIN:
        visible = Matter.deleted.is_(False)
    else:
        grids = grid_set(session=session, user=user)
        if user.role == Role.HANDLER:
            grids = handler_scope(session=session, user=user, grids=grids)
        visible = Matter.deleted.is_(False) & matter_filter(grids.leaves)
    in_matter = exists().where(visible, cast(Matter.photos, String).like(named))
    in_step = exists().where(
        MatterStep.deleted.is_(False),
        cast(MatterStep.photos, String).like(named),
        MatterStep.matter_id.in_(select(Matter.id).where(visible)),
    )
    return bool(session.scalar(select(in_matter | in_step)))
