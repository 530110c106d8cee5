"""The rows of records on the device: the local view the worker sees, and the server's shadow.

Each entity has a table of local views (the server's state with this device's pending operations
applied); `server_shadow` keeps the last state the server confirmed, which pending operations are
rebased on after a pull. A shadow row never exists without its view row; a view row exists
without a shadow while the server has not yet confirmed a record created on the device.

Personal values are sealed on the way in and opened on the way out (`sealed.py`): a `Record`
always holds them in the clear, a row never does.

These functions run statements in the caller's transaction and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from field_app.store import pinyin
from field_app.store.db import chunks, marks
from field_app.store.sealed import PERSONAL, SEARCH_KEYS, Sealer, StoreDb
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


def from_row(entity: str, row: Mapping[str, Any], sealer: Sealer) -> Record:
    """The record in a view row of `entity` (personal values opened with `sealer`)."""
    spec = entity_spec(entity)
    record_id = row["id"]
    personal = PERSONAL.get(entity, frozenset())
    values = {
        name: sealer.open(entity, record_id, name, row.get(name))
        if name in personal
        else _decode(spec, name, row.get(name))
        for name in spec.fields
    }
    rank = row.get("_sync_rank") or 0
    return Record(
        entity=entity,
        id=record_id,
        version=row["version"],
        deleted=bool(row["deleted"]),
        values=values,
        clocks=json.loads(row["clocks"] or "{}"),
        sync_state=_RANKED_STATES[rank],
    )


def read_view(db: StoreDb, entity: str, record_id: str) -> Record | None:
    rows = list(db.query(select_sql(entity, "t.id = ?"), [record_id]))
    return from_row(entity, rows[0], db.sealer) if rows else None


def exists(db: StoreDb, entity: str, record_id: str) -> bool:
    """Whether a live (not deleted) record is on the device."""
    entity_spec(entity)
    row = db.execute(
        f"SELECT 1 FROM [{entity}] WHERE id = ? AND deleted = 0", [record_id]
    ).fetchone()
    return row is not None


def write_view(
    db: StoreDb, entity: str, record_id: str, version: int | None, snapshot: Snapshot
) -> None:
    """Insert or replace the local view of one record."""
    write_views(db, entity, [(record_id, version, snapshot)])


def write_views(
    db: StoreDb, entity: str, views: Iterable[tuple[str, int | None, Snapshot]]
) -> None:
    """Insert or replace the local views of records of `entity`: (id, version, snapshot)."""
    spec = entity_spec(entity)
    names = list(spec.fields)
    personal = PERSONAL.get(entity, frozenset())
    sealer = db.sealer
    # Search keys (pinyin of a resident's name, hashes of their numbers) are rewritten with every
    # write of the row, so they can never disagree with the values they were made from.
    derived = [
        *pinyin.derived_columns(entity, {}),
        *([SEARCH_KEYS] if entity == "resident" else []),
    ]
    columns = ["id", "version", "deleted", *names, *derived, "clocks"]

    def derived_values(values: dict[str, Any]) -> list[Any]:
        found = list(pinyin.derived_columns(entity, values).values())
        return [*found, sealer.search_keys(values)] if entity == "resident" else found

    rows = (
        [
            record_id,
            version,
            int(snapshot.deleted),
            *(
                sealer.seal(entity, record_id, n, snapshot.values.get(n))
                if n in personal
                else _encode(spec, n, snapshot.values.get(n))
                for n in names
            ),
            *derived_values(dict(snapshot.values)),
            json.dumps(dict(snapshot.clocks), sort_keys=True),
        ]
        for record_id, version, snapshot in views
    )
    db.conn.executemany(
        f"INSERT OR REPLACE INTO [{entity}] ({', '.join(f'[{c}]' for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})",
        rows,
    )


def view_ids(db: StoreDb, entity: str, record_ids: Iterable[str]) -> set[str]:
    """Which of `record_ids` have a view row on the device (tombstones included)."""
    entity_spec(entity)
    found: set[str] = set()
    for ids in chunks(record_ids):
        sql = f"SELECT id FROM [{entity}] WHERE id IN ({marks(ids)})"
        found.update(row[0] for row in db.execute(sql, ids).fetchall())
    return found


def set_version(db: StoreDb, entity: str, record_id: str, version: int | None) -> None:
    set_versions(db, entity, [(record_id, version)])


def set_versions(db: StoreDb, entity: str, versions: Iterable[tuple[str, int | None]]) -> None:
    """Move the server version of view rows: (id, version)."""
    entity_spec(entity)
    db.conn.executemany(
        f"UPDATE [{entity}] SET version = ? WHERE id = ?",
        ((version, record_id) for record_id, version in versions),
    )


def read_shadow(db: StoreDb, entity: str, record_id: str) -> ServerState | None:
    return read_shadows(db, entity, [record_id]).get(record_id)


def read_shadows(db: StoreDb, entity: str, record_ids: Iterable[str]) -> dict[str, ServerState]:
    """The shadows held of `record_ids`, by id (records without one are left out)."""
    found: dict[str, ServerState] = {}
    for ids in chunks(record_ids):
        rows = db.execute(
            "SELECT id, version, deleted, field_values, clocks FROM server_shadow "
            f"WHERE entity = ? AND id IN ({marks(ids)})",
            [entity, *ids],
        ).fetchall()
        for record_id, version, deleted, values, clocks in rows:
            opened = db.sealer.open_values(entity, record_id, json.loads(values))
            snapshot = Snapshot(opened, json.loads(clocks), bool(deleted))
            found[record_id] = ServerState(version, snapshot)
    return found


def write_shadow(db: StoreDb, entity: str, record_id: str, state: ServerState) -> None:
    write_shadows(db, entity, [(record_id, state)])


def write_shadows(db: StoreDb, entity: str, states: Iterable[tuple[str, ServerState]]) -> None:
    """Insert or replace the server shadows of records of `entity`: (id, state)."""
    spec = entity_spec(entity)
    rows = (
        [
            entity,
            record_id,
            state.version,
            int(state.snapshot.deleted),
            # Only schema fields: a server may send derived values (birth date, sex) the device
            # ignores.
            json.dumps(
                db.sealer.seal_values(
                    entity,
                    record_id,
                    {n: v for n, v in state.snapshot.values.items() if n in spec.fields},
                ),
                ensure_ascii=False,
                sort_keys=True,
            ),
            json.dumps(dict(state.snapshot.clocks), sort_keys=True),
        ]
        for record_id, state in states
    )
    db.conn.executemany(
        "INSERT OR REPLACE INTO server_shadow (entity, id, version, deleted, field_values, clocks) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


def drop(db: StoreDb, entity: str, record_ids: Iterable[str]) -> int:
    """Forget records entirely (view and shadow); the number of view rows that went."""
    entity_spec(entity)
    params = [[record_id] for record_id in record_ids]
    dropped = db.conn.executemany(f"DELETE FROM [{entity}] WHERE id = ?", params).rowcount
    db.conn.executemany(
        "DELETE FROM server_shadow WHERE entity = ? AND id = ?",
        ([entity, record_id] for [record_id] in params),
    )
    return max(dropped, 0)


def _encode(spec: EntitySpec, name: str, value: Any) -> Any:
    if spec.fields[name].kind in ("tags", "json") and value is not None:
        return json.dumps(list(value), ensure_ascii=False)
    return value


def _decode(spec: EntitySpec, name: str, value: Any) -> Any:
    if spec.fields[name].kind in ("tags", "json") and value is not None:
        return json.loads(value)
    return value
