"""Businesses (商户) and the checklist sweep (排查整治) on the phone: a grid's businesses by
building and searched by name, adding or editing one at the door, the business_inspection
campaigns with their to-check lists, and the checklist itself (合格 / 不合格 / 不适用 per item, a
note and photos on a failure), saved offline as one append-only `business_check`.

The rules are `shared.businesses`' (the server's too): an answer's shape, a failure's note, items
only of the business type's checklist.
"""

from __future__ import annotations

from typing import Any

from field_app.i18n.messages import Msg
from field_app.state.base import Context, Screen, errors_by_field
from field_app.store import Record, ValidationFailed
from field_app.store.businesses import BusinessItem, ToCheck
from shared.businesses import (
    BUSINESS_STATUS_ZH,
    CheckResult,
    check_results,
    worded_for_business,
)
from shared.errors import FieldError

STATUSES = tuple(BUSINESS_STATUS_ZH)
RESULTS = tuple(r.value for r in CheckResult)
FORM_FIELDS = (
    "name",
    "business_type_id",
    "building_id",
    "address",
    "licence_number",
    "contact_name",
    "contact_phone",
    "status",
)


class BusinessesScreen(Screen):
    """The businesses of one of the worker's grids, by building, searched by name; and the
    business inspection campaigns running over them."""

    kind = "businesses"

    def __init__(self, ctx: Context, grid_id: str | None = None) -> None:
        super().__init__(ctx)
        self.grids: list[Record] = ctx.store.my_grids()
        self.grid_id = grid_id or (self.grids[0].id if self.grids else "")
        self.query = ""
        self.items: list[BusinessItem] = []
        self.campaigns: list[Record] = []
        self.types: dict[str, Record] = {}
        self.refresh()

    def refresh(self) -> None:
        store = self.ctx.store
        self.types = {t.id: t for t in store.business_types()}
        self.items = store.businesses_in_grid(self.grid_id, text=self.query) if self.grid_id else []
        self.campaigns = store.business_campaigns()

    def groups(self) -> list[tuple[str, list[BusinessItem]]]:
        """The list by place: each building (or address) with its businesses."""
        out: list[tuple[str, list[BusinessItem]]] = []
        for item in self.items:
            if out and out[-1][0] == item.place:
                out[-1][1].append(item)
            else:
                out.append((item.place, [item]))
        return out

    def type_name(self, type_id: str, language: str) -> str:
        found = self.types.get(type_id)
        if found is None:
            return ""
        english = str(found.values.get("name_en") or "")
        return english if language == "en" and english else str(found.values.get("name") or "")

    def search(self, text: str) -> None:
        self.query = text
        self.refresh()
        self.ctx.changed()

    def set_grid(self, grid_id: str) -> None:
        if any(g.id == grid_id for g in self.grids):
            self.grid_id = grid_id
            self.refresh()
            self.ctx.changed()

    def open(self, business_id: str) -> None:
        if any(i.id == business_id for i in self.items):
            self.ctx.push(BusinessScreen(self.ctx, business_id))

    def add(self) -> None:
        if self.grid_id:
            self.ctx.push(BusinessForm(self.ctx, grid_id=self.grid_id))

    def open_campaign(self, campaign_id: str) -> None:
        if any(c.id == campaign_id for c in self.campaigns):
            self.ctx.push(ToCheckScreen(self.ctx, campaign_id))


class BusinessForm(Screen):
    """Adding a business found at the door, or correcting one: name, type, where (a building of
    the grid, or an address), licence number, contact, status."""

    kind = "business_form"

    def __init__(
        self, ctx: Context, *, grid_id: str | None = None, business_id: str | None = None
    ) -> None:
        super().__init__(ctx)
        store = ctx.store
        self.business_id = business_id
        current = store.get("business", business_id) if business_id else None
        self.grid_id = str(current.values.get("grid_id") or "") if current else (grid_id or "")
        self.types: list[Record] = store.business_types()
        self.buildings: list[Record] = store.buildings_in_grid(self.grid_id) if self.grid_id else []
        self.values: dict[str, str] = dict.fromkeys(FORM_FIELDS, "")
        self.values["status"] = "open"
        if current is not None:
            self.values.update({n: str(current.values.get(n) or "") for n in FORM_FIELDS})
        self.errors: dict[str, FieldError] = {}
        self._as_opened = dict(self.values)

    @property
    def title(self) -> Msg:
        return Msg("screen.business_edit" if self.business_id else "screen.business_add")

    @property
    def unsaved(self) -> bool:
        return self.values != self._as_opened

    def set(self, name: str, value: str) -> None:
        if name in self.values:
            # Tapping the chosen building again leaves it: the business is at an address.
            if name == "building_id" and self.values[name] == value:
                value = ""
            self.values[name] = value
            self.errors.pop(name, None)
            self.ctx.changed()

    def save(self) -> bool:
        values: dict[str, Any] = {n: v for n, v in self.values.items()}
        values["building_id"] = values["building_id"] or None
        if not self.business_id:
            values["grid_id"] = self.grid_id
        try:
            op = self.ctx.store.save_business(
                values, user_id=self.ctx.user_id, business_id=self.business_id
            )
        except ValidationFailed as exc:
            self.errors = errors_by_field([worded_for_business(e) for e in exc.errors])
            self.ctx.changed()
            return False
        self._as_opened = dict(self.values)
        self.ctx.back()
        if self.business_id is None and op is not None:
            self.ctx.push(BusinessScreen(self.ctx, op.record_id))
        self.ctx.flash(Msg("flash.business_saved"))
        return True


