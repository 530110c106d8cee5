"""Conflicts as an admin reads them: the record's name, who and which device, the grid, and for
a duplicate the existing resident and what the device meant to do with the new person.

`services.conflicts` lists and settles conflicts; this only adds the labels a person needs to
decide, looked up in bulk for a page of conflicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.protocol import ConflictView, Operation
from sync_server.models import Device, GridNode, User
from sync_server.queries.labels import record_labels


@dataclass(frozen=True)
class ConflictRow:
    view: ConflictView
    label: str
    user_name: str
    device_name: str
    grid: str
    resolver: str = ""


@dataclass(frozen=True)
class HeldOp:
    """An operation held back with a duplicate (the new person's binding, say)."""

    entity: str
    kind: str
    values: dict[str, Any]


@dataclass
class ConflictDetail:
    row: ConflictRow
    other_label: str = ""
    held: list[HeldOp] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)


def conflict_rows(*, session: Session, views: Sequence[ConflictView]) -> list[ConflictRow]:
    user_ids = {v.user_id for v in views} | {v.resolved_by for v in views if v.resolved_by}
    users = {
        u.id: u.display_name or u.username
        for u in session.scalars(select(User).where(User.id.in_(user_ids)))
    }
    devices = dict(
        session.execute(
            select(Device.id, Device.name).where(Device.id.in_({v.device_id for v in views}))
        ).all()
    )
    grids = {
        g.id: f"{g.name} {g.code}"
        for g in session.scalars(
            select(GridNode).where(GridNode.id.in_({v.grid_id for v in views if v.grid_id}))
        )
    }
    refs = {(v.entity, v.record_id) for v in views} | {
        (v.entity, v.other_record_id) for v in views if v.other_record_id
    }
    labels = record_labels(session=session, refs=refs)
    rows = []
    for v in views:
        label = labels.get((v.entity, v.record_id), "")
        if not label:
            # A held duplicate exists only in the conflict: name it by what the device sent.
            label = next((str(f.device) for f in v.fields if f.field == "name"), "")
        rows.append(
            ConflictRow(
                view=v,
                label=label or v.record_id[:8],
                user_name=users.get(v.user_id, v.user_id[:8]),
                device_name=devices.get(v.device_id) or v.device_id[:8],
                grid=grids.get(v.grid_id or "", ""),
                resolver=users.get(v.resolved_by or "", ""),
            )
        )
    return rows


def conflict_detail(
    *, session: Session, view: ConflictView, held_ops: Sequence[dict[str, Any]]
) -> ConflictDetail:
    [row] = conflict_rows(session=session, views=[view])
    detail = ConflictDetail(row=row)
    if view.other_record_id:
        labels = record_labels(session=session, refs=[(view.entity, view.other_record_id)])
        detail.other_label = labels.get((view.entity, view.other_record_id), "")
    refs: set[tuple[str, str]] = set()
    for raw in held_ops:
        op = Operation.model_validate(raw)
        if op.record_id == view.record_id:
            continue  # the new person themselves: their values are the conflict's fields
        values = {k: v.new for k, v in op.fields.items()}
        detail.held.append(HeldOp(entity=op.entity, kind=op.kind, values=values))
        if isinstance(values.get("house_id"), str):
            refs.add(("house", values["house_id"]))
    detail.refs = {
        rid: label for (_, rid), label in record_labels(session=session, refs=refs).items()
    }
    return detail
