"""The missed lists kept on the device: every campaign's targets, their statuses and counts.

Recomputing a campaign's sweep after every outcome recorded at a door costs a quarter of a second
over a community (bench/campaign_device_bench.py). So the store keeps, per campaign and resident,
whether they are a target and their status (`campaign_kept`), where each missed target is listed
with the key that orders the list (`campaign_kept_place`), and the campaign's counts
(`campaign_kept_count`), and keeps them true:

- Triggers on every table the rules read (resident, binding, house, building, unit, grid_node,
  campaign, completion, outcome) note what a write touched in `campaign_dirty`: a resident, a
  campaign (new, re-ruled or gone), or everything (a grid moved in the tree). Every path that
  writes a record (an edit, a pull, a push's results, a forgotten grid) is covered that way.
- `refresh`, which every read of a kept list runs first in its write transaction, decides the
  rows of just the noted residents with `decide`, the one function the full recompute (a new
  campaign, a rescope, a changed grid tree, or more noted residents than a full pass costs) uses
  for everyone. `decide` only calls `shared.campaigns` (`target_status`, `walking_key`).

The kept list therefore equals `campaigns.campaign_sweep` (tests/field_app/test_kept_missed.py
proves it over random sequences of edits). No personal value is kept here in the clear: statuses,
outcome kinds and dates, and the building, unit and room a list shows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from field_app.store import records
from field_app.store.campaigns import Roster, completed_of, roster
from field_app.store.kept_schema import EVERYTHING
from field_app.store.records import Record
from field_app.store.sealed import StoreDb
from shared.campaigns import (
    BuildingGroup,
    MissedPlace,
    OutcomeFact,
    ResidentFacts,
    Tally,
    TargetRule,
    TargetStatus,
    target_status,
    walking_groups,
    walking_key,
)

# More noted residents than this share of the roster: one full pass is cheaper than per person.
FULL_SHARE = 0.25

# --- deciding rows -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeptRow:
    """One target's row of one campaign: their status and, when missed, where they are listed."""

    status: TargetStatus
    places: tuple[tuple[MissedPlace, str], ...]  # (place, walking_key) of a missed target


def decide(
    rule: TargetRule,
    start: date,
    resident_id: str,
    facts: ResidentFacts | None,
    places: Iterable[MissedPlace],
    completed: bool,
    outcomes: Iterable[OutcomeFact],
) -> KeptRow | None:
    """A resident's row of a campaign (None: no target), by `shared.campaigns`' rules: the one
    decision both the full recompute and the per-resident update make."""
    status = target_status(rule, start, resident_id, facts, completed, outcomes)
    if status is None:
        return None
    listed = tuple((p, walking_key(p)) for p in places) if status.missed else ()
    return KeptRow(status, listed)


@dataclass(frozen=True)
class _Campaign:
    id: str
    rule: TargetRule
    start: date


def _live_campaigns(db: StoreDb) -> list[_Campaign]:
    sql = records.select_sql("campaign", "t.deleted = 0")
    out = []
    for row in db.query(sql):
        record = records.from_row("campaign", row, db.sealer)
        start = date.fromisoformat(str(record.values["start_date"]))
        out.append(_Campaign(record.id, TargetRule.from_values(record.values), start))
    return out


def _outcomes(
    db: StoreDb, campaign_id: str, resident_ids: list[str] | None
) -> dict[str, list[OutcomeFact]]:
    # Only what decides a status (and what the list shows of a missed person's last outcome);
    # the sealed place and reason are opened when a list is shown (`outcome_facts`).
    sql = (
        "SELECT id, resident_id, outcome, recorded_at, revisit_date FROM outcome "
        "WHERE campaign_id = ? AND deleted = 0"
    )
    params = [campaign_id]
    if resident_ids is not None:
        sql += " AND resident_id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(resident_ids))
    out: dict[str, list[OutcomeFact]] = defaultdict(list)
    for oid, rid, kind, at, revisit in db.execute(sql, params):
        out[rid].append(OutcomeFact(oid, rid, kind, at, revisit_date=revisit))
    return out


def _write(db: StoreDb, campaign_id: str, rows: dict[str, KeptRow | None]) -> None:
    """Replace the kept rows of these residents of one campaign."""
    gone = json.dumps(list(rows))
    for table in ("campaign_kept", "campaign_kept_place"):
        db.execute(
            f"DELETE FROM {table} WHERE campaign_id = ? "
            "AND resident_id IN (SELECT value FROM json_each(?))",
            [campaign_id, gone],
        )
    kept = [(rid, row) for rid, row in rows.items() if row is not None]
    db.conn.executemany(
        "INSERT INTO campaign_kept (campaign_id, resident_id, status, outcome_id, outcome, "
        "recorded_at, revisit_date) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                campaign_id,
                rid,
                row.status.status,
                *(
                    (o.id, o.outcome, o.recorded_at, o.revisit_date)
                    if (o := row.status.outcome) is not None
                    else (None, None, None, None)
                ),
            )
            for rid, row in kept
        ],
    )
    db.conn.executemany(
        "INSERT INTO campaign_kept_place (campaign_id, resident_id, house_id, building_id, "
        "building, unit_id, unit, room, sort_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (campaign_id, rid, p.house_id, p.building_id, p.building, p.unit_id, p.unit, p.room, k)
            for rid, row in kept
            for p, k in row.places
        ],
    )


