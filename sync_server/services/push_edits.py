"""Set-based apply of a push batch's plain edits of residents: merged in memory, written together.

The door-to-door work is mostly edits of people: a new phone number, a note, a tag. Applied one
at a time each took a savepoint and an ORM flush. Here the edit is merged in memory with the row
the batch loaded (`shared.merge.merge`, as on the per-operation path), and the batch's edits are
written with one executemany UPDATE per set of columns.

Taken: an update, by a worker, of a live resident the batch loaded, in the worker's grids, whose
values pass the rules and whose merge needs no person (no conflict). Not taken, and left to the
per-operation path in `sync_server.services.push`: everything else, among it an edit of an ID
number (a duplicate there is for a person to settle), a second edit of a record whose first is
still planned here (the push flushes first), and an edit that conflicts. If the UPDATE fails, the
planned edits are replayed one by one on that path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from shared.clock import china_date
from shared.merge import Snapshot
from shared.protocol import Operation, OpResult
from shared.records import check_values
from shared.schema import ENTITIES
from sync_server.models import Resident, SyncedMixin
from sync_server.records import column_values, snapshot_of, values_of
from sync_server.services.changes import ChangeSet
from sync_server.services.push_bulk import Flushed, Planning, merge_in_memory

# Fields whose edit the per-operation path must see: a changed ID number may be someone else's.
_NOT_HERE = frozenset({"id_number"})


@dataclass
class _Edit:
    position: int
    op: Operation
    row: SyncedMixin
    columns: dict[str, Any]  # what the UPDATE sets; empty when the merge changed nothing
    grids: set[str]
    outcome: dict[str, Any]  # the result's status, version and reason


class BulkEdits:
    """Plans the resident edits it can take, then writes them together when `flush` is called."""

    def __init__(
        self,
        push: Planning,
        *,
        rows: dict[tuple[str, str], SyncedMixin],
    ) -> None:
        self.push = push
        self.rows = rows  # the push's: the rows the batch loaded
        self.pending: list[_Edit] = []
        self.planned: set[str] = set()  # record ids with an edit pending here
        self.op_ids: set[str] = set()

    def take(self, op: Operation, position: int) -> bool:
        """Plan `op` if it can be decided here; False leaves it to the per-operation path."""
        if (
            op.entity != "resident"
            or op.kind != "update"
            or op.op_id in self.op_ids
            or op.record_id in self.planned
            or not self.push.made_it(op)
            or _NOT_HERE.intersection(op.fields)
            or op.base_version is None
        ):
            return False
        row = self.rows.get(("resident", op.record_id))
        grids = self.push.resident_grid_cache.get(op.record_id)
        if row is None or row.deleted or not grids or not grids <= self.push.grids.leaves:
            return False
        if self.push.held([op.record_id]):
            return False
        values, errors = check_values(
            "resident",
            {n: c.new for n, c in op.fields.items()},
            creating=False,
            today=china_date(self.push.now),
        )
        if errors:
            return False
        base = Snapshot({k: v.base for k, v in op.fields.items()})
        result = merge_in_memory(self.push.clock, op, base, snapshot_of("resident", row), values)
        if result is None:
            return False
        if result.conflicts:
            return False  # a conflict record for a person: the per-operation path writes it
        moved_on = row.version > op.base_version and row.updated_by_device_id != op.device_id
        columns: dict[str, Any] = {}
        version = row.version
        if result.kind != "unchanged":
            spec = ENTITIES["resident"]
            columns = column_values(
                "resident", {k: result.values[k] for k in result.changed if k in spec.fields}
            )
            if result.changed or result.deleted != row.deleted:
                version += 1
            columns.update(
                version=version,
                clocks=dict(result.clocks),
                deleted=result.deleted,
                updated_by_user_id=self.push.user_id,
                updated_by_device_id=op.device_id,
            )
        outcome: dict[str, Any] = {"version": version}
        if result.superseded:
            names = ", ".join(sorted(result.superseded))
            outcome.update(status="merged", reason=f"a later edit elsewhere won for {names}")
        elif result.kind == "merged" or (moved_on and result.kind != "unchanged"):
            outcome.update(status="merged")
        else:
            outcome.update(status="applied")
        self.pending.append(_Edit(position, op, row, columns, set(grids), outcome))
        self.planned.add(op.record_id)
        self.op_ids.add(op.op_id)
        return True

    def forget(self, op: Operation) -> None:
        """Nothing is cached here beyond the push's own rows, which the per-operation path keeps
        current; kept for the push's planners to share one shape."""

    def flush(self, changes: ChangeSet) -> Flushed:
        planned, self.pending = self.pending, []
        self.planned.clear()
        done = Flushed()
        if not planned:
            return done
        now = self.push.now
        by_columns: dict[frozenset[str], list[dict[str, Any]]] = {}
        for edit in planned:
            if edit.columns:
                values = {**edit.columns, "updated_at": now, "id": edit.op.record_id}
                by_columns.setdefault(frozenset(values), []).append(values)
        try:
            with self.push.session.begin_nested():
                for rows in by_columns.values():
                    # ORM bulk UPDATE by primary key: one executemany per set of columns.
                    self.push.session.execute(update(Resident), rows)
        except (IntegrityError, DataError):
            done.replay = [(edit.position, edit.op) for edit in planned]
            return done
        for edit in planned:
            if edit.columns:
                # The loaded row now holds what was written, for the batch's later operations.
                for name, value in {**edit.columns, "updated_at": now}.items():
                    set_committed_value(edit.row, name, value)
            changes.add("resident", edit.op.record_id, edit.grids, pending=True)
            echo = (
                self.push.echo_of(edit.op, values_of("resident", edit.row))
                if edit.outcome["status"] == "applied"
                else None
            )
            changes.settle("resident", edit.op.record_id, echo)
            done.results.append(
                (
                    edit.position,
                    OpResult(
                        op_id=edit.op.op_id,
                        entity="resident",
                        record_id=edit.op.record_id,
                        **edit.outcome,
                    ),
                )
            )
        return done
