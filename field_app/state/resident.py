"""One resident: who they are (ID masked unless opened), where they live, special-group tags,
and any change of theirs the server answered with a conflict or a rejection — which stays on the
record until an admin settles it (conflict) or the worker has read it (rejection).
"""

from __future__ import annotations

from dataclasses import dataclass

from field_app.i18n.messages import Msg
from field_app.state.base import Context, Screen
from field_app.state.told import Told, told_all
from field_app.store import OutboxProblem, Record, RecordNotFound, ValidationFailed
from shared.protocol import ReviewNote
from shared.validation import mask_id_number


@dataclass(frozen=True)
class Home:
    """A house the resident is bound to today."""

    binding: Record
    house: Record | None

    @property
    def address(self) -> str:
        if self.house is None:
            return ""
        return str(self.house.values.get("address") or self.house.values.get("room") or "")


class ResidentScreen(Screen):
    kind = "resident"

    def __init__(self, ctx: Context, resident_id: str) -> None:
        super().__init__(ctx)
        self.resident_id = resident_id
        self.resident: Record | None = None
        self.homes: list[Home] = []
        self.problems: list[OutboxProblem] = []
        self.notes: list[ReviewNote] = []  # this person's changes a supervisor sent back
        self.told: list[Told] = []  # what became of this person's edits (outranked, settled)
        self.id_revealed = False
        self.refresh()

    @property
    def title(self) -> Msg:
        name = self.resident.values.get("name") if self.resident else ""
        return Msg.of("screen.resident", name=name or "")

    @property
    def gone(self) -> bool:
        """The record left the device (deleted, or moved out of the worker's grids)."""
        return self.resident is None or self.resident.deleted

    @property
    def shown_id(self) -> str:
        number = str(self.resident.values.get("id_number") or "") if self.resident else ""
        return number if self.id_revealed else mask_id_number(number)

    @property
    def tags(self) -> list[str]:
        return list(self.resident.values.get("tags") or []) if self.resident else []

    def refresh(self) -> None:
        store, day = self.ctx.store, self.ctx.today()
        self.resident = store.get("resident", self.resident_id)
        self.homes = [
            Home(b, store.get("house", b.values["house_id"]))
            for b in store.open_bindings_of(self.resident_id, on=day)
        ]
        self.problems = self._problems()
        self.notes = [n for n in store.review_notes() if n.resident_id == self.resident_id]
        self.told = told_all(store, self.resident_id)

    def dismiss_told(self, op_id: str) -> None:
        self.ctx.store.dismiss_notice(op_id)
        self.refresh()
        self.ctx.changed()

    def dismiss_note(self, op_id: str) -> None:
        """The worker has read a sent-back note."""
        self.ctx.store.dismiss_review_note(op_id)
        self.refresh()
        self.ctx.changed()

    def _problems(self) -> list[OutboxProblem]:
        """Problems of the resident's own record and of their bindings and visits."""
        found = []
        for problem in self.ctx.store.problems():
            op = problem.op
            if op.entity == "resident":
                mine = op.record_id == self.resident_id
            elif op.entity in ("binding", "visit"):
                about = op.fields.get("resident_id")
                record = self.ctx.store.get(op.entity, op.record_id)
                mine = (about is not None and about.new == self.resident_id) or (
                    record is not None and record.values.get("resident_id") == self.resident_id
                )
            else:
                mine = False
            if mine:
                found.append(problem)
        return found

    # --- actions -------------------------------------------------------------------------------

    def toggle_id(self) -> None:
        self.id_revealed = not self.id_revealed
        self.ctx.changed()

    def toggle_tag(self, tag: str) -> None:
        """Set or clear a special-group tag: saved at once, as its own change."""
        tags = set(self.tags) ^ {tag}
        try:
            self.ctx.store.update(
                "resident", self.resident_id, {"tags": sorted(tags)}, user_id=self.ctx.user_id
            )
        except (ValidationFailed, RecordNotFound):
            self.ctx.flash(Msg("flash.save_failed"), error=True)
        else:
            self.ctx.flash(Msg("flash.saved"))
        self.refresh()
        self.ctx.changed()

    def dismiss(self, op_id: str) -> None:
        """The worker has read a rejection; conflicts stay until an admin settles them."""
        if any(p.op.op_id == op_id and p.status == "rejected" for p in self.problems):
            self.ctx.store.dismiss_problem(op_id)
            self.refresh()
            self.ctx.changed()

    def edit(self) -> None:
        from field_app.state.forms import ResidentForm

        self.ctx.push(ResidentForm.editing(self.ctx, self.resident_id))

    def move(self) -> None:
        from field_app.state.move import MoveScreen

        self.ctx.push(MoveScreen(self.ctx, self.resident_id))

    def record_visit(self) -> None:
        from field_app.state.visit import VisitScreen

        if self.homes:
            self.ctx.push(
                VisitScreen(self.ctx, self.homes[0].binding["house_id"], self.resident_id)
            )

    def report_matter(self) -> None:
        """A matter this person asked about: placed at their house, on their behalf."""
        from field_app.state.matters import MatterReportForm

        house_id = self.homes[0].binding["house_id"] if self.homes else None
        self.ctx.push(MatterReportForm(self.ctx, house_id=house_id, resident_id=self.resident_id))

    def open_house(self, house_id: str) -> None:
        from field_app.state.house import HouseScreen

        self.ctx.push(HouseScreen(self.ctx, house_id))
