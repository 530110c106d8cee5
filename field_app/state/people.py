"""What a worker needs to tell two people apart at a glance: sex and age, read from the ID
number (never shown itself), and a number to call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.validation import IdNumberInfo, parse_id_number


@dataclass(frozen=True)
class Brief:
    """A person as a list row shows them."""

    resident_id: str
    name: str
    phone: str
    sex: str | None  # "M" or "F", from the ID number
    age: int | None

    @property
    def dial(self) -> str | None:
        """A `tel:` address for the phone, or None when there is no number to call."""
        digits = "".join(c for c in self.phone if c.isdigit() or c in "+-")
        return f"tel:{digits}" if digits else None


def brief(resident_id: str, name: str, phone: str, id_number: str, day: date) -> Brief:
    info = parse_id_number(id_number, today=None) if id_number else None
    if isinstance(info, IdNumberInfo):
        return Brief(resident_id, name, phone, info.sex, info.age_on(day))
    return Brief(resident_id, name, phone, None, None)
