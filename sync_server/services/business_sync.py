"""Business records in a pull: which business types, checklist items, businesses and checks a
device holds (docs/business-inspections.md).

- Only clients that store them receive any (`PullRequest.businesses`), as with campaigns and
  matters; others never see the four entities, in the bootstrap or in the changes.
- Business types and checklist items reach every such device (inactive ones too: a check made
  before an item was retired still names it); their change rows carry the key `*`.
- A business belongs to its level-5 grid, like a house; a check to its business's grid.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sync_server.models import Business, BusinessCheck, BusinessType, ChecklistItem, SyncedMixin
from sync_server.services.scope import GridSet

BUSINESS_ENTITIES = ("business_type", "checklist_item", "business", "business_check")


def boot_query(entity: str, boot: list[str]) -> Select[Any]:
    """The live records of `entity` a bootstrap of the grids `boot` sends."""
    if entity == "business_type":
        return select(BusinessType).where(BusinessType.deleted.is_(False))
    if entity == "checklist_item":
        return select(ChecklistItem).where(ChecklistItem.deleted.is_(False))
    if entity == "business":
        return select(Business).where(Business.deleted.is_(False), Business.grid_id.in_(boot))
    in_grids = select(Business.id).where(Business.grid_id.in_(boot))
    return select(BusinessCheck).where(
        BusinessCheck.deleted.is_(False), BusinessCheck.business_id.in_(in_grids)
    )


def in_scope(
    session: Session, grids: GridSet, rows: dict[tuple[str, str], SyncedMixin]
) -> set[tuple[str, str]]:
    """The business records among `rows` the scope holds (other entities are ignored)."""
    inside: set[tuple[str, str]] = set()
    checks: dict[tuple[str, str], str] = {}
    for key, row in rows.items():
        if isinstance(row, BusinessType | ChecklistItem):
            inside.add(key)
        elif isinstance(row, Business):
            if row.grid_id in grids.leaves:
                inside.add(key)
        elif isinstance(row, BusinessCheck):
            checks[key] = row.business_id
    if checks:
        grid_of = dict(
            session.execute(
                select(Business.id, Business.grid_id).where(
                    Business.id.in_(sorted(set(checks.values())))
                )
            ).all()
        )
        inside.update(key for key, bid in checks.items() if grid_of.get(bid) in grids.leaves)
    return inside
