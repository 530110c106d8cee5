"""A campaign's targets and missed list on the device, offline, from the records it holds.

Everything here only gathers facts from the device's tables; the decisions are
`shared.campaigns`' (`is_target`, `lives_under`, `sweep`, `walking_order`), the very functions the
sync server calls, so a worker's missed list equals the one a supervisor exports.

Where people live is the current roster: open bindings (no end date) of live houses. A person
bound in several houses is listed at each of their homes, counted once in the campaign's tally.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from field_app.store import records
from field_app.store.records import Record
from field_app.store.sealed import StoreDb
from shared.campaigns import (
    BuildingGroup,
    MissedPlace,
    OutcomeFact,
    ResidentFacts,
    Sweep,
    TargetRule,
    building_label,
    is_target,
    lives_under,
    sweep,
    walking_order,
)


@dataclass
class CampaignSweep:
    """One campaign as the device sees it: every target's status and where they live."""

    campaign: Record
    result: Sweep
    # target resident id -> their homes on the device (one MissedPlace per open binding)
    places: dict[str, list[MissedPlace]] = field(default_factory=dict)

    def missed_groups(self) -> list[BuildingGroup]:
        """The missed targets in walking order, building → unit → house, with counts."""
        missed = self.result.missed
        return walking_order(p for rid in missed for p in self.places.get(rid, ()))


def campaigns(db: StoreDb) -> list[Record]:
    """Live household campaigns on the device, latest start first (a business inspection's
    targets are businesses, not residents: `field_app.store.businesses`)."""
    sql = records.select_sql(
        "campaign",
        "t.deleted = 0 AND t.kind != 'business_inspection'",
        order_by="t.start_date DESC, t.name, t.id",
    )
    return [records.from_row("campaign", row, db.sealer) for row in db.query(sql)]


def campaign_sweep(db: StoreDb, campaign: Record) -> CampaignSweep:
    """Targets (decided by `is_target`) and statuses (decided by `sweep`) of one campaign."""
    rule = TargetRule.from_values(campaign.values)
    start = date.fromisoformat(str(campaign.values["start_date"]))
    parents: dict[str, str | None] = dict(
        db.execute("SELECT id, parent_id FROM grid_node WHERE deleted = 0").fetchall()
    )
    homes: dict[str, set[str]] = {}
    facts: dict[str, tuple[str, str, list[str]]] = {}
    at: dict[str, list[MissedPlace]] = {}
    rows = db.execute(
        "SELECT r.id, r.id_number, r.residence_status, r.tags, h.grid_id, h.id, h.room, "
        "h.building_id, h.unit_id, bl.road, bl.lane, bl.number, bl.name, u.name "
        "FROM binding b JOIN house h ON h.id = b.house_id AND h.deleted = 0 "
        "JOIN resident r ON r.id = b.resident_id AND r.deleted = 0 "
        "LEFT JOIN building bl ON bl.id = h.building_id "
        "LEFT JOIN unit u ON u.id = h.unit_id "
        "WHERE b.deleted = 0 AND b.end_date IS NULL"
    ).fetchall()
    sealer = db.sealer
    for rid, idn, status, tags, grid_id, hid, room, bid, uid, road, lane, num, bname, uname in rows:
        homes.setdefault(rid, set()).add(grid_id)
        if rid not in facts:  # opened once per person, however many homes they have
            idn = sealer.open("resident", rid, "id_number", idn)
            tags = sealer.open("resident", rid, "tags", tags)
            facts[rid] = (idn or "", status or "", tags or [])
        places = at.setdefault(rid, [])
        if all(p.house_id != hid for p in places):
            places.append(
                MissedPlace(
                    resident_id=rid,
                    building_id=bid or "",
                    building=building_label(road, lane, num, bname),
                    unit_id=uid,
                    unit=uname or "",
                    house_id=hid,
                    room=room or "",
                )
            )
    targets: list[str] = []
    for rid, grids in homes.items():
        idn, status, tags = facts[rid]
        if is_target(rule, ResidentFacts(idn, status, tags, lives_under(grids, parents)), start):
            targets.append(rid)
    # Only the targets' completions: a city-wide export brings many of people held elsewhere;
    # the (campaign_id, resident_id) index answers each target directly.
    completed = {
        row[0]
        for row in db.execute(
            "SELECT resident_id FROM completion WHERE campaign_id = ? AND deleted = 0 "
            "AND resident_id IN (SELECT value FROM json_each(?))",
            [campaign.id, json.dumps(targets)],
        )
    }
    result = sweep(targets, completed, outcomes_of(db, campaign.id))
    return CampaignSweep(campaign, result, {rid: at[rid] for rid in targets})


def outcomes_of(db: StoreDb, campaign_id: str, resident_id: str | None = None) -> list[OutcomeFact]:
    """The outcomes recorded for a campaign (and one person), as `shared.campaigns` facts."""
    where, params = "t.deleted = 0 AND t.campaign_id = ?", [campaign_id]
    if resident_id is not None:
        where += " AND t.resident_id = ?"
        params.append(resident_id)
    sql = records.select_sql("outcome", where, order_by="t.recorded_at, t.id")
    return [_fact(records.from_row("outcome", row, db.sealer)) for row in db.query(sql, params)]


def _fact(record: Record) -> OutcomeFact:
    return OutcomeFact.from_values(record.id, record.values)


def residents_reached(db: StoreDb, ids: Iterable[str]) -> dict[str, tuple[str, str, str]]:
    """(name, phone, ID number) of residents, for a missed list a worker calls and visits."""
    found = json.dumps(sorted(set(ids)))
    opened = db.sealer.open
    return {
        rid: (
            name or "",
            opened("resident", rid, "phone", phone) or "",
            opened("resident", rid, "id_number", id_number) or "",
        )
        for rid, name, phone, id_number in db.execute(
            "SELECT id, name, phone, id_number FROM resident "
            "WHERE id IN (SELECT value FROM json_each(?))",
            [found],
        ).fetchall()
    }


def residents_named(db: StoreDb, ids: Iterable[str]) -> dict[str, str]:
    """Names of residents, for the missed list."""
    found = json.dumps(sorted(set(ids)))
    return dict(
        db.execute(
            "SELECT id, name FROM resident WHERE id IN (SELECT value FROM json_each(?))", [found]
        ).fetchall()
    )
