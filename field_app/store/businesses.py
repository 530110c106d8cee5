"""Businesses (商户) and the checklist sweep (排查整治) on the device, from the records it holds.

A grid's businesses by building (those at an address only, last) and searched by name; the
business types and a type's checklist in its order; the business_inspection campaigns and one
campaign's to-check list (`shared.businesses.is_target`, the rule the server's progress uses),
each business with its latest check in that campaign. These functions only read; the caller
holds the transaction, if any.
"""

from __future__ import annotations

from dataclasses import dataclass

from field_app.store import records
from field_app.store.records import Record
from field_app.store.sealed import StoreDb
from shared.businesses import failed_items, is_target
from shared.campaigns import building_label, lives_under

BUSINESS_INSPECTION = "business_inspection"


@dataclass(frozen=True)
class BusinessItem:
    """A business in a list: its record, where it is, and its latest check (if any)."""

    record: Record
    place: str  # the building's label, or the free-text address
    building_id: str  # "" for a business at an address only
    last_check: Record | None = None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def failed(self) -> int:
        """Items the latest check failed."""
        if self.last_check is None:
            return 0
        return len(failed_items(self.last_check.values.get("results") or []))


@dataclass(frozen=True)
class ToCheck:
    """A business_inspection campaign's businesses in the worker's grids, checked or not."""

    campaign: Record
    items: list[BusinessItem]

    @property
    def checked(self) -> int:
        return sum(1 for i in self.items if i.last_check is not None)

    @property
    def problems(self) -> int:
        return sum(i.failed for i in self.items)


def types(db: StoreDb, *, active_only: bool = True) -> list[Record]:
    where = "t.deleted = 0" + (" AND t.active = 1" if active_only else "")
    sql = records.select_sql("business_type", where, order_by="t.sort_order, t.code")
    return [records.from_row("business_type", row, db.sealer) for row in db.query(sql)]


def checklist(db: StoreDb, business_type_id: str, *, active_only: bool = True) -> list[Record]:
    where = "t.deleted = 0 AND t.business_type_id = ?" + (
        " AND t.active = 1" if active_only else ""
    )
    sql = records.select_sql("checklist_item", where, order_by="t.sort_order, t.code")
    rows = db.query(sql, [business_type_id])
    return [records.from_row("checklist_item", row, db.sealer) for row in rows]


def in_grid(db: StoreDb, grid_id: str, *, text: str = "") -> list[BusinessItem]:
    """A grid's live businesses by building, then name; `text` keeps those whose name or
    address contains it."""
    where, params = "t.deleted = 0 AND t.grid_id = ?", [grid_id]
    text = text.strip()
    if text:
        where += " AND (t.name LIKE ? ESCAPE '\\' OR t.address LIKE ? ESCAPE '\\')"
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params += [like, like]
    rows = db.query(records.select_sql("business", where, order_by="t.name, t.id"), params)
    found = [records.from_row("business", row, db.sealer) for row in rows]
    return _items(db, found, campaign_id=None)


def counts(db: StoreDb) -> tuple[int, int]:
    """(live businesses held, business inspection campaigns held)."""
    businesses = db.execute("SELECT COUNT(*) FROM business WHERE deleted = 0").fetchone()[0]
    sweeps = db.execute(
        "SELECT COUNT(*) FROM campaign WHERE deleted = 0 AND kind = ?", [BUSINESS_INSPECTION]
    ).fetchone()[0]
    return int(businesses), int(sweeps)


def campaigns(db: StoreDb) -> list[Record]:
    """The business_inspection campaigns the device holds, latest start first."""
    sql = records.select_sql(
        "campaign",
        "t.deleted = 0 AND t.kind = ?",
        order_by="t.start_date DESC, t.name",
    )
    return [
        records.from_row("campaign", row, db.sealer) for row in db.query(sql, [BUSINESS_INSPECTION])
    ]


def to_check(db: StoreDb, campaign: Record, grid_ids: list[str]) -> ToCheck:
    """The campaign's targets among the businesses of `grid_ids`, unchecked first (by place)."""
    parents = {
        row["id"]: row["parent_id"]
        for row in db.query("SELECT id, parent_id FROM grid_node WHERE deleted = 0")
    }
    wanted = list(campaign.values.get("business_types") or [])
    root = str(campaign.values.get("grid_id") or "")
    found: list[Record] = []
    for grid_id in grid_ids:
        chain = lives_under([grid_id], parents)
        rows = db.query(
            records.select_sql("business", "t.deleted = 0 AND t.grid_id = ?", order_by="t.name"),
            [grid_id],
        )
        for row in rows:
            record = records.from_row("business", row, db.sealer)
            if is_target(
                {**record.values, "deleted": record.deleted},
                grid_chain=chain,
                campaign_grid_id=root,
                types=wanted,
            ):
                found.append(record)
    items = _items(db, found, campaign_id=campaign.id)
    items.sort(key=lambda i: (i.last_check is not None, i.place, str(i.record.values.get("name"))))
    return ToCheck(campaign, items)


def checks_of(db: StoreDb, business_id: str) -> list[Record]:
    """A business's checks, latest first."""
    sql = records.select_sql(
        "business_check", "t.deleted = 0 AND t.business_id = ?", order_by="t.checked_at DESC"
    )
    return [
        records.from_row("business_check", row, db.sealer) for row in db.query(sql, [business_id])
    ]


def _items(db: StoreDb, found: list[Record], *, campaign_id: str | None) -> list[BusinessItem]:
    buildings = {str(r.values.get("building_id")) for r in found if r.values.get("building_id")}
    labels: dict[str, str] = {}
    for building_id in sorted(buildings):
        row = db.execute(
            "SELECT road, lane, number, name FROM building WHERE id = ?", [building_id]
        ).fetchone()
        if row is not None:
            labels[building_id] = building_label(*row)
    latest: dict[str, Record] = {}
    where = "t.deleted = 0" + (" AND t.campaign_id = ?" if campaign_id else "")
    sql = records.select_sql("business_check", where, order_by="t.checked_at")
    for row in db.query(sql, [campaign_id] if campaign_id else []):
        check = records.from_row("business_check", row, db.sealer)
        latest[str(check.values.get("business_id"))] = check
    items = [
        BusinessItem(
            record=r,
            place=labels.get(str(r.values.get("building_id") or ""), "")
            or str(r.values.get("address") or ""),
            building_id=str(r.values.get("building_id") or ""),
            last_check=latest.get(r.id),
        )
        for r in found
    ]
    # By building (those at an address only, after), then by name.
    items.sort(key=lambda i: (not i.building_id, i.place, str(i.record.values.get("name"))))
    return items
