"""Moving a resident: out of their house, or to another house — never by rewriting who lived
where. The open binding is closed on the moving day (`end_date`) and, for a move, a new binding
opens on the same day; both edits and their outbox operations are one local transaction.
"""

from __future__ import annotations

from typing import Literal

from field_app.i18n.messages import Msg
from field_app.state.base import Context, Screen, errors_by_field
from field_app.state.forms import RELATIONS, parse_day
from field_app.store import Record, RecordNotFound, ValidationFailed
from shared.errors import FieldError

Mode = Literal["out", "to"]


class MoveScreen(Screen):
    kind = "move"

    def __init__(self, ctx: Context, resident_id: str) -> None:
        super().__init__(ctx)
        self.resident_id = resident_id
        resident = ctx.store.get("resident", resident_id)
        if resident is None or resident.deleted:
            raise RecordNotFound("resident", resident_id)
        self.resident = resident
        self.current = ctx.store.open_bindings_of(resident_id, on=ctx.today())
        self.mode: Mode = "out"
        self.day = ctx.today().isoformat()
        self.relation = (
            str(self.current[0].values.get("relation") or "member") if self.current else "member"
        )
        self.query = ""
        self.houses: list[Record] = []
        self.target: Record | None = None
        self.errors: dict[str, FieldError] = {}
        self._saved = False

    @property
    def unsaved(self) -> bool:
        if self._saved:
            return False
        return (self.mode, self.day, self.target) != ("out", self.ctx.today().isoformat(), None)

    @property
    def title(self) -> Msg:
        return Msg.of("screen.move", name=self.resident.values.get("name") or "")

    @property
    def relations(self) -> tuple[str, ...]:
        return RELATIONS

    def set_mode(self, mode: Mode) -> None:
        self.mode = mode
        self.errors.clear()
        self.ctx.changed()

    def set_day(self, text: str) -> None:
        self.day = text
        self.errors.pop("date", None)
        if parse_day(text) is None:
            self.errors["date"] = FieldError(
                "date", "date_format", f"{text!r} is not a date", {"value": text}
            )
        self.ctx.changed()

    def set_relation(self, relation: str) -> None:
        self.relation = relation
        self.ctx.changed()

    def search(self, text: str) -> None:
        """Houses on this device whose address or room matches (the worker's own grids)."""
        self.query = text
        current = {b.values.get("house_id") for b in self.current}
        self.houses = [h for h in self.ctx.store.find_houses(text) if h.id not in current]
        self.ctx.changed()

    def choose(self, house_id: str) -> None:
        self.target = next((h for h in self.houses if h.id == house_id), self.target)
        self.errors.pop("house_id", None)
        self.ctx.changed()

    def save(self) -> bool:
        day = parse_day(self.day)
        if day is None:
            self.set_day(self.day)
            return False
        for binding in self.current:
            start = binding.values.get("start_date")
            if start and day.isoformat() < start:
                self.errors["date"] = FieldError(
                    "end_date", "date_order", "The moving day is before they moved in.", {}
                )
        if self.mode == "to" and self.target is None:
            self.errors["house_id"] = FieldError("house_id", "required", "Choose the new house.")
        if self.errors:
            self.ctx.changed()
            return False
        store, user = self.ctx.store, self.ctx.user_id
        try:
            with store.transaction():
                for binding in self.current:
                    store.update("binding", binding.id, {"end_date": day.isoformat()}, user_id=user)
                if self.mode == "to" and self.target is not None:
                    store.create(
                        "binding",
                        {
                            "resident_id": self.resident_id,
                            "house_id": self.target.id,
                            "relation": self.relation,
                            "start_date": day.isoformat(),
                        },
                        user_id=user,
                    )
                else:
                    store.update(
                        "resident",
                        self.resident_id,
                        {"residence_status": "moved_out"},
                        user_id=user,
                    )
        except ValidationFailed as exc:
            self.errors = errors_by_field(exc.errors)
            # The binding's dates are the one date this screen asks for.
            for name in ("end_date", "start_date"):
                if name in self.errors:
                    self.errors.setdefault("date", self.errors.pop(name))
            self.ctx.changed()
            return False
        self._saved = True
        self.ctx.flash(Msg("flash.moved_out" if self.mode == "out" else "flash.moved"))
        self.ctx.back()
        return True
