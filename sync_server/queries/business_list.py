"""The console's business list: the live businesses of a grid subtree (or of a viewer's scope),
optionally of one type and status, a page at a time, with their grid and type for display."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync_server.models import Business, BusinessType, GridNode
from sync_server.services.scope import Scope


@dataclass(frozen=True)
class BusinessRow:
    business: Business
    grid: GridNode
    type_name: str
    type_name_en: str


def business_page(
    *,
    session: Session,
    scope: Scope,
    under: GridNode | None,
    type_id: str = "",
    status: str = "",
    limit: int,
    offset: int,
) -> list[BusinessRow]:
    """Businesses under `under` (else everywhere in `scope`), by grid code then name."""
    query = (
        select(Business, GridNode, BusinessType.name, BusinessType.name_en)
        .join(GridNode, GridNode.id == Business.grid_id)
        .join(BusinessType, BusinessType.id == Business.business_type_id)
        .where(Business.deleted.is_(False), scope.path_filter(GridNode.path))
    )
    if under is not None:
        query = query.where(GridNode.path.startswith(under.path, autoescape=True))
    if type_id:
        query = query.where(Business.business_type_id == type_id)
    if status:
        query = query.where(Business.status == status)
    query = query.order_by(GridNode.code, Business.name, Business.id).limit(limit).offset(offset)
    return [BusinessRow(b, g, name, name_en) for b, g, name, name_en in session.execute(query)]
