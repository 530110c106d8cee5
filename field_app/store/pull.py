"""Applying one page of a pull to the device's records.

A state older than the one held is ignored (pages can overlap after a retry); a record with
pending operations gets the pulled state as its shadow and the operations replayed over it for
its view. Records without pending operations (nearly all of a bootstrap page) are taken in bulk:
one query for their shadows, `executemany` for their rows. Records and grids that left the
worker's scope are forgotten, but their pending operations stay in the outbox: they still push,
and the server's rejection tells the worker why.

These functions run statements in the caller's transaction and never commit; the store saves the
page's cursor in that same transaction.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from field_app.store import outbox, rebase, records
from field_app.store.records import ServerState
from field_app.store.sealed import StoreDb
from shared.merge import Snapshot
from shared.protocol import PullResponse, RecordState
from shared.schema import ENTITIES

Key = tuple[str, str]  # (entity, record_id)


@dataclass(frozen=True)
class PullApplied:
    """What one page changed on the device."""

    received: int  # record states applied (tombstones included)
    removed: int  # records forgotten because they left the worker's scope


def apply_page(db: StoreDb, page: PullResponse) -> PullApplied:
    pending = _with_pending(db, page.records)
    # Each record's rows depend only on its own states, so the two groups may go separately.
    rebased = [s for s in page.records if (s.entity, s.id) in pending]
    plain = [s for s in page.records if (s.entity, s.id) not in pending]
    received = sum(apply_state(db, state) for state in rebased)
    received += apply_plain_states(db, plain)
    removed = sum(records.drop(db, ref.entity, [ref.id]) for ref in page.removed)
    if page.removed_grids:
        removed += drop_grids(db, page.removed_grids)
    return PullApplied(received=received, removed=removed)


def apply_state(db: StoreDb, state: RecordState) -> bool:
    """Take one pulled state; False when it is older than the state held."""
    held = records.read_shadow(db, state.entity, state.id)
    # Equal versions are taken: after a push the shadow holds the device's guess of the new
    # version, and the pulled state of that version is the truth.
    if held is not None and state.version < held.version:
        return False
    pending = outbox.pending_for(db, state.entity, state.id)
    if state.deleted and not pending:
        # Forget the record rather than keep a tombstone: a deleted resident's personal data has
        # no business staying on a phone that is carried around all day.
        records.drop(db, state.entity, [state.id])
        return True
    server = Snapshot(dict(state.values), dict(state.clocks), state.deleted)
    records.write_shadow(db, state.entity, state.id, ServerState(state.version, server))
    view = rebase.replay(state.entity, server, pending) or server
    records.write_view(db, state.entity, state.id, state.version, view)
    return True


def apply_plain_states(db: StoreDb, states: list[RecordState]) -> int:
    """Take pulled states of records without pending operations, in bulk; how many were taken.

    The same rules as `apply_state`, with the shadows read in one query per entity and the rows
    written with `executemany`: a bootstrap page brings a thousand records, and a few statements
    each made the device's side of a first sync take seconds.
    """
    held: dict[Key, ServerState] = {}
    for entity, ids in _ids_by_entity(states).items():
        held.update(((entity, i), s) for i, s in records.read_shadows(db, entity, ids).items())
    taken: dict[Key, ServerState | None] = {}  # the last state taken of each; None: forget it
    received = 0
    for state in states:
        key = (state.entity, state.id)
        before = held.get(key)
        if before is not None and state.version < before.version:
            continue
        received += 1
        if state.deleted:
            # As in `apply_state`: forget the record rather than keep a tombstone.
            held.pop(key, None)
            taken[key] = None
        else:
            server = Snapshot(dict(state.values), dict(state.clocks), state.deleted)
            held[key] = taken[key] = ServerState(state.version, server)
    _write_taken(db, taken)
    return received


def _write_taken(db: StoreDb, taken: dict[Key, ServerState | None]) -> None:
    # A record dropped and then taken again in one page ends up written: its last state wins.
    by_entity: dict[str, list[tuple[str, ServerState | None]]] = defaultdict(list)
    for (entity, record_id), state in taken.items():
        by_entity[entity].append((record_id, state))
    for entity, items in by_entity.items():
        records.drop(db, entity, [i for i, state in items if state is None])
        kept = [(i, state) for i, state in items if state is not None]
        records.write_shadows(db, entity, kept)
        records.write_views(db, entity, ((i, s.version, s.snapshot) for i, s in kept))


def _with_pending(db: StoreDb, states: list[RecordState]) -> set[Key]:
    """The records among `states` with operations still to push (their states are rebased)."""
    found: set[Key] = set()
    for entity, ids in _ids_by_entity(states).items():
        found.update((entity, i) for i in outbox.pending_ids(db, entity, ids))
    return found


def _ids_by_entity(states: list[RecordState]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for state in states:
        grouped[state.entity].append(state.id)
    return grouped


def drop_grids(db: StoreDb, grid_ids: Iterable[str]) -> int:
    """Forget the places of grids that left the scope, and the people bound only there."""
    grids = json.dumps(sorted(grid_ids))
    in_list = "(SELECT value FROM json_each(?))"

    def ids(sql: str, *params: str) -> list[str]:
        return [row[0] for row in db.execute(sql, list(params)).fetchall()]

    houses = ids(f"SELECT id FROM house WHERE grid_id IN {in_list}", grids)
    buildings = ids(f"SELECT id FROM building WHERE grid_id IN {in_list}", grids)
    units = ids(f"SELECT id FROM unit WHERE building_id IN {in_list}", json.dumps(buildings))
    bound = f"SELECT id, resident_id FROM binding WHERE house_id IN {in_list}"
    bindings = db.execute(bound, [json.dumps(houses)]).fetchall()

    dropped = records.drop(db, "grid_node", json.loads(grids))
    dropped += records.drop(db, "house", houses)
    dropped += records.drop(db, "building", buildings)
    dropped += records.drop(db, "unit", units)
    dropped += records.drop(db, "binding", [binding_id for binding_id, _ in bindings])
    # A resident also bound to a house the worker still holds stays.
    residents = {resident_id for _, resident_id in bindings if resident_id}
    still_bound = ids(
        f"SELECT DISTINCT resident_id FROM binding WHERE resident_id IN {in_list}",
        json.dumps(sorted(residents)),
    )
    dropped += records.drop(db, "resident", sorted(residents - set(still_bound)))
    return dropped


def forget_moved(db: StoreDb, since: date) -> int:
    """Forget the people whose move out of the worker's grids has left the recently-moved window
    (`shared.moves`), with their ended bindings and campaign records: time alone closes the
    window, with no change on the server to say so, so the phone applies the rule itself and
    holds what a fresh download would. An ended binding older than the window goes too (the
    person may still live elsewhere in the grids). Records the outbox names stay, as in
    `forget_pulled`."""
    in_list = "(SELECT value FROM json_each(?))"
    named = "SELECT record_id FROM outbox WHERE entity = ?"
    ended = db.execute(
        f"SELECT id, resident_id FROM binding WHERE end_date IS NOT NULL AND end_date < ? "
        f"AND id NOT IN ({named})",
        [since.isoformat(), "binding"],
    ).fetchall()
    if not ended:
        return 0
    dropped = records.drop(db, "binding", [binding_id for binding_id, _ in ended])
    people = sorted({resident_id for _, resident_id in ended if resident_id})
    gone = [
        row[0]
        for row in db.execute(
            f"SELECT id FROM resident WHERE id IN {in_list} AND id NOT IN ({named}) "
            "AND id NOT IN (SELECT resident_id FROM binding WHERE deleted = 0 "
            "AND resident_id IS NOT NULL)",
            [json.dumps(people), "resident"],
        ).fetchall()
    ]
    dropped += records.drop(db, "resident", gone)
    for entity in ("completion", "outcome"):
        facts = [
            row[0]
            for row in db.execute(
                f"SELECT id FROM [{entity}] WHERE resident_id IN {in_list} AND id NOT IN ({named})",
                [json.dumps(gone), entity],
            ).fetchall()
        ]
        dropped += records.drop(db, entity, facts)
    return dropped


def forget_pulled(db: StoreDb) -> int:
    """Forget every pulled record the outbox does not name, ahead of downloading the scope again
    (the server asked for it: `resync_required`). The worker's own operations, pending or
    answered, stay, and so do the records they are about."""
    dropped = 0
    for entity in ENTITIES:
        unsent = [
            row[0]
            for row in db.execute(
                f"SELECT id FROM [{entity}] WHERE id NOT IN "
                "(SELECT record_id FROM outbox WHERE entity = ?)",
                [entity],
            ).fetchall()
        ]
        dropped += records.drop(db, entity, unsent)
    return dropped
