"""The sync screen: what the last sync did, and every change the server did not simply take —
conflicts waiting for an admin and rejections with their reasons — until they are settled.
"""

from __future__ import annotations

from field_app.state.base import Context, Screen
from field_app.store import OutboxProblem
from shared.protocol import ReviewNote


class SyncScreen(Screen):
    kind = "sync"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.problems: list[OutboxProblem] = []
        self.review_notes: list[ReviewNote] = []
        self.refresh()

    def refresh(self) -> None:
        self.problems = self.ctx.store.problems()
        # Changes a supervisor sent back, with their reason, until the worker has read them.
        self.review_notes = self.ctx.store.review_notes()

    def dismiss_note(self, op_id: str) -> None:
        self.ctx.store.dismiss_review_note(op_id)
        self.refresh()
        self.ctx.changed()

    def subject(self, problem: OutboxProblem) -> str:
        """Whose record the problem is about, in words the worker knows (a name or an address)."""
        store, op = self.ctx.store, problem.op
        if op.entity in ("matter", "matter_step"):
            return self._matter_subject(problem)
        resident_id = op.record_id if op.entity == "resident" else None
        if op.entity in ("binding", "visit"):
            about = op.fields.get("resident_id")
            record = store.get(op.entity, op.record_id)
            resident_id = (about.new if about else None) or (
                record.values.get("resident_id") if record else None
            )
            if resident_id is None:
                house_change = op.fields.get("house_id")
                house_id = house_change.new if house_change else None
                house = store.get("house", house_id) if house_id else None
                return str(house.values.get("address") or "") if house else ""
        if resident_id is not None:
            resident = store.get("resident", resident_id)
            if resident is not None:
                return str(resident.values.get("name") or "")
            name = op.fields.get("name")
            return str(name.new) if name and name.new else ""
        return ""

    def _matter_subject(self, problem: OutboxProblem) -> str:
        """A matter's description (and where), for a refused report or step."""
        matter_id = _matter_of(problem)
        matter = self.ctx.store.get("matter", matter_id) if matter_id else None
        values = matter.values if matter is not None else {}
        if not values and problem.op.entity == "matter":
            values = {n: c.new for n, c in problem.op.fields.items()}
        parts = (str(values.get("description") or ""), str(values.get("place") or ""))
        return " · ".join(p for p in parts if p)

    def open(self, op_id: str) -> None:
        from field_app.state.matters import MatterScreen
        from field_app.state.resident import ResidentScreen

        problem = next((p for p in self.problems if p.op.op_id == op_id), None)
        if problem is None:
            return
        matter_id = _matter_of(problem)
        if matter_id and self.ctx.store.get("matter", matter_id) is not None:
            self.ctx.push(MatterScreen(self.ctx, matter_id))
            return
        op = problem.op
        resident_id: str | None = op.record_id if op.entity == "resident" else None
        if op.entity in ("binding", "visit"):
            about = op.fields.get("resident_id")
            resident_id = about.new if about else None
        if resident_id and self.ctx.store.get("resident", resident_id) is not None:
            self.ctx.push(ResidentScreen(self.ctx, resident_id))

    def dismiss(self, op_id: str) -> None:
        if any(p.op.op_id == op_id and p.status == "rejected" for p in self.problems):
            self.ctx.store.dismiss_problem(op_id)
        self.refresh()
        self.ctx.changed()

    def sync(self) -> None:
        self.ctx.request_sync()


def _matter_of(problem: OutboxProblem) -> str | None:
    """The matter a refused operation is about (its own record, or a step's matter)."""
    op = problem.op
    if op.entity == "matter":
        return op.record_id
    if op.entity == "matter_step" and "matter_id" in op.fields:
        return str(op.fields["matter_id"].new)
    return None