def _count(db: StoreDb, campaign_id: str) -> None:
    """The campaign's counts from its kept rows (an index-only pass), kept beside them."""
    found = db.execute(
        "SELECT status, outcome, COUNT(*) FROM campaign_kept WHERE campaign_id = ? "
        "GROUP BY status, outcome",
        [campaign_id],
    ).fetchall()
    counts: dict[str, int] = {"completed": 0, "settled": 0, "missed": 0, "unvisited": 0}
    for status, outcome, n in found:
        counts[status] += n
        if status != "completed":
            key = "unvisited" if outcome is None else f"outcome:{outcome}"
            counts[key] = counts.get(key, 0) + n
    db.execute("DELETE FROM campaign_kept_count WHERE campaign_id = ?", [campaign_id])
    db.conn.executemany(
        "INSERT INTO campaign_kept_count (campaign_id, key, n) VALUES (?, ?, ?)",
        [(campaign_id, key, n) for key, n in counts.items()],
    )


def _rows(
    db: StoreDb, campaign: _Campaign, found: Roster, resident_ids: list[str] | None
) -> dict[str, KeptRow | None]:
    """Rows of `resident_ids` (None: everyone on the roster) of one campaign."""
    wanted = list(found.facts) if resident_ids is None else resident_ids
    completed = completed_of(db, campaign.id, wanted)
    outcomes = _outcomes(db, campaign.id, resident_ids)
    return {
        rid: decide(
            campaign.rule,
            campaign.start,
            rid,
            found.facts.get(rid),
            found.places.get(rid, ()),
            rid in completed,
            outcomes.get(rid, ()),
        )
        for rid in wanted
    }


def refresh(db: StoreDb) -> None:
    """Bring every kept list up to date with what the triggers noted (in the caller's
    transaction): the noted residents decided again, or a full pass where one is due."""
    noted = db.execute("SELECT kind, id FROM campaign_dirty").fetchall()
    if not noted:
        return
    residents = sorted({i for kind, i in noted if kind == "resident"})
    renewed = {i for kind, i in noted if kind == "campaign"}
    live = _live_campaigns(db)
    live_ids = [c.id for c in live]
    for table in ("campaign_kept", "campaign_kept_place", "campaign_kept_count"):
        db.execute(
            f"DELETE FROM {table} WHERE campaign_id NOT IN (SELECT value FROM json_each(?))",
            [json.dumps(live_ids)],
        )
    everything = any(kind == EVERYTHING for kind, _ in noted)
    if not everything and residents:
        on_roster = db.execute("SELECT COUNT(*) FROM resident WHERE deleted = 0").fetchone()[0]
        everything = len(residents) > max(100, FULL_SHARE * on_roster)
    full = [c for c in live if everything or c.id in renewed]
    partial = [c for c in live if c not in full] if residents else []
    if full:
        everyone = roster(db)
        for campaign in full:
            for table in ("campaign_kept", "campaign_kept_place"):
                db.execute(f"DELETE FROM {table} WHERE campaign_id = ?", [campaign.id])
            _write(db, campaign.id, _rows(db, campaign, everyone, None))
            _count(db, campaign.id)
    if partial:
        some = roster(db, residents)
        for campaign in partial:
            _write(db, campaign.id, _rows(db, campaign, some, residents))
            _count(db, campaign.id)
    db.execute("DELETE FROM campaign_dirty")


# --- reading -------------------------------------------------------------------------------------


@dataclass
class MissedList:
    """One campaign's kept missed list as the screen shows it."""

    campaign: Record
    groups: list[BuildingGroup]
    tally: Tally
    missed: frozenset[str]
    # The last outcome of each missed person who has one (not_home, refused).
    outcomes: dict[str, OutcomeFact]


def tally(db: StoreDb, campaign_id: str) -> Tally:
    """A campaign's kept counts (run `refresh` first)."""
    out = Tally()
    for key, n in db.execute(
        "SELECT key, n FROM campaign_kept_count WHERE campaign_id = ?", [campaign_id]
    ):
        if key.startswith("outcome:"):
            out.by_outcome[key.removeprefix("outcome:")] = n
        else:
            setattr(out, key, n)
    out.targets = out.completed + out.settled + out.missed
    return out


def missed_list(db: StoreDb, campaign: Record) -> MissedList:
    """A campaign's kept list in walking order, with its counts (run `refresh` first)."""
    places = [
        MissedPlace(rid, bid, building, uid, unit, hid, room)
        for rid, bid, building, uid, unit, hid, room in db.execute(
            "SELECT resident_id, building_id, building, unit_id, unit, house_id, room "
            "FROM campaign_kept_place WHERE campaign_id = ? ORDER BY sort_key",
            [campaign.id],
        )
    ]
    missed: set[str] = set()
    shown: list[str] = []
    for rid, outcome_id in db.execute(
        "SELECT resident_id, outcome_id FROM campaign_kept WHERE campaign_id = ? "
        "AND status = 'missed'",
        [campaign.id],
    ):
        missed.add(rid)
        if outcome_id is not None:
            shown.append(outcome_id)
    return MissedList(
        campaign,
        walking_groups(places),
        tally(db, campaign.id),
        frozenset(missed),
        {fact.resident_id: fact for fact in outcome_facts(db, shown)},
    )


def outcome_facts(db: StoreDb, outcome_ids: list[str]) -> list[OutcomeFact]:
    """Outcomes by id, their sealed details opened."""
    sql = records.select_sql("outcome", "t.id IN (SELECT value FROM json_each(?))")
    return [
        OutcomeFact.from_values(record.id, record.values)
        for record in (
            records.from_row("outcome", row, db.sealer)
            for row in db.query(sql, [json.dumps(outcome_ids)])
        )
    ]
