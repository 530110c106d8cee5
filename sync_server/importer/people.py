"""Residents and their person-house bindings, upserted one chunk of roster rows at a time.

Residents are matched by ID number. An empty cell never erases what the database holds (workers
add phones and tags in the field that the office sheet may lack); a differing value updates the
resident and bumps its version. Moving is never an overwrite: the open binding to the old house is
closed (end date = the new start date, or today) and a new binding is opened, so history is kept.

Per chunk: one query for the chunk's residents, one for their open bindings, then bulk INSERTs
and bulk UPDATEs by primary key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from shared.errors import FieldError
from shared.schema import TAG_ZH, Relation, ResidenceStatus
from sync_server.db import insert_rows
from sync_server.importer.feed import ChangeSink
from sync_server.importer.report import ImportReport
from sync_server.importer.rows import Person
from sync_server.models import Binding, House, Resident, new_id

# SQLite allows 32,766 bound parameters per statement; stay well below for IN lists.
_IN_BATCH = 5_000


@dataclass(frozen=True)
class KnownResident:
    id: str
    name: str
    phone: str | None
    residence_status: str
    tags: tuple[str, ...]
    note: str
    version: int


@dataclass(frozen=True)
class OpenBinding:
    id: str
    house_id: str
    relation: str
    start_date: date
    version: int
    address: str
    grid_id: str


@dataclass
class Known:
    """What the database holds about one chunk's people."""

    residents: dict[str, KnownResident] = field(default_factory=dict)  # by ID number
    open_bindings: dict[str, list[OpenBinding]] = field(default_factory=dict)  # by resident id

    def bindings_of(self, id_number: str) -> list[OpenBinding]:
        resident = self.residents.get(id_number)
        return self.open_bindings.get(resident.id, []) if resident else []


def lookup(session: Session, id_numbers: list[str]) -> Known:
    known = Known()
    for start in range(0, len(id_numbers), _IN_BATCH):
        batch = id_numbers[start : start + _IN_BATCH]
        for r in session.execute(
            select(
                Resident.id,
                Resident.id_number,
                Resident.name,
                Resident.phone,
                Resident.residence_status,
                Resident.tags,
                Resident.note,
                Resident.version,
            ).where(Resident.id_number.in_(batch), Resident.deleted.is_(False))
        ):
            known.residents[r.id_number] = KnownResident(
                r.id,
                r.name,
                r.phone,
                r.residence_status,
                _canonical_tags(r.tags or []),
                r.note or "",
                r.version,
            )
    resident_ids = [r.id for r in known.residents.values()]
    for start in range(0, len(resident_ids), _IN_BATCH):
        batch = resident_ids[start : start + _IN_BATCH]
        for b in session.execute(
            select(
                Binding.id,
                Binding.resident_id,
                Binding.house_id,
                Binding.relation,
                Binding.start_date,
                Binding.version,
                House.address,
                House.grid_id,
            )
            .join(House, House.id == Binding.house_id)
            .where(
                Binding.resident_id.in_(batch),
                Binding.end_date.is_(None),
                Binding.deleted.is_(False),
            )
            .order_by(Binding.start_date)
        ):
            known.open_bindings.setdefault(b.resident_id, []).append(
                OpenBinding(
                    b.id, b.house_id, b.relation, b.start_date, b.version, b.address, b.grid_id
                )
            )
    return known


def stale_move(
    person: Person, current: list[OpenBinding], house_id: str | None
) -> FieldError | None:
    """Refuse a move into a house *before* the date the person moved into their current one.

    That row comes from a sheet older than what workers have since recorded in the field;
    applying it would move the person back to where they used to live.
    """
    if person.start_date is None or any(b.house_id == house_id for b in current):
        return None
    later = [b for b in current if b.start_date > person.start_date]
    if not later:
        return None
    newest = later[-1]
    return FieldError(
        "start_date",
        "stale_move",
        f"this person moved into {newest.address!r} on {newest.start_date.isoformat()}, after "
        f"this row's start date {person.start_date.isoformat()}; the sheet looks older than the "
        "system's data, so the move was not applied",
        {
            "value": person.start_date.isoformat(),
            "current_start": newest.start_date.isoformat(),
            "current_address": newest.address,
        },
    )


