"""The outbox: operations waiting to be pushed, and those the server would not simply apply.

An operation is written in the same transaction as the edit it describes and leaves the outbox
only once the server has applied or merged it. A conflicting or rejected operation stays, with
the server's reason, until the worker has seen it: nothing typed at a door disappears silently.

Personal values in an operation's fields and in a conflict's detail are kept sealed
(`sealed.py`) and opened as operations are read back.

These functions run statements in the caller's transaction and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from field_app.store.db import chunks, marks
from field_app.store.sealed import Sealer, StoreDb
from shared.protocol import FieldChange, FieldClash, Operation, OpResult

ProblemStatus = Literal["conflict", "rejected"]
_COLUMNS = "op_id, entity, record_id, kind, base_version, fields, hlc, device_id, user_id"
_CLASH_PARTS = ("base", "server", "device")


@dataclass(frozen=True)
class OutboxProblem:
    """An operation the server answered with a conflict or a rejection."""

    op: Operation
    status: ProblemStatus
    conflict_id: str | None = None  # the server's conflict, for an admin to settle
    code: str | None = None  # stable reason code of a rejection (see shared.messages)
    field: str | None = None
    reason: str | None = None
    clashes: tuple[FieldClash, ...] = ()  # a field conflict: only the fields in conflict


@dataclass(frozen=True)
class OutboxCounts:
    """For the "N changes waiting" indicator and the problems badge."""

    pending: int = 0
    conflict: int = 0
    rejected: int = 0


def enqueue(db: StoreDb, op: Operation, *, now: datetime) -> None:
    db.execute(
        f"INSERT INTO outbox ({_COLUMNS}, created_at, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
        [
            op.op_id,
            op.entity,
            op.record_id,
            op.kind,
            op.base_version,
            json.dumps(
                {
                    n: db.sealer.seal_parts(op.entity, op.record_id, n, c.model_dump())
                    for n, c in op.fields.items()
                },
                ensure_ascii=False,
            ),
            op.hlc,
            op.device_id,
            op.user_id,
            now.isoformat(),
        ],
    )


def pending(db: StoreDb, limit: int | None = None) -> list[Operation]:
    """Operations still to push, oldest first (the order the server must apply them in)."""
    sql = f"SELECT {_COLUMNS} FROM outbox WHERE status = 'pending' ORDER BY seq"
    params: list[Any] = []
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [_operation(db.sealer, row) for row in db.execute(sql, params).fetchall()]


def pending_after(db: StoreDb, after: int | None, limit: int) -> list[tuple[int, Operation]]:
    """Up to `limit` pending operations after outbox position `after`, with their positions.

    A push reads its next batch while the answer to the one before is still being taken, so it
    reads on from where it got to rather than from what is still pending.
    """
    rows = db.execute(
        f"SELECT seq, {_COLUMNS} FROM outbox WHERE status = 'pending' AND seq > ? "
        "ORDER BY seq LIMIT ?",
        [-1 if after is None else after, limit],
    ).fetchall()
    return [(row[0], _operation(db.sealer, row[1:])) for row in rows]


def pending_for(db: StoreDb, entity: str, record_id: str) -> list[Operation]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM outbox "
        "WHERE status = 'pending' AND entity = ? AND record_id = ? ORDER BY seq",
        [entity, record_id],
    ).fetchall()
    return [_operation(db.sealer, row) for row in rows]


def find(db: StoreDb, op_id: str) -> tuple[Operation, str] | None:
    """The operation and its status ("pending", "conflict" or "rejected")."""
    row = db.execute(f"SELECT {_COLUMNS}, status FROM outbox WHERE op_id = ?", [op_id]).fetchone()
    return None if row is None else (_operation(db.sealer, row[:-1]), row[-1])


def find_many(
    db: StoreDb, op_ids: Iterable[str], known: Mapping[str, Operation] | None = None
) -> dict[str, tuple[Operation, str]]:
    """`find` for many operations at once, by op_id (unknown ones are left out).

    The operations in `known` (the ones just pushed, held in memory) are not read back: only
    their status is.
    """
    known = known or {}
    wanted = list(dict.fromkeys(op_ids))
    found: dict[str, tuple[Operation, str]] = {}
    for ids in chunks([i for i in wanted if i in known]):
        sql = f"SELECT op_id, status FROM outbox WHERE op_id IN ({marks(ids)})"
        for op_id, status in db.execute(sql, ids).fetchall():
            found[op_id] = (known[op_id], status)
    for ids in chunks([i for i in wanted if i not in known]):
        sql = f"SELECT {_COLUMNS}, status FROM outbox WHERE op_id IN ({marks(ids)})"
        for row in db.execute(sql, ids).fetchall():
            found[row[0]] = (_operation(db.sealer, row[:-1]), row[-1])
    return found


def pending_ids(db: StoreDb, entity: str, record_ids: Iterable[str]) -> dict[str, list[str]]:
    """op_ids still to push for each of `record_ids` that has any, oldest first."""
    found: dict[str, list[str]] = {}
    for ids in chunks(dict.fromkeys(record_ids)):
        rows = db.execute(
            "SELECT record_id, op_id FROM outbox WHERE status = 'pending' AND entity = ? "
            f"AND record_id IN ({marks(ids)}) ORDER BY seq",
            [entity, *ids],
        ).fetchall()
        for record_id, op_id in rows:
            found.setdefault(record_id, []).append(op_id)
    return found


def remove(db: StoreDb, op_id: str) -> None:
    remove_many(db, [op_id])


def remove_many(db: StoreDb, op_ids: Iterable[str]) -> None:
    db.conn.executemany("DELETE FROM outbox WHERE op_id = ?", ([op_id] for op_id in op_ids))


def mark_problem(db: StoreDb, result: OpResult) -> None:
    """Keep the operation, no longer pending, with what the server said about it."""
    clashes = []
    for clash in result.conflicts or ():
        dumped = clash.model_dump(mode="json")
        parts = {k: dumped[k] for k in _CLASH_PARTS}
        sealed = db.sealer.seal_parts(result.entity, result.record_id, clash.field, parts)
        clashes.append({"field": clash.field, **sealed})
    db.execute(
        "UPDATE outbox SET status = ?, conflict_id = ?, code = ?, field = ?, reason = ?, "
        "result_version = ?, detail = ? WHERE op_id = ?",
        [
            result.status,
            result.conflict_id,
            result.code,
            result.field,
            result.reason,
            result.version,
            json.dumps(clashes, ensure_ascii=False) if clashes else None,
            result.op_id,
        ],
    )


def problems(
    db: StoreDb, entity: str | None = None, record_id: str | None = None
) -> list[OutboxProblem]:
    """Conflicting and rejected operations, oldest first; of one record when it is given."""
    sql = (
        f"SELECT {_COLUMNS}, status, conflict_id, code, field, reason, detail FROM outbox "
        "WHERE status IN ('conflict', 'rejected')"
    )
    params: list[Any] = []
    if entity is not None and record_id is not None:
        sql += " AND entity = ? AND record_id = ?"
        params += [entity, record_id]
    rows = db.execute(sql + " ORDER BY seq", params).fetchall()
    return [
        OutboxProblem(
            _operation(db.sealer, row[:9]),
            row[9],
            row[10],
            row[11],
            row[12],
            row[13],
            tuple(_clash(db.sealer, row[1], row[2], c) for c in json.loads(row[14] or "[]")),
        )
        for row in rows
    ]


def counts(db: StoreDb) -> OutboxCounts:
    found = dict(db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())
    return OutboxCounts(
        pending=found.get("pending", 0),
        conflict=found.get("conflict", 0),
        rejected=found.get("rejected", 0),
    )


def pending_changes(db: StoreDb) -> int:
    """Pending changes as the worker made them: one per person, place, visit or outcome
    touched, however many operations it took (a person added at the door is the person and
    their binding; a move closes one binding and may open another)."""
    row = db.execute(
        """
        SELECT COUNT(DISTINCT CASE
            WHEN o.entity = 'resident' THEN 'resident:' || o.record_id
            WHEN o.entity = 'binding' THEN 'resident:' || COALESCE(
                json_extract(o.fields, '$.resident_id.new'), b.resident_id, o.record_id)
            ELSE o.entity || ':' || o.record_id END)
        FROM outbox o LEFT JOIN binding b ON o.entity = 'binding' AND b.id = o.record_id
        WHERE o.status = 'pending'
        """
    ).fetchone()
    return int(row[0]) if row else 0


def _clash(sealer: Sealer, entity: str, record_id: str, stored: dict[str, Any]) -> FieldClash:
    name = stored["field"]
    parts = sealer.open_parts(entity, record_id, name, {k: stored.get(k) for k in _CLASH_PARTS})
    return FieldClash.model_validate({"field": name, **parts})


def _operation(sealer: Sealer, row: tuple[Any, ...]) -> Operation:
    # Not validated again: every row was an `Operation` this store validated when it wrote it,
    # and an outbox of thousands is read twice a sync (to push it, and to take the answers).
    op_id, entity, record_id, kind, base_version, fields, hlc, device_id, user_id = row
    return Operation.model_construct(
        op_id=op_id,
        entity=entity,
        record_id=record_id,
        kind=kind,
        base_version=base_version,
        fields={
            n: FieldChange.model_construct(**sealer.open_parts(entity, record_id, n, c))
            for n, c in json.loads(fields).items()
        },
        hlc=hlc,
        device_id=device_id,
        user_id=user_id,
    )


def settle_conflicts(db: StoreDb, open_ids: Iterable[str]) -> list[Operation]:
    """Drop conflict operations whose conflict an admin has settled (not among `open_ids`);
    returns them, for the worker to be told."""
    still_open = json.dumps(sorted(open_ids))
    where = "WHERE status = 'conflict' AND conflict_id NOT IN (SELECT value FROM json_each(?))"
    rows = db.execute(f"SELECT {_COLUMNS} FROM outbox {where} ORDER BY seq", [still_open])
    settled = [_operation(db.sealer, row) for row in rows.fetchall()]
    db.execute(f"DELETE FROM outbox {where}", [still_open])
    return settled
