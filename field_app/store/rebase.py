"""Replaying pending operations over the server's state: what the server will hold after a push.

After a pull the device shows, for a record with unsent edits, the pulled state with those edits
re-applied through `shared.merge` — the very function the server will run on them — so the
worker's own edits do not vanish under a pulled change, and the preview matches the outcome.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared import merge
from shared.merge import Snapshot
from shared.ops import operation_snapshots
from shared.protocol import Operation


def replay(entity: str, server: Snapshot | None, ops: Iterable[Operation]) -> Snapshot | None:
    """`server` with `ops` applied in order; None when nothing exists (e.g. no server state and
    no create among the ops).

    An operation the merge refuses (say, an edit of a record the server does not have) is
    skipped: the server will refuse it as well, and the rejection will be shown then.
    """
    current = server
    for op in ops:
        base, theirs = operation_snapshots(op)
        try:
            result = merge.rebase(entity, base, current, theirs, pending_clock=op.hlc)
        except merge.MergeRejected:
            continue
        current = result.snapshot()
    return current
