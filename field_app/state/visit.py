"""Recording a visit (走访) to a house, or to one resident of it: an outcome and a note.

A visit is a record like any other (entity `visit` in shared.schema): created locally with its
outbox operation, it marks the house "visited today" at once and syncs with the rest.
"""

from __future__ import annotations

from field_app.i18n.messages import Msg
from field_app.state.base import Context, Screen, errors_by_field
from field_app.store import ValidationFailed
from shared.clock import format_timestamp
from shared.errors import FieldError
from shared.schema import VISIT_OUTCOME_ZH

OUTCOMES = tuple(VISIT_OUTCOME_ZH)


class VisitScreen(Screen):
    kind = "visit"

    def __init__(self, ctx: Context, house_id: str, resident_id: str | None = None) -> None:
        super().__init__(ctx)
        self.house_id = house_id
        self.resident_id = resident_id
        house = ctx.store.get("house", house_id)
        self.place = str((house.values.get("address") or house.values.get("room")) if house else "")
        resident = ctx.store.get("resident", resident_id) if resident_id else None
        self.person = str(resident.values.get("name") or "") if resident else ""
        self.outcome: str | None = None
        self.note = ""
        self.errors: dict[str, FieldError] = {}

    @property
    def outcomes(self) -> tuple[str, ...]:
        return OUTCOMES

    @property
    def unsaved(self) -> bool:
        return self.outcome is not None or bool(self.note.strip())

    def choose(self, outcome: str) -> None:
        self.outcome = outcome
        self.errors.pop("outcome", None)
        self.ctx.changed()

    def set_note(self, text: str) -> None:
        self.note = text
        self.ctx.changed()

    def save(self) -> bool:
        if self.outcome is None:
            self.errors["outcome"] = FieldError("outcome", "required", "Choose what you found.")
            self.ctx.changed()
            return False
        values = {
            "house_id": self.house_id,
            "resident_id": self.resident_id,
            "outcome": self.outcome,
            "note": self.note,
            # The instant, in UTC: the clock's now() is never a naive local time, so a phone set
            # to any zone records the same moment; "visited today" is its date in China time.
            "visited_at": format_timestamp(self.ctx.now()),
        }
        try:
            self.ctx.store.create("visit", values, user_id=self.ctx.user_id)
        except ValidationFailed as exc:
            self.errors = errors_by_field(exc.errors)
            self.ctx.changed()
            return False
        self.outcome, self.note = None, ""
        self.ctx.flash(Msg("flash.visit_saved"))
        self.ctx.back()
        return True
