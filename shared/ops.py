"""An operation as the merge sees it: the one conversion of a pushed change into snapshots.

The server merges each pushed operation with `merge(base, mine=server row, theirs)`, and the
device replays its pending operations over a pulled record with the same call; both take the
(base, theirs) pair from here, so they cannot read an operation differently.
"""

from __future__ import annotations

from typing import Any

from shared.merge import Snapshot
from shared.protocol import Operation


def new_values(op: Operation) -> dict[str, Any]:
    """The values the operation sets, by field."""
    return {name: change.new for name, change in op.fields.items()}


def operation_snapshots(
    op: Operation, values: dict[str, Any] | None = None
) -> tuple[Snapshot | None, Snapshot]:
    """The (base, theirs) pair of `op`: base None for a create; theirs stamped with the
    operation's clock for every field it sets, and deleted for a delete (whose values are
    ignored). `values` replaces the sent values with checked, normalised ones."""
    if op.kind == "delete":
        theirs = Snapshot({}, deleted=True)
    else:
        sent = new_values(op) if values is None else values
        theirs = Snapshot(sent, dict.fromkeys(sent, op.hlc))
    if op.kind == "create":
        return None, theirs
    return Snapshot({name: change.base for name, change in op.fields.items()}), theirs
