"""The `thumb` table: pictures of the photos other people took, for the matters on this device.

A pull brings matters and steps that name photos by sha256; the phone fetches their thumbnails
after the sync (field_app/photos/fetch.py) and keeps each here, sealed with the store's key like
its own photos (a doorstep photo can show a resident). The whole photo comes only when the
worker opens it, and is kept beside its thumbnail (`full`).

What to fetch is derived, not queued: the photos the device's live matters and steps name, less
those it holds (its own in `photo`, others' here). So a fetch that failed is simply asked for
again at the next sync, and a photo whose matter left the device's scope is forgotten by
`forget_unnamed`, which the store runs with every pull page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from field_app.store.sealed import StoreDb

_ENTITY = "thumb"  # the place a picture is sealed for: (entity, sha256, field)
_NAMED = (
    "SELECT j.value FROM matter m, json_each(m.photos) j "
    "WHERE m.deleted = 0 AND m.photos IS NOT NULL "
    "UNION SELECT j.value FROM matter_step s, json_each(s.photos) j "
    "WHERE s.deleted = 0 AND s.photos IS NOT NULL"
)


def named(db: StoreDb) -> set[str]:
    """Every photo the live matters and steps on the device name."""
    return {str(row[0]) for row in db.execute(_NAMED).fetchall()}


def wanted(db: StoreDb) -> list[str]:
    """Photos named here whose picture the device holds in neither table, in name order."""
    rows = db.execute(
        f"SELECT value FROM ({_NAMED}) WHERE value NOT IN (SELECT sha256 FROM photo) "
        "AND value NOT IN (SELECT sha256 FROM thumb) ORDER BY value"
    ).fetchall()
    return [str(row[0]) for row in rows]


def add(db: StoreDb, thumbs: Mapping[str, bytes], now: datetime) -> int:
    """Keep fetched thumbnails of photos still named here (one whose matter left meanwhile is
    not kept); how many were kept."""
    still = named(db)
    rows = [
        (sha256, db.sealer.seal_bytes(_ENTITY, sha256, "data", data), now.isoformat())
        for sha256, data in thumbs.items()
        if sha256 in still
    ]
    db.conn.executemany(
        "INSERT OR IGNORE INTO thumb (sha256, data, fetched_at) VALUES (?, ?, ?)", rows
    )
    return len(rows)


def keep_full(db: StoreDb, sha256: str, data: bytes, now: datetime) -> None:
    """Keep the whole photo beside its thumbnail (a row is made if the thumbnail is missing)."""
    sealed = db.sealer.seal_bytes(_ENTITY, sha256, "full", data)
    db.execute(
        "INSERT INTO thumb (sha256, full, fetched_at) VALUES (?, ?, ?) "
        "ON CONFLICT (sha256) DO UPDATE SET full = excluded.full",
        [sha256, sealed, now.isoformat()],
    )


def thumb_of(db: StoreDb, sha256: str) -> bytes | None:
    return _open(db, sha256, "data")


def full_of(db: StoreDb, sha256: str) -> bytes | None:
    return _open(db, sha256, "full")


def forget_unnamed(db: StoreDb) -> int:
    """Forget the pictures no live matter or step on the device names any more (the matter
    left the device's scope, or was deleted); how many."""
    return db.execute(f"DELETE FROM thumb WHERE sha256 NOT IN ({_NAMED})").rowcount


def _open(db: StoreDb, sha256: str, field: str) -> bytes | None:
    row = db.execute(f"SELECT [{field}] FROM thumb WHERE sha256 = ?", [sha256]).fetchone()
    if row is None or row[0] is None:
        return None
    return db.sealer.open_bytes(_ENTITY, sha256, field, row[0])