class PeopleWriter:
    """Collects one chunk's resident and binding changes and writes them in bulk."""

    def __init__(
        self,
        report: ImportReport,
        changes: ChangeSink,
        *,
        user_id: str | None,
        now: datetime,
        today: date,
    ) -> None:
        self._report = report
        self._changes = changes
        self._stamp = {
            "updated_at": now,
            "updated_by_user_id": user_id,
            "updated_by_device_id": None,
        }
        self._today = today
        self._new_residents: list[dict[str, Any]] = []
        self._changed_residents: list[dict[str, Any]] = []
        self._new_bindings: list[dict[str, Any]] = []
        self._changed_bindings: list[dict[str, Any]] = []

    def apply(self, person: Person, house_id: str, grid_id: str, known: Known) -> None:
        """Queue what one roster row means for its person: create, update and/or rebind."""
        resident = known.residents.get(person.id_number)
        if resident is None:
            resident_id = new_id()
            self._new_residents.append(
                {
                    "id": resident_id,
                    "name": person.name,
                    "id_number": person.id_number,
                    "sex": person.sex,
                    "birth_date": person.birth_date,
                    "phone": person.phone,
                    "residence_status": person.residence_status or ResidenceStatus.PERMANENT.value,
                    "tags": list(person.tags or ()),
                    "note": person.note or "",
                }
            )
            self._report.count("residents", "created")
            self._changes.add("resident", resident_id, [grid_id])
            self._open(resident_id, house_id, grid_id, person)
            return
        current = known.open_bindings.get(resident.id, [])
        changed = self._update_resident(resident, person)
        moved = self._rebind(resident.id, current, house_id, grid_id, person)
        if changed or moved:
            # Both the grids they left and the one they joined must hear of it.
            grids = {grid_id, *(b.grid_id for b in current)}
            self._changes.add("resident", resident.id, grids)

    def flush(self, session: Session) -> None:
        """Write the chunk: residents before bindings, so foreign keys hold at every statement."""
        fresh = {"version": 1, "deleted": False, **self._stamp}
        if self._new_residents:
            # Core INSERTs (COPY on PostgreSQL): the ORM's bulk path costs more than SQLite does
            # for these rows.
            table = cast(Table, Resident.__table__)
            insert_rows(session, table, [{**r, **fresh} for r in self._new_residents])
        if self._changed_residents:
            session.execute(update(Resident), self._changed_residents)
        if self._changed_bindings:
            session.execute(update(Binding), self._changed_bindings)
        if self._new_bindings:
            table = cast(Table, Binding.__table__)
            insert_rows(session, table, [{**b, **fresh} for b in self._new_bindings])
        for pending in (
            self._new_residents,
            self._changed_residents,
            self._new_bindings,
            self._changed_bindings,
        ):
            pending.clear()

    def _update_resident(self, resident: KnownResident, person: Person) -> bool:
        new = {
            "name": person.name,
            "phone": person.phone if person.phone is not None else resident.phone,
            "residence_status": person.residence_status or resident.residence_status,
            "tags": person.tags if person.tags is not None else resident.tags,
            "note": person.note if person.note is not None else resident.note,
        }
        old = {
            "name": resident.name,
            "phone": resident.phone,
            "residence_status": resident.residence_status,
            "tags": resident.tags,
            "note": resident.note,
        }
        if new == old:
            self._report.count("residents", "unchanged")
            return False
        self._changed_residents.append(
            {
                "id": resident.id,
                **new,
                "tags": list(new["tags"] or ()),
                "version": resident.version + 1,
                **self._stamp,
            }
        )
        self._report.count("residents", "updated")
        return True

    def _rebind(
        self,
        resident_id: str,
        current: list[OpenBinding],
        house_id: str,
        grid_id: str,
        person: Person,
    ) -> bool:
        """Bind the person to the row's house, closing bindings elsewhere; True if they moved."""
        here = [b for b in current if b.house_id == house_id]
        elsewhere = [b for b in current if b.house_id != house_id]
        move_day = person.start_date or self._today
        for old in elsewhere:
            # Never end a binding before it began, even when the sheet's date is off.
            self._change_binding(old, end_date=max(move_day, old.start_date))
            self._report.count("bindings", "closed")
        if not here:
            self._open(resident_id, house_id, grid_id, person)
            return True
        binding = here[0]
        relation = person.relation or binding.relation
        start = person.start_date or binding.start_date
        if (relation, start) == (binding.relation, binding.start_date):
            self._report.count("bindings", "unchanged")
            return bool(elsewhere)
        self._change_binding(binding, relation=relation, start_date=start)
        self._report.count("bindings", "updated")
        return bool(elsewhere)

    def _open(self, resident_id: str, house_id: str, grid_id: str, person: Person) -> None:
        binding_id = new_id()
        self._new_bindings.append(
            {
                "id": binding_id,
                "resident_id": resident_id,
                "house_id": house_id,
                "relation": person.relation or Relation.OTHER.value,
                "start_date": person.start_date or self._today,
                "end_date": None,
            }
        )
        self._report.count("bindings", "created")
        self._changes.add("binding", binding_id, [grid_id])

    def _change_binding(
        self,
        binding: OpenBinding,
        *,
        relation: str | None = None,
        start_date: date | None = None,
        end_date: date | None = None,
    ) -> None:
        # Every row of one bulk UPDATE carries the same columns, so SQLAlchemy runs it as a
        # single executemany instead of one statement per distinct column set.
        self._changes.add("binding", binding.id, [binding.grid_id])
        self._changed_bindings.append(
            {
                "id": binding.id,
                "relation": relation or binding.relation,
                "start_date": start_date or binding.start_date,
                "end_date": end_date,
                "version": binding.version + 1,
                **self._stamp,
            }
        )


def _canonical_tags(tags: list[str]) -> tuple[str, ...]:
    """Tags in schema order (unknown ones after), so a reordered list does not count as a change."""
    order = {tag: i for i, tag in enumerate(TAG_ZH)}
    return tuple(sorted(set(tags), key=lambda t: (order.get(t, len(order)), t)))
