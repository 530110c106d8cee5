"""Which records, and which pushed operations, lie inside a scope: the console's one scope filter.

A record belongs to the grids of its places: places carry their grid, a unit follows its building,
a binding its house, and a resident every house they were ever bound to. "Ever", not "now": a
supervisor reviews a move-out and reads the history of a person who has left their subtree, so
residents stay visible through their closed bindings (unlike sync, which sends current holdings).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import Session

from sync_server.models import Binding, Building, GridNode, House, OperationLog, Unit
from sync_server.services.scope import Scope

SCOPED_ENTITIES = ("grid_node", "building", "unit", "house", "resident", "binding")


def scoped_ids(entity: str, scope: Scope) -> Select[Any] | None:
    """A SELECT of the ids of `entity` records inside `scope`; None for an unknown entity."""
    in_scope = scope.path_filter(GridNode.path)
    if entity == "grid_node":
        return select(GridNode.id).where(in_scope)
    if entity == "building":
        return select(Building.id).join(GridNode, GridNode.id == Building.grid_id).where(in_scope)
    if entity == "house":
        return select(House.id).join(GridNode, GridNode.id == House.grid_id).where(in_scope)
    if entity == "unit":
        return (
            select(Unit.id)
            .join(Building, Building.id == Unit.building_id)
            .join(GridNode, GridNode.id == Building.grid_id)
            .where(in_scope)
        )
    if entity in ("binding", "resident"):
        column = Binding.id if entity == "binding" else Binding.resident_id
        return (
            select(column)
            .join(House, House.id == Binding.house_id)
            .join(GridNode, GridNode.id == House.grid_id)
            .where(in_scope)
        )
    return None


def ops_in_scope(scope: Scope) -> ColumnElement[bool]:
    """A WHERE clause keeping operations whose record lies inside `scope`."""
    if scope.everything:
        return true()
    clauses = []
    for entity in SCOPED_ENTITIES:
        ids = scoped_ids(entity, scope)
        assert ids is not None
        clauses.append(and_(OperationLog.entity == entity, OperationLog.record_id.in_(ids)))
    return or_(*clauses) if clauses else false()


def record_in_scope(*, session: Session, scope: Scope, entity: str, record_id: str) -> bool:
    if scope.everything:
        return True
    ids = scoped_ids(entity, scope)
    if ids is None:
        return False
    inner = ids.subquery()
    column = next(iter(inner.c))
    return session.scalar(select(column).where(column == record_id).limit(1)) is not None
