"""Taking the server's answers to a push, in bulk.

The push of a grid surveyed on the device answers thousands of operations at once; settling each
with its own handful of statements made the device's side of that sync take seconds. Here the
rows concerned are read with a few queries, the answers are worked out in memory, in the order
they came (two answers may concern one record: its create, then an update of it), and the changes
are written back with `executemany`. Conflicts and rejections are rare and are taken one by one.

These functions run statements in the caller's transaction and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from field_app.store import outbox, rebase, records
from field_app.store.records import ServerState
from field_app.store.sealed import StoreDb
from shared.merge import Snapshot
from shared.protocol import Operation, OpResult

Key = tuple[str, str]  # (entity, record_id)


def record_results(
    db: StoreDb, results: list[OpResult], sent: Iterable[Operation] = ()
) -> list[tuple[Operation, list[str]]]:
    """applied/merged: the operation leaves the outbox and the record's server version moves on.

    conflict/rejected: the operation stays with the server's reason, no longer pending, and the
    record shows what the server holds (plus any other pending edits). An answer to an operation
    that is not pending (a retried push) changes nothing. `sent`: the operations pushed, as held
    in memory, which need not be read back. Returns the merged operations some of whose
    values a later edit elsewhere outranked, with those fields (the worker is told).
    """
    found = outbox.find_many(db, (r.op_id for r in results), {op.op_id: op for op in sent})
    answered = [
        (result, found[result.op_id][0])
        for result in results
        if result.op_id in found and found[result.op_id][1] == "pending"
    ]
    batch = _Batch(db, [op for _, op in answered])
    outranked: list[tuple[Operation, list[str]]] = []
    for result, op in answered:
        if op.op_id in batch.settled:
            continue  # answered twice in one list: the first answer counts, as it would alone
        if result.status in ("applied", "merged"):
            batch.confirm(op, result.version)
            if result.superseded:
                outranked.append((op, list(result.superseded)))
        else:
            batch.problem(op, result)
    batch.flush()
    return outranked


def refresh_view(db: StoreDb, entity: str, record_id: str) -> None:
    """Rebuild a record's view from its shadow and the operations still pending on it."""
    shadow = records.read_shadow(db, entity, record_id)
    pending = outbox.pending_for(db, entity, record_id)
    view = rebase.replay(entity, shadow.snapshot if shadow else None, pending)
    if view is None:
        records.drop(db, entity, [record_id])
    else:
        version = shadow.version if shadow else None
        records.write_view(db, entity, record_id, version, view)


def guess_after(op: Operation, shadow: ServerState | None) -> Snapshot:
    """The server's state after it applied `op`, as far as the device can tell.

    For a merged operation the guess lacks the other side's changes; the pull that follows
    every push brings the real state at that version, which then replaces the guess.
    """
    before = shadow.snapshot if shadow is not None else Snapshot({})
    changed = {n: c.new for n, c in op.fields.items() if op.kind == "create" or c.new != c.base}
    return Snapshot(
        {**before.values, **changed},
        {**before.clocks, **dict.fromkeys(changed, op.hlc)},
        deleted=op.kind == "delete",
    )


class _Batch:
    """The records one list of answers concerns, held in memory, and the writes not yet made."""

    def __init__(self, db: StoreDb, ops: list[Operation]) -> None:
        self.db = db
        self.settled: set[str] = set()  # op_ids answered in this list
        self.present: set[Key] = set()  # records with a view row
        self.shadows: dict[Key, ServerState] = {}
        self.pending: dict[Key, list[str]] = {}  # op_ids still pending, oldest first
        self._removed: list[str] = []
        self._dropped: set[Key] = set()
        self._confirmed: dict[Key, ServerState] = {}
        by_entity: dict[str, set[str]] = defaultdict(set)
        for op in ops:
            by_entity[op.entity].add(op.record_id)
        for entity, ids in by_entity.items():
            self._load(entity, ids)

    def confirm(self, op: Operation, version: int | None) -> None:
        """The server applied `op`: move the shadow to its best guess of the server's state."""
        key = (op.entity, op.record_id)
        self._settle(op)
        self._removed.append(op.op_id)
        if key not in self.present:
            return  # the record has left the device (its grid left the scope)
        shadow = self.shadows.get(key)
        if version is None or (shadow is not None and version < shadow.version):
            return  # a newer state has been pulled already
        if op.kind == "delete" and not self.pending.get(key):
            self._drop(key)
            return
        state = ServerState(version, guess_after(op, shadow))
        self.shadows[key] = self._confirmed[key] = state

    def problem(self, op: Operation, result: OpResult) -> None:
        """A conflict or rejection: kept in the outbox, and the record's view rebuilt."""
        # The one-by-one path reads the database, so it must see every earlier answer.
        self.flush()
        self._settle(op)
        outbox.mark_problem(self.db, result)
        refresh_view(self.db, op.entity, op.record_id)
        self._load(op.entity, [op.record_id])

    def flush(self) -> None:
        """Write what the answers so far changed."""
        outbox.remove_many(self.db, self._removed)
        for entity, ids in _ids_by_entity(self._dropped).items():
            records.drop(self.db, entity, ids)
        for entity, states in _states_by_entity(self._confirmed.items()).items():
            records.write_shadows(self.db, entity, states)
            records.set_versions(self.db, entity, ((i, s.version) for i, s in states))
        self._removed, self._dropped, self._confirmed = [], set(), {}

    def _settle(self, op: Operation) -> None:
        self.settled.add(op.op_id)
        left = self.pending.get((op.entity, op.record_id), [])
        if op.op_id in left:
            left.remove(op.op_id)

    def _drop(self, key: Key) -> None:
        # A delete with nothing pending after it forgets the record, as a pulled deletion does.
        self.present.discard(key)
        self.shadows.pop(key, None)
        self._confirmed.pop(key, None)
        self._dropped.add(key)

    def _load(self, entity: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        present = records.view_ids(self.db, entity, ids)
        shadows = records.read_shadows(self.db, entity, ids)
        pending = outbox.pending_ids(self.db, entity, ids)
        for record_id in ids:
            key = (entity, record_id)
            if record_id in present:
                self.present.add(key)
            else:
                self.present.discard(key)
            if record_id in shadows:
                self.shadows[key] = shadows[record_id]
            else:
                self.shadows.pop(key, None)
            self.pending[key] = pending.get(record_id, [])


def _ids_by_entity(keys: Iterable[Key]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for entity, record_id in keys:
        grouped[entity].append(record_id)
    return grouped


def _states_by_entity(
    states: Iterable[tuple[Key, ServerState]],
) -> dict[str, list[tuple[str, ServerState]]]:
    grouped: dict[str, list[tuple[str, ServerState]]] = defaultdict(list)
    for (entity, record_id), state in states:
        grouped[entity].append((record_id, state))
    return grouped
