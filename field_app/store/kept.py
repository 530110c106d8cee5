"""The missed lists kept on the device: every campaign's targets, their statuses and counts.

Recomputing a campaign's sweep after every outcome recorded at a door costs a quarter of a second
over a community (bench/campaign_device_bench.py). So the store keeps, per campaign and resident,
whether they are a target and their status (`campaign_kept`), where each missed target is listed
with the key that orders the list (`campaign_kept_place`), and the campaign's counts
(`campaign_kept_count`), and keeps them true (tables and triggers: `kept_schema`):

- Triggers on every table the rules read (resident, binding, house, building, unit, grid_node,
  campaign, completion, outcome) note what a write touched in `campaign_dirty`: a resident, a
  campaign (new, re-ruled or gone), or everything (a grid moved in the tree). Every path that
  writes a record (an edit, a pull, a push's results, a forgotten grid) is covered that way.
- `refresh`, which every read of a kept list runs first in its write transaction, decides the
  rows of just the noted residents with `decide`, the one function the full recompute (a new
  campaign, a rescope, a changed grid tree, or more noted residents than a full pass costs) uses
  for everyone. `decide` only calls `shared.campaigns` (`target_status`, `walking_key`).

A store connection holds the lists it has read (`KeptLists`) and, after a tap, re-reads only the
changed people's rows; a token per campaign tells it when another connection changed a list.

The kept list therefore equals `campaigns.campaign_sweep` (tests/field_app/test_kept_missed.py
proves it over random sequences of edits). No personal value is kept here in the clear: statuses,
outcome kinds and dates, and the building, unit and room a list shows.
"""

from __future__ import annotations

import json
import uuid
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
    PlaceFields,
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
KEPT_TABLES = ("campaign_kept", "campaign_kept_place", "campaign_kept_count")
FEW = 100  # noted residents always decided one by one

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
    # A business inspection's targets are businesses (store/businesses.py), not residents.
    sql = records.select_sql("campaign", "t.deleted = 0 AND t.kind != 'business_inspection'")
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


def _count_keys(status: str, outcome: str | None) -> tuple[str, ...]:
    """The counts one target adds to (`Tally.add`, as kept rows)."""
    if status == "completed":
        return (status,)
    return (status, "unvisited" if outcome is None else f"outcome:{outcome}")


