"""Where the importer announces each record it created or changed, so devices can pull it.

`sync_server.services.changes.ChangeSet` fits this protocol: pass one to `import_grid`, then call
`commit_changes` with it as the transaction's last write. Each record is announced with every
level-5 grid (or, for a grid node, its own id) it was or now is in, so a device whose grid a
resident left hears about it as well as the device of the grid they joined.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class ChangeSink(Protocol):
    def add(self, entity: str, record_id: str, grids: Iterable[str]) -> None: ...


class NoChanges:
    """The sink used when the caller does not track changes (scripts, tests)."""

    def add(self, entity: str, record_id: str, grids: Iterable[str]) -> None:
        return None
