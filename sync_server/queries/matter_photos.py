"""Whether a caller may see a photo: some matter or step in their scope names its sha256.

The photo pipeline (GET /api/v1/photos/{sha256}, and POST /api/v1/photos/thumbs for a batch)
asks this before it serves a blob. Photos are
named in the JSON list of a matter's or a step's `photos`; the scope is the one a pull would
send (services/matter_sync.py): a worker's or supervisor's grids, a handler's matter keys,
everything for an admin.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, String, cast, or_, select
from sqlalchemy.orm import Session

from shared.schema import Role
from sync_server.models import Matter, MatterStep
from sync_server.services.auth import Caller
from sync_server.services.matter_sync import handler_scope, matter_filter
from sync_server.services.scope import grid_set

_HEX = frozenset("0123456789abcdef")
_BATCH = 50  # names per query: 50 LIKEs keep each statement small on both databases


def photo_visible(*, session: Session, caller: Caller, sha256: str) -> bool:
    """True when a live matter the caller may see, or a step of one, names the photo."""
    return sha256 in photos_visible(session=session, caller=caller, names=[sha256])


def photos_visible(*, session: Session, caller: Caller, names: Iterable[str]) -> set[str]:
    """The photos among `names` that a live matter the caller may see, or a step of one, names.

    One query for matters and one for steps per `_BATCH` names (a phone asks for a pull page's
    thumbnails at once), each row's list checked again in Python: a LIKE only narrows."""
    wanted = sorted({n for n in names if len(n) == 64 and set(n) <= _HEX})
    if not wanted:
        return set()  # only a well-formed digest is ever named, and it goes into a LIKE
    user = caller.user
    visible: ColumnElement[bool]
    if user.role == Role.ADMIN:
        visible = Matter.deleted.is_(False)
    else:
        grids = grid_set(session=session, user=user)
        if user.role == Role.HANDLER:
            grids = handler_scope(session=session, user=user, grids=grids)
        visible = Matter.deleted.is_(False) & matter_filter(grids.leaves)
    found: set[str] = set()
    for start in range(0, len(wanted), _BATCH):
        batch = wanted[start : start + _BATCH]
        in_matter = or_(*(cast(Matter.photos, String).like(f'%"{n}"%') for n in batch))
        in_step = or_(*(cast(MatterStep.photos, String).like(f'%"{n}"%') for n in batch))
        lists = list(session.scalars(select(Matter.photos).where(visible, in_matter)))
        lists += session.scalars(
            select(MatterStep.photos).where(
                MatterStep.deleted.is_(False),
                in_step,
                MatterStep.matter_id.in_(select(Matter.id).where(visible)),
            )
        )
        for photos in lists:
            found.update(set(photos or ()) & set(batch))
    return found
