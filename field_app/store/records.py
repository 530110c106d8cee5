"""The rows of records on the device: the local view the worker sees, and the server's shadow.

Each entity has a table of local views (the server's state with this device's pending operations
applied); `server_shadow` keeps the last state the server confirmed, which pending operations are
rebased on after a pull. A shadow row never exists without its view row; a view row exists
without a shadow while the server has not yet confirmed a record created on the device.

These functions run statements in the caller's transaction and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlite_utils import Database

from field_app.store import pinyin
from shared.merge import Snapshot
from shared.schema import ENTITIES, EntitySpec

SyncState = Literal["synced", "pending", "conflict", "rejected"]
_RANKED_STATES: tuple[SyncState, ...] = ("synced", "pending", "conflict", "rejected")


@dataclass(frozen=True)
class Record:
    """One record as the worker sees it."""

    entity: str
    id: str
    version: int | None  # the server version it rests on; None until the server confirmed it
    deleted: bool
    values: dict[str, Any]
    clocks: dict[str, str] = field(default_factory=dict)
    # What the sync badge shows: the worst state of the record's outbox operations.
    sync_state: SyncState = "synced"

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self.values), dict(self.clocks), self.deleted)


@dataclass(frozen=True)
class ServerState:
    """The last state of a record the server confirmed."""

    version: int
    snapshot: Snapshot


def entity_spec(entity: str) -> EntitySpec:
    """The schema of `entity`; a ValueError for a name that is not one (a programming error)."""
    spec = ENTITIES.get(entity)
    if spec is None:
        raise ValueError(f"There is no entity named {entity!r}; use one of {', '.join(ENTITIES)}.")
    return spec


def select_sql(
    entity: str, where: str = "1", *, order_by: str = "t.id", limit: int | None = None
) -> str:
    """A SELECT of view rows of `entity` (aliased `t`) with their sync rank, for `from_row`."""
    sql = (
        f"SELECT t.*, {sync_rank_sql(entity)} AS _sync_rank "
        f"FROM [{entity}] t WHERE {where} ORDER BY {order_by}"
    )
    return sql if limit is None else f"{sql} LIMIT {int(limit)}"


def sync_rank_sql(entity: str, alias: str = "t") -> str:
    """A scalar subquery ranking the outbox state of row `alias` of `entity` (for `from_row`)."""
    entity_spec(entity)  # entity is spliced into SQL: only schema names may pass
    return (
        "(SELECT MAX(CASE o.status WHEN 'rejected' THEN 3 "
        "WHEN 'conflict' THEN 2 ELSE 1 END) FROM outbox o "
        f"WHERE o.entity = '{entity}' AND o.record_id = {alias}.id)"
    )


def from_row(entity: str, row: Mapping[str, Any]) -> Record:
    spec = entity_spec(entity)
    values = {name: _decode(spec, name, row.get(name)) for name in spec.fields}
    rank = row.get("_sync_rank") or 0
    return Record(
        entity=entity,
        id=row["id"],
        version=row["version"],
        deleted=bool(row["deleted"]),
        values=values,
        clocks=json.loads(row["clocks"] or "{}"),
        sync_state=_RANKED_STATES[rank],
    )


def read_view(db: Database, entity: str, record_id: str) -> Record | None:
    rows = list(db.query(select_sql(entity, "t.id = ?"), [record_id]))
    return from_row(entity, rows[0]) if rows else None


def exists(db: Database, entity: str, record_id: str) -> bool:
    """Whether a live (not deleted) record is on the device."""
    entity_spec(entity)
    row = db.execute(
        f"SELECT 1 FROM [{entity}] WHERE id = ? AND deleted = 0", [record_id]
    ).fetchone()
    return row is not None


def write_view(
    db: Database, entity: str, record_id: str, version: int | None, snapshot: Snapshot
) -> None:
    """Insert or replace the local view of one record."""
    spec = entity_spec(entity)
    names = list(spec.fields)
    # Search keys (pinyin of a resident's name) are rewritten with every write of the row, so
    # they can never disagree with the name they were made from.
    derived = pinyin.derived_columns(entity, dict(snapshot.values))
    columns = ["id", "version", "deleted", *names, *derived, "clocks"]
    params = [
        record_id,
        version,
        int(snapshot.deleted),
        *(_encode(spec, n, snapshot.values.get(n)) for n in names),
        *derived.values(),
        json.dumps(dict(snapshot.clocks), sort_keys=True),
    ]
    db.execute(
        f"INSERT OR REPLACE INTO [{entity}] ({', '.join(f'[{c}]' for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})",
        params,
    )


def set_version(db: Database, entity: str, record_id: str, version: int | None) -> None:
    entity_spec(entity)
    db.execute(f"UPDATE [{entity}] SET version = ? WHERE id = ?", [version, record_id])


def read_shadow(db: Database, entity: str, record_id: str) -> ServerState | None:
    row = db.execute(
        "SELECT version, deleted, field_values, clocks FROM server_shadow "
        "WHERE entity = ? AND id = ?",
        [entity, record_id],
    ).fetchone()
    if row is None:
        return None
    version, deleted, values, clocks = row
    return ServerState(version, Snapshot(json.loads(values), json.loads(clocks), bool(deleted)))


def write_shadow(db: Database, entity: str, record_id: str, state: ServerState) -> None:
    spec = entity_spec(entity)
    # Only schema fields: a server may send derived values (birth date, sex) the device ignores.
    values = {n: v for n, v in state.snapshot.values.items() if n in spec.fields}
    db.execute(
        "INSERT OR REPLACE INTO server_shadow (entity, id, version, deleted, field_values, clocks) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            entity,
            record_id,
            state.version,
            int(state.snapshot.deleted),
            json.dumps(values, ensure_ascii=False, sort_keys=True),
            json.dumps(dict(state.snapshot.clocks), sort_keys=True),
        ],
    )


def drop(db: Database, entity: str, record_ids: Iterable[str]) -> int:
    """Forget records entirely (view and shadow); the number of view rows that went."""
    entity_spec(entity)
    dropped = 0
    for record_id in record_ids:
        dropped += db.execute(f"DELETE FROM [{entity}] WHERE id = ?", [record_id]).rowcount
        db.execute("DELETE FROM server_shadow WHERE entity = ? AND id = ?", [entity, record_id])
    return dropped


def _encode(spec: EntitySpec, name: str, value: Any) -> Any:
    if spec.fields[name].kind == "tags" and value is not None:
        return json.dumps(list(value), ensure_ascii=False)
    return value


def _decode(spec: EntitySpec, name: str, value: Any) -> Any:
    if spec.fields[name].kind == "tags" and value is not None:
        return json.loads(value)
    return value
