"""The `photo` table: photos kept on this device and how far each has been uploaded.

A photo is kept once per sha256 (the same picture added twice is one row), its JPEG sealed with
the store's key like every personal value (a photo of a doorstep can show a resident), and
uploaded on its own queue (field_app/photos/upload.py): `uploaded` is the byte count the server
was last known to hold, only ever a hint — the uploader asks the server before it sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from field_app.store.sealed import StoreDb

PENDING = "pending"
DONE = "done"
PhotoState = Literal["pending", "done"]
_PLACE = ("photo", "data")  # entity and field a photo's bytes are sealed for, with its sha256


@dataclass(frozen=True)
class PhotoRow:
    """A kept photo's bookkeeping (its bytes are read apart: `data_of`)."""

    sha256: str
    size: int
    uploaded: int
    state: PhotoState
    created_at: str
    error: str | None


@dataclass(frozen=True)
class PhotoCounts:
    """What the sync screen says about photos: how many wait to leave, how many bytes, and how
    many failed at their last attempt."""

    pending: int
    pending_bytes: int
    failed: int


def add(db: StoreDb, sha256: str, data: bytes, now: datetime) -> bool:
    """Keep `data` under `sha256` unless it is kept already; whether it was new."""
    sealed = db.sealer.seal_bytes(_PLACE[0], sha256, _PLACE[1], data)
    cursor = db.execute(
        "INSERT OR IGNORE INTO photo (sha256, data, size, uploaded, state, created_at) "
        "VALUES (?, ?, ?, 0, ?, ?)",
        [sha256, sealed, len(data), PENDING, now.isoformat()],
    )
    return cursor.rowcount == 1


def data_of(db: StoreDb, sha256: str) -> bytes | None:
    row = db.execute("SELECT data FROM photo WHERE sha256 = ?", [sha256]).fetchone()
    return None if row is None else db.sealer.open_bytes(_PLACE[0], sha256, _PLACE[1], row[0])


def get(db: StoreDb, sha256: str) -> PhotoRow | None:
    rows = _rows(db, "WHERE sha256 = ?", [sha256])
    return rows[0] if rows else None


def pending(db: StoreDb, limit: int | None = None) -> list[PhotoRow]:
    """Photos not yet wholly on the server, oldest first (a matter's photos leave in order)."""
    tail = "" if limit is None else f" LIMIT {int(limit)}"
    return _rows(db, f"WHERE state = ? ORDER BY created_at, sha256{tail}", [PENDING])


def progress(
    db: StoreDb, sha256: str, uploaded: int, *, done: bool = False, error: str | None = None
) -> None:
    db.execute(
        "UPDATE photo SET uploaded = ?, state = ?, error = ? WHERE sha256 = ?",
        [uploaded, DONE if done else PENDING, error, sha256],
    )


def counts(db: StoreDb) -> PhotoCounts:
    row = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(size - uploaded), 0), COUNT(error) "
        "FROM photo WHERE state = ?",
        [PENDING],
    ).fetchone()
    return PhotoCounts(pending=row[0], pending_bytes=row[1], failed=row[2])


def _rows(db: StoreDb, where: str, params: list[object]) -> list[PhotoRow]:
    return [
        PhotoRow(*row)
        for row in db.execute(
            f"SELECT sha256, size, uploaded, state, created_at, error FROM photo {where}", params
        ).fetchall()
    ]
