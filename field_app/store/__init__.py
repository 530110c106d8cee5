"""The device's local store: records, outbox and sync bookkeeping in one SQLite file.

    from field_app.store import Store
    store = Store.open("gridsweep.db")
    op = store.create("resident", {"name": "张三", "id_number": ...}, user_id=user)

Modules, one job each: `db` (opening, WAL, write transactions), `modes` (the two store modes),
`cipher` (page encryption with SQLCipher where it exists: keying, encrypting an old plain store,
crypto-erase), `sealed` (personal values sealed in both modes, keyed search hashes), `keys` and
`secure_keys` (who holds the key: a file, or the phone's keystore),
`migrations` (table layout), `checks` (validating input), `records` (views and server shadows),
`outbox` (operations), `meta` (device facts, cursor, clock), `rebase` and `pull` (applying
pulled pages), `queries` (what the screens list), `sweep` (counts and visit status per level),
`campaigns` and `kept` (campaigns' missed lists, recomputed and kept), `search` and `pinyin`
(finding residents), `photos` (photos kept and their upload progress), `thumbs` (others'
photos: thumbnails of the matters here, whole photos opened)
and `store` (the `Store` facade that ties them into transactions).
"""

from field_app.store.errors import (
    EncryptionUnavailable,
    KeyMissing,
    RecordNotFound,
    StoreError,
    StoreLocked,
    WrongKey,
)
from field_app.store.outbox import OutboxCounts, OutboxProblem
from field_app.store.pull import PullApplied
from field_app.store.queries import Occupant
from field_app.store.records import Record, SyncState
from field_app.store.search import ResidentHit
from field_app.store.store import Store
from field_app.store.sweep import HouseSummary, PlaceSummary, Tally
from shared.errors import FieldError, ValidationFailed

__all__ = [
    "EncryptionUnavailable",
    "FieldError",
    "HouseSummary",
    "KeyMissing",
    "Occupant",
    "OutboxCounts",
    "OutboxProblem",
    "PlaceSummary",
    "PullApplied",
    "Record",
    "RecordNotFound",
    "ResidentHit",
    "Store",
    "StoreError",
    "StoreLocked",
    "SyncState",
    "Tally",
    "ValidationFailed",
    "WrongKey",
]