def _write(
    db: StoreDb, campaign_id: str, rows: dict[str, KeptRow | None], *, counted: bool
) -> None:
    """Replace the kept rows of these residents of one campaign; with `counted`, move the
    campaign's kept counts by the difference (else `_count` counts afresh)."""
    gone = json.dumps(list(rows))
    delta: dict[str, int] = defaultdict(int)
    if counted:
        for status, outcome in db.execute(
            "SELECT status, outcome FROM campaign_kept WHERE campaign_id = ? "
            "AND resident_id IN (SELECT value FROM json_each(?))",
            [campaign_id, gone],
        ):
            for key in _count_keys(status, outcome):
                delta[key] -= 1
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
    if not counted:
        return
    for _, row in kept:
        outcome = row.status.outcome
        for key in _count_keys(row.status.status, outcome.outcome if outcome else None):
            delta[key] += 1
    db.conn.executemany(
        "INSERT INTO campaign_kept_count (campaign_id, key, n) VALUES (?, ?, ?) "
        "ON CONFLICT (campaign_id, key) DO UPDATE SET n = n + excluded.n",
        [(campaign_id, key, n) for key, n in delta.items() if n],
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
        for key in _count_keys(status, outcome):
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


Changes = dict[str, list[str] | None]
"""What `refresh` changed: campaign id -> the residents decided again, None for all of them."""


def refresh(db: StoreDb) -> Changes:
    """Bring every kept list up to date with what the triggers noted (in the caller's
    transaction): the noted residents decided again, or a full pass where one is due. Each
    campaign it touches gets a new token (`campaign_kept_token`), so a list held in memory knows
    whether it still shows the rows (`KeptLists`)."""
    noted = db.execute("SELECT kind, id FROM campaign_dirty").fetchall()
    if not noted:
        return {}
    residents = sorted({i for kind, i in noted if kind == "resident"})
    renewed = {i for kind, i in noted if kind == "campaign"}
    live = _live_campaigns(db)
    gone = json.dumps(sorted(renewed - {c.id for c in live}))
    for table in (*KEPT_TABLES, "campaign_kept_token"):
        db.execute(
            f"DELETE FROM {table} WHERE campaign_id IN (SELECT value FROM json_each(?))", [gone]
        )
    everything = any(kind == EVERYTHING for kind, _ in noted)
    if not everything and len(residents) > FEW:
        on_roster = db.execute("SELECT COUNT(*) FROM resident WHERE deleted = 0").fetchone()[0]
        everything = len(residents) > FULL_SHARE * on_roster
    full = [c for c in live if everything or c.id in renewed]
    partial = [c for c in live if c not in full] if residents else []
    changes: Changes = {}
    if full:
        everyone = roster(db)
        for campaign in full:
            for table in KEPT_TABLES:
                db.execute(f"DELETE FROM {table} WHERE campaign_id = ?", [campaign.id])
            _write(db, campaign.id, _rows(db, campaign, everyone, None), counted=False)
            _count(db, campaign.id)
            changes[campaign.id] = None
    if partial:
        some = roster(db, residents)
        for campaign in partial:
            _write(db, campaign.id, _rows(db, campaign, some, residents), counted=True)
            changes[campaign.id] = residents
    db.conn.executemany(
        "INSERT OR REPLACE INTO campaign_kept_token (campaign_id, token) VALUES (?, ?)",
        [(campaign_id, str(uuid.uuid4())) for campaign_id in changes],
    )
    db.execute("DELETE FROM campaign_dirty")
    return changes


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
    """A campaign's kept counts (run `refresh` first). Every target lives somewhere (targets
    come from the roster), so the list's places name every missed target."""
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


_PLACES = (
    "SELECT sort_key, resident_id, building_id, building, unit_id, unit, house_id, room "
    "FROM campaign_kept_place WHERE campaign_id = ?"
)
_SHOWN = (
    "SELECT outcome_id FROM campaign_kept WHERE campaign_id = ? AND status = 'missed' "
    "AND outcome IS NOT NULL"
)
_OF = " AND resident_id IN (SELECT value FROM json_each(?))"


@dataclass
class _Held:
    """A campaign's missed places (sort key, fields) in order and its missed people's last
    outcomes, as of the campaign's token."""

    token: str | None
    places: list[tuple[str, PlaceFields]]
    outcomes: dict[str, OutcomeFact]


class KeptLists:
    """The missed lists one store connection has read, held so that a tap at a door re-reads
    only the rows of the people `refresh` decided again, not the whole list; any change it did
    not see itself (another connection's, a full pass) makes it read the list afresh."""

    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}

    def read(self, db: StoreDb, campaign: Record) -> MissedList:
        """Refresh the kept lists, then this campaign's list (in the caller's transaction)."""
        before = _tokens(db)
        changes = refresh(db)
        after = _tokens(db) if changes else before
        for campaign_id, held in list(self._held.items()):
            touched = changes.get(campaign_id, [])
            if held.token == after.get(campaign_id):
                continue  # nothing changed since it was read
            if held.token == before.get(campaign_id) and touched is not None:
                self._patch(db, campaign_id, held, touched)
                held.token = after.get(campaign_id)
            else:
                del self._held[campaign_id]  # read afresh when next shown
        shown = self._held.get(campaign.id)
        if shown is None:
            shown = self._held[campaign.id] = _Held(after.get(campaign.id), *_load(db, campaign.id))
        return MissedList(
            campaign,
            walking_groups(p for _, p in shown.places),
            tally(db, campaign.id),
            frozenset(p[0] for _, p in shown.places),
            dict(shown.outcomes),
        )

    @staticmethod
    def _patch(db: StoreDb, campaign_id: str, held: _Held, residents: list[str]) -> None:
        changed = set(residents)
        some = json.dumps(residents)
        places = [(key, tuple(p)) for key, *p in db.execute(_PLACES + _OF, [campaign_id, some])]
        held.places = sorted(
            [entry for entry in held.places if entry[1][0] not in changed] + places
        )
        for rid in changed:
            held.outcomes.pop(rid, None)
        shown = [row[0] for row in db.execute(_SHOWN + _OF, [campaign_id, some])]
        held.outcomes.update((f.resident_id, f) for f in outcome_facts(db, shown))


def _tokens(db: StoreDb) -> dict[str, str]:
    return dict(db.execute("SELECT campaign_id, token FROM campaign_kept_token").fetchall())


def _load(
    db: StoreDb, campaign_id: str
) -> tuple[list[tuple[str, PlaceFields]], dict[str, OutcomeFact]]:
    places = [
        (key, tuple(p)) for key, *p in db.execute(_PLACES + " ORDER BY sort_key", [campaign_id])
    ]
    shown = [row[0] for row in db.execute(_SHOWN, [campaign_id])]
    return places, {f.resident_id: f for f in outcome_facts(db, shown)}


def outcome_facts(db: StoreDb, outcome_ids: list[str]) -> list[OutcomeFact]:
    """Outcomes by id, their sealed details opened."""
    opened = db.sealer.open
    return [
        OutcomeFact(
            oid,
            rid,
            kind,
            at,
            opened("outcome", oid, "place", place) or "",
            opened("outcome", oid, "reason", reason) or "",
            revisit,
        )
        for oid, rid, kind, at, place, reason, revisit in db.execute(
            "SELECT id, resident_id, outcome, recorded_at, place, reason, revisit_date "
            "FROM outcome WHERE id IN (SELECT value FROM json_each(?))",
            [json.dumps(outcome_ids)],
        )
    ]
