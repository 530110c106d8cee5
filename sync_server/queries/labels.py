"""Short human labels for records ("张三", "西大街12号1号楼1单元0201室"), looked up in bulk.

Screens that list changes name records by id; a person reads names and addresses. One query per
entity for a whole page keeps a list of fifty changes at a handful of queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync_server.models import Binding, Building, GridNode, House, Resident, Unit

Ref = tuple[str, str]  # (entity, record id)


def building_label(building: Building) -> str:
    parts = [building.road, building.lane, building.number, building.name]
    return "".join(p for p in parts if p) or building.id[:8]


def house_label(house: House) -> str:
    return house.address or house.room or house.id[:8]


def record_labels(*, session: Session, refs: Iterable[Ref]) -> dict[Ref, str]:
    """Labels of the records that exist; unknown records are simply missing from the result."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for entity, record_id in refs:
        wanted[entity].add(record_id)
    labels: dict[Ref, str] = {}
    # A binding is named by its person and house, so look those up too.
    bindings: dict[str, tuple[str, str]] = {}
    if wanted.get("binding"):
        for row in session.execute(
            select(Binding.id, Binding.resident_id, Binding.house_id).where(
                Binding.id.in_(wanted["binding"])
            )
        ):
            bindings[row.id] = (row.resident_id, row.house_id)
            wanted["resident"].add(row.resident_id)
            wanted["house"].add(row.house_id)
    if wanted.get("resident"):
        for rid, name in session.execute(
            select(Resident.id, Resident.name).where(Resident.id.in_(wanted["resident"]))
        ):
            labels[("resident", rid)] = name
    if wanted.get("house"):
        for house in session.scalars(select(House).where(House.id.in_(wanted["house"]))):
            labels[("house", house.id)] = house_label(house)
    if wanted.get("building"):
        for building in session.scalars(
            select(Building).where(Building.id.in_(wanted["building"]))
        ):
            labels[("building", building.id)] = building_label(building)
    if wanted.get("unit"):
        for unit, building in session.execute(
            select(Unit, Building)
            .join(Building, Building.id == Unit.building_id)
            .where(Unit.id.in_(wanted["unit"]))
        ).all():
            labels[("unit", unit.id)] = f"{building_label(building)} {unit.name}"
    if wanted.get("grid_node"):
        for node in session.scalars(select(GridNode).where(GridNode.id.in_(wanted["grid_node"]))):
            labels[("grid_node", node.id)] = f"{node.name} {node.code}"
    for binding_id, (resident_id, house_id) in bindings.items():
        person = labels.get(("resident", resident_id), resident_id[:8])
        place = labels.get(("house", house_id), house_id[:8])
        labels[("binding", binding_id)] = f"{person} · {place}"
    return labels
