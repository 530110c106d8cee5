"""Which level-5 grids a record belongs to: the key of change rows and of every scope check.

Places carry their grid; a unit follows its building, a binding its house, and a resident the
houses of their open bindings (a person who moved belongs to the new grid) and, given the start
of the recently-moved window (`shared.moves`), of the bindings that ended within it: the grid a
person just left still receives them for that window.
A campaign belongs to the root node of its subtree; its completions and outcomes to their
resident's grids. A matter belongs to its grid, a step to its matter's (their other keys, for
handlers, are in services/matter_sync.py). A business belongs to its grid, a business check to
its business's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from sync_server.models import (
    Binding,
    Building,
    Business,
    BusinessCheck,
    BusinessType,
    Campaign,
    ChecklistItem,
    CompletionMark,
    GridNode,
    House,
    Matter,
    MatterCategory,
    MatterStep,
    Org,
    Outcome,
    Post,
    PostClaim,
    Resident,
    SyncedMixin,
    Unit,
    Visit,
)


def grids_of(
    *, session: Session, entity: str, row: SyncedMixin, since: date | None = None
) -> set[str]:
    """The grid ids a record belongs to now (empty for a resident bound nowhere); with `since`,
    a person's recent grids too."""
    if isinstance(row, GridNode):
        return {row.id}
    if isinstance(row, Building | House):
        return {row.grid_id}
    if isinstance(row, Unit):
        grid = session.scalar(select(Building.grid_id).where(Building.id == row.building_id))
        return {grid} if grid else set()
    if isinstance(row, Binding | Visit):
        grid = session.scalar(select(House.grid_id).where(House.id == row.house_id))
        return {grid} if grid else set()
    if isinstance(row, Resident):
        return resident_grids(session=session, resident_ids=[row.id], since=since).get(
            row.id, set()
        )
    if isinstance(row, Campaign):
        # The root of the campaign's subtree: every device whose scope meets the subtree has
        # that node among its grid nodes (its own, or an ancestor of its grids).
        return {row.grid_id}
    if isinstance(row, CompletionMark | Outcome):
        # A campaign fact about a person travels with the person.
        rid = row.resident_id
        return resident_grids(session=session, resident_ids=[rid], since=since).get(rid, set())
    if isinstance(row, Matter):
        return {row.grid_id}
    if isinstance(row, MatterStep):
        grid = session.scalar(select(Matter.grid_id).where(Matter.id == row.matter_id))
        return {grid} if grid else set()
    if isinstance(row, Org | MatterCategory):
        return set()  # every matter-storing device holds them (services/matter_sync.py)
    if isinstance(row, Business):
        return {row.grid_id}
    if isinstance(row, BusinessCheck):
        grid = session.scalar(select(Business.grid_id).where(Business.id == row.business_id))
        return {grid} if grid else set()
    if isinstance(row, BusinessType | ChecklistItem):
        return set()  # every business-storing device holds them (services/business_sync.py)
    if isinstance(row, Post | PostClaim):
        # Posts and claims travel under their community's and member's keys
        # (services/matter_sync.py).
        return set()
    raise ValueError(f"unknown entity {entity}")


def binding_held(since: date) -> ColumnElement[bool]:
    """A binding that ties its person to its house's grid (`shared.moves.binding_held`): open,
    or ended on or after `since`."""
    return or_(Binding.end_date.is_(None), Binding.end_date >= since)


def resident_grids(
    *, session: Session, resident_ids: Iterable[str], since: date | None = None
) -> dict[str, set[str]]:
    """Grids of each resident's open, live bindings, and with `since` (`shared.moves`) of
    those that ended on or after it."""
    held = Binding.end_date.is_(None) if since is None else binding_held(since)
    ids = list(resident_ids)
    out: dict[str, set[str]] = defaultdict(set)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(Binding.resident_id, House.grid_id)
            .join(House, House.id == Binding.house_id)
            .where(Binding.resident_id.in_(chunk), held, Binding.deleted.is_(False))
        ).all()
        for resident_id, grid_id in rows:
            out[resident_id].add(grid_id)
    return out
