"""How a notice about the worker's own change reads: whose record, what they typed, and what
the record holds now (`field_app.store.notices`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from field_app.store import Store
from field_app.store.notices import Notice


@dataclass(frozen=True)
class Told:
    """One notice, ready to show: a line per field (typed value, value now)."""

    notice: Notice
    name: str  # whose record (a person's name, or an address)
    fields: list[tuple[str, Any, Any]]  # (field, what the worker typed, what it holds now)
    deleted_now: bool | None = None  # a delete's conflict: whether the record is gone now

    @property
    def took_yours(self) -> bool:
        """Whether what the worker typed is what the record holds now."""
        if self.deleted_now is not None:
            return self.deleted_now
        return all(typed == now for _, typed, now in self.fields)


def told(store: Store, notice: Notice) -> Told:
    record = store.get(notice.entity, notice.record_id)
    values = record.values if record is not None and not record.deleted else {}
    person = store.get("resident", notice.resident_id) if notice.resident_id else None
    name = str(person.values.get("name") or "") if person is not None else ""
    if not name and record is not None:
        name = str(record.values.get("name") or record.values.get("address") or "")
    if "_deleted" in notice.typed:
        return Told(notice, name, [], deleted_now=record is None or record.deleted)
    fields = [(n, typed, values.get(n)) for n, typed in notice.typed.items()]
    return Told(notice, name, fields)


def told_all(store: Store, resident_id: str | None = None) -> list[Told]:
    """Every unread notice (of one person, when given)."""
    return [
        told(store, n)
        for n in store.notices()
        if resident_id is None or n.resident_id == resident_id
    ]
