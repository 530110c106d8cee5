"""The sweep, level by level: my grids → buildings → units → houses, each with counts and today's
visit status, so a worker sees at a glance which doors are still to knock on.
"""

from __future__ import annotations

from field_app.i18n.messages import Msg
from field_app.state.base import Context, Screen
from field_app.state.businesses import BusinessesScreen
from field_app.state.house import HouseScreen
from field_app.state.matters import MattersScreen, scopes_for
from field_app.state.told import Told, told_all
from field_app.store import HouseSummary, PlaceSummary, Record, Tally
from field_app.store.matters import MatterCounts, Scope
from shared.protocol import ReviewNote


def building_label(building: Record) -> str:
    """ "西大街88弄 3号楼": road, lane, number and name, whichever are known."""
    parts = [building.values.get(n) or "" for n in ("road", "lane", "number", "name")]
    return "".join(parts).strip() or building.id[:8]


def building_title(building: Record, unit: str = "") -> str:
    """A screen title that keeps what tells one building from the next on a narrow phone: the
    building's own name (and unit) first, then its street address ("3号楼2单元 · 西楼南路10弄4号"),
    so a cut-off title loses the street, not the building."""
    values = building.values
    street = "".join(values.get(n) or "" for n in ("road", "lane", "number")).strip()
    own = f"{values.get('name') or ''}{unit}".strip()
    if own and street:
        return f"{own} · {street}"
    return own or street or building.id[:8]


class GridsScreen(Screen):
    """The worker's level-5 grids (the home screen)."""

    kind = "grids"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.items: list[PlaceSummary] = []
        # Changes a supervisor sent back: shown here, where the day starts, until read.
        self.notes: list[ReviewNote] = []
        self.told: list[Told] = []
        self.matter_counts = MatterCounts()
        self.business_counts = (0, 0)
        self.refresh()

    def refresh(self) -> None:
        self.items = self.ctx.store.grid_summaries(self.ctx.today())
        self.notes = self.ctx.store.review_notes()
        # What became of the worker's own changes: outranked values, settled conflicts.
        self.told = told_all(self.ctx.store)
        # The entry to matters: a worker's open and overdue ones, a handler's claim list.
        self.matter_counts = self.ctx.store.matter_counts(self.matter_scope)
        # The entry to businesses: how many in the worker's grids, and running sweeps.
        self.business_counts = self.ctx.store.business_counts()

    @property
    def matter_scope(self) -> Scope:
        return scopes_for(self.ctx.store.actor().role)[0]

    def open_matters(self) -> None:
        self.ctx.push(MattersScreen(self.ctx))

    def open_businesses(self) -> None:
        self.ctx.push(BusinessesScreen(self.ctx))

    def dismiss_told(self, op_id: str) -> None:
        self.ctx.store.dismiss_notice(op_id)
        self.refresh()
        self.ctx.changed()

    def open_note(self, op_id: str) -> None:
        """The person a sent-back change was about, if the phone still holds them."""
        from field_app.state.resident import ResidentScreen

        note = next((n for n in self.notes if n.op_id == op_id), None)
        if note is None:
            return
        if note.resident_id and self.ctx.store.get("resident", note.resident_id) is not None:
            self.ctx.push(ResidentScreen(self.ctx, note.resident_id))
        else:
            self.ctx.flash(Msg("flash.record_gone"), error=True)

    def dismiss_note(self, op_id: str) -> None:
        self.ctx.store.dismiss_review_note(op_id)
        self.refresh()
        self.ctx.changed()

    def open_campaigns(self) -> None:
        """The campaigns over the worker's grids, and their missed lists."""
        from field_app.state.campaign import CampaignsScreen

        self.ctx.push(CampaignsScreen(self.ctx))

    def open(self, grid_id: str) -> None:
        grid = next((s.record for s in self.items if s.record.id == grid_id), None)
        if grid is not None:
            self.ctx.push(BuildingsScreen(self.ctx, grid))


class BuildingsScreen(Screen):
    kind = "buildings"

    def __init__(self, ctx: Context, grid: Record) -> None:
        super().__init__(ctx)
        self.grid = grid
        self.items: list[PlaceSummary] = []
        self.refresh()

    @property
    def title(self) -> Msg:
        return Msg.of("screen.buildings", grid=self.grid.values.get("name") or "")

    def refresh(self) -> None:
        self.items = self.ctx.store.building_summaries(self.grid.id, self.ctx.today())

    def open(self, building_id: str) -> None:
        found = next((s for s in self.items if s.record.id == building_id), None)
        if found is None:
            return
        # Village houses and old lanes have no units: go straight to the doors.
        if found.tally.units:
            self.ctx.push(UnitsScreen(self.ctx, found.record))
        else:
            self.ctx.push(HousesScreen(self.ctx, found.record, None))


class UnitsScreen(Screen):
    kind = "units"

    def __init__(self, ctx: Context, building: Record) -> None:
        super().__init__(ctx)
        self.building = building
        self.items: list[PlaceSummary] = []
        self.tally = Tally()
        self.refresh()

    @property
    def title(self) -> Msg:
        return Msg.of("screen.units", building=building_title(self.building))

    def refresh(self) -> None:
        day = self.ctx.today()
        self.items = self.ctx.store.unit_summaries(self.building.id, day)
        self.tally = self.ctx.store.building_tally(self.building.id, day)

    @property
    def houses_without_unit(self) -> int:
        return self.tally.houses - sum(s.tally.houses for s in self.items)

    def open(self, unit_id: str | None) -> None:
        unit = next((s.record for s in self.items if s.record.id == unit_id), None)
        self.ctx.push(HousesScreen(self.ctx, self.building, unit, no_unit=unit is None))


class HousesScreen(Screen):
    """The doors of a building (or of one unit), with who lives there and today's visits."""

    kind = "houses"

    def __init__(
        self, ctx: Context, building: Record, unit: Record | None, *, no_unit: bool = False
    ) -> None:
        super().__init__(ctx)
        self.building = building
        self.unit = unit
        self.no_unit = no_unit  # only the houses of the building that belong to no unit
        self.only_unvisited = False
        self.all_items: list[HouseSummary] = []
        self.refresh()

    @property
    def title(self) -> Msg:
        unit = (self.unit.values.get("name") or "") if self.unit else ""
        return Msg.of("screen.houses", building=building_title(self.building, unit))

    def refresh(self) -> None:
        houses = self.ctx.store.house_summaries(
            self.ctx.today(),
            building_id=self.building.id,
            unit_id=self.unit.id if self.unit else None,
        )
        if self.no_unit:
            houses = [h for h in houses if not h.house.values.get("unit_id")]
        self.all_items = houses

    @property
    def items(self) -> list[HouseSummary]:
        if self.only_unvisited:
            return [h for h in self.all_items if not h.visited_today]
        return self.all_items

    @property
    def visited(self) -> int:
        return sum(1 for h in self.all_items if h.visited_today)

    def toggle_unvisited(self) -> None:
        self.only_unvisited = not self.only_unvisited
        self.ctx.changed()

    def open(self, house_id: str) -> None:
        if any(h.house.id == house_id for h in self.all_items):
            self.ctx.push(HouseScreen(self.ctx, house_id))