class BusinessScreen(Screen):
    """One business: what, where, who to contact, its checks; edit it or check it."""

    kind = "business"

    def __init__(self, ctx: Context, business_id: str) -> None:
        super().__init__(ctx)
        self.business_id = business_id
        self.record: Record | None = None
        self.checks: list[Record] = []
        self.campaigns: list[Record] = []
        self.type: Record | None = None
        self.refresh()

    def refresh(self) -> None:
        store = self.ctx.store
        self.record = store.get("business", self.business_id)
        self.checks = store.checks_of(self.business_id)
        type_id = str(self.record.values.get("business_type_id") or "") if self.record else ""
        self.type = store.get("business_type", type_id) if type_id else None
        # The campaigns whose to-check list holds this business.
        self.campaigns = [
            c
            for c in store.business_campaigns()
            if any(i.id == self.business_id for i in store.to_check(c.id).items)
        ]

    def edit(self) -> None:
        self.ctx.push(BusinessForm(self.ctx, business_id=self.business_id))

    def check(self, campaign_id: str) -> None:
        if any(c.id == campaign_id for c in self.campaigns):
            self.ctx.push(ChecklistScreen(self.ctx, campaign_id, self.business_id))


class ToCheckScreen(Screen):
    """A business inspection campaign's businesses in the worker's grids: to check first."""

    kind = "to_check"

    def __init__(self, ctx: Context, campaign_id: str) -> None:
        super().__init__(ctx)
        self.campaign_id = campaign_id
        self.sweep: ToCheck | None = None
        self.refresh()

    def refresh(self) -> None:
        self.sweep = self.ctx.store.to_check(self.campaign_id)

    @property
    def title(self) -> Msg:
        name = str(self.sweep.campaign.values.get("name") or "") if self.sweep else ""
        return Msg.of("screen.to_check", name=name)

    def open(self, business_id: str) -> None:
        if self.sweep and any(i.id == business_id for i in self.sweep.items):
            self.ctx.push(ChecklistScreen(self.ctx, self.campaign_id, business_id))


class ChecklistScreen(Screen):
    """The checklist of one business in one campaign: each item 合格 / 不合格 / 不适用, a note and
    photos on a failure; saved offline as one check."""

    kind = "checklist"

    def __init__(self, ctx: Context, campaign_id: str, business_id: str) -> None:
        super().__init__(ctx)
        store = ctx.store
        self.campaign_id = campaign_id
        self.business_id = business_id
        self.business = store.get("business", business_id)
        type_id = str(self.business.values.get("business_type_id") or "") if self.business else ""
        self.items: list[Record] = store.checklist(type_id) if type_id else []
        self.results: dict[str, str] = {}
        self.notes: dict[str, str] = {}
        self.photos: dict[str, list[bytes]] = {}
        self.errors: dict[str, FieldError] = {}  # by item id ("" for the whole list)

    @property
    def title(self) -> Msg:
        name = str(self.business.values.get("name") or "") if self.business else ""
        return Msg.of("screen.checklist", name=name)

    @property
    def unsaved(self) -> bool:
        return bool(self.results or any(self.notes.values()) or self.photos)

    @property
    def answered(self) -> int:
        return sum(1 for i in self.items if i.id in self.results)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results.values() if r == CheckResult.FAIL)

    def text_of(self, item: Record, language: str) -> str:
        english = str(item.values.get("text_en") or "")
        return english if language == "en" and english else str(item.values.get("text") or "")

    def set_result(self, item_id: str, result: str) -> None:
        if result in RESULTS and any(i.id == item_id for i in self.items):
            self.results[item_id] = result
            self.errors.pop(item_id, None)
            self.errors.pop("", None)
            self.ctx.changed()

    def set_note(self, item_id: str, note: str) -> None:
        self.notes[item_id] = note
        self.errors.pop(item_id, None)
        self.ctx.changed()

    def add_photo(self, item_id: str, data: bytes) -> None:
        self.photos.setdefault(item_id, []).append(data)
        self.ctx.changed()

    def answers(self) -> list[dict[str, Any]]:
        return [
            {"item_id": i.id, "result": self.results[i.id], "note": self.notes.get(i.id, "")}
            for i in self.items
            if i.id in self.results
        ]

    def save(self) -> bool:
        missing = [i for i in self.items if i.id not in self.results]
        if missing or not self.items:
            self.errors = {
                "": FieldError(
                    "results",
                    "checklist_incomplete",
                    "Answer every item.",
                    {"n": len(missing)},
                )
            }
            self.ctx.changed()
            return False
        answers = self.answers()
        checked = check_results(answers)
        if isinstance(checked, FieldError):
            self.errors = {self._item_of(checked): checked}
            self.ctx.changed()
            return False
        try:
            self.ctx.store.record_check(
                self.campaign_id,
                self.business_id,
                answers,
                user_id=self.ctx.user_id,
                photos=self.photos,
            )
        except ValidationFailed as exc:
            self.errors = {self._item_of(e): e for e in exc.errors}
            self.ctx.changed()
            return False
        self.results, self.notes, self.photos = {}, {}, {}
        self.ctx.back()
        self.ctx.flash(Msg("flash.check_saved"))
        return True

    def _item_of(self, error: FieldError) -> str:
        """The item an error names (`results[2].note` -> the third answer's item), or ""."""
        field = error.field
        if field.startswith("results[") and "]" in field:
            index = field[len("results[") : field.index("]")]
            answers = self.answers()
            if index.isdigit() and int(index) < len(answers):
                return str(answers[int(index)]["item_id"])
        return ""
