"""One house at the door: who lives there, its visits, and what the worker can do from here —
open a resident, add a person found at the door, record a visit.
"""

from __future__ import annotations

from field_app.i18n.messages import Msg
from field_app.state.base import Context, Screen
from field_app.store import HouseSummary, Occupant, Record


class HouseScreen(Screen):
    kind = "house"

    def __init__(self, ctx: Context, house_id: str) -> None:
        super().__init__(ctx)
        self.house_id = house_id
        self.summary: HouseSummary | None = None
        self.occupants: list[Occupant] = []
        self.visits: list[Record] = []
        self.refresh()

    @property
    def title(self) -> Msg:
        room = self.house.values.get("room") if self.house else ""
        return Msg.of("screen.house", room=room or "")

    @property
    def house(self) -> Record | None:
        return self.summary.house if self.summary else None

    @property
    def address(self) -> str:
        house = self.house
        if house is None:
            return ""
        return str(house.values.get("address") or house.values.get("room") or "")

    def refresh(self) -> None:
        store, day = self.ctx.store, self.ctx.today()
        self.summary = store.house_summary(self.house_id, day)
        self.occupants = store.residents_of_house(self.house_id, on=day)
        self.visits = store.visits_of_house(self.house_id, limit=10)

    def resident_name(self, resident_id: str | None) -> str:
        for occupant in self.occupants:
            if occupant.resident.id == resident_id:
                return str(occupant.resident.values.get("name") or "")
        return ""

    def open_resident(self, resident_id: str) -> None:
        from field_app.state.resident import ResidentScreen

        self.ctx.push(ResidentScreen(self.ctx, resident_id))

    def add_resident(self) -> None:
        from field_app.state.forms import ResidentForm

        self.ctx.push(ResidentForm.adding(self.ctx, self.house_id))

    def record_visit(self, resident_id: str | None = None) -> None:
        from field_app.state.visit import VisitScreen

        self.ctx.push(VisitScreen(self.ctx, self.house_id, resident_id))

    def report_matter(self) -> None:
        """A matter found at this door: the form opens placed here (grid, building, address)."""
        from field_app.state.matters import MatterReportForm

        self.ctx.push(MatterReportForm(self.ctx, house_id=self.house_id))
