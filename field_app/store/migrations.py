"""The history of the device database's schema, as `sqlite_utils` migrations.

Each migration runs once, inside a transaction together with the row that records it, so a phone
switched off during an app update resumes cleanly. Migrations spell out their columns instead of
deriving them from `shared.schema.ENTITIES`: a migration that already ran on thousands of phones
must not change meaning when the schema grows. A new schema field needs a new migration here
(tests/field_app/test_store.py fails until it exists).

Tables
    <entity> (grid_node, building, unit, house, resident, binding, visit)
        The local view: what the worker sees, i.e. the server's state with this device's pending
        operations applied. id, version (the server version it rests on; NULL until the server
        has confirmed the record), deleted, one column per schema field (tags as JSON text), and
        clocks (JSON: field → HLC timestamp of the write that set it). `resident` also keeps
        derived pinyin search keys (search_initials, search_pinyin; see `pinyin`).
    server_shadow
        The last server-confirmed state of each record, (entity, id) → version, deleted,
        field_values and clocks as JSON. Pending operations are rebased on it after a pull.
    outbox
        Operations not yet settled, in creation order (seq): pending ones wait to be pushed;
        conflict and rejected ones stay for the worker to see.
    meta
        Key → JSON value: device id, user, server URL, token, pull cursor, HLC, scope, last sync.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("gridsweep_field_app")

# Schema fields as they were when m001 was written; see the module docstring.
_M001_FIELDS: dict[str, dict[str, type]] = {
    "grid_node": {"parent_id": str, "level": int, "code": str, "name": str},
    "building": {"grid_id": str, "road": str, "lane": str, "number": str, "name": str},
    "unit": {"building_id": str, "name": str},
    "house": {"grid_id": str, "building_id": str, "unit_id": str, "room": str, "address": str},
    "resident": {
        "name": str,
        "id_number": str,
        "phone": str,
        "residence_status": str,
        "tags": str,
        "note": str,
    },
    "binding": {
        "resident_id": str,
        "house_id": str,
        "relation": str,
        "start_date": str,
        "end_date": str,
    },
}
_M001_INDEXES: dict[str, list[str]] = {
    "grid_node": ["parent_id"],
    "building": ["grid_id"],
    "unit": ["building_id"],
    "house": ["grid_id", "building_id"],
    "binding": ["house_id", "resident_id"],
}


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    for entity, fields in _M001_FIELDS.items():
        table = db.table(entity)
        table.create(
            {"id": str, "version": int, "deleted": int, **fields, "clocks": str},
            pk="id",
            not_null=["deleted", "clocks"],
            defaults={"deleted": 0, "clocks": "{}"},
        )
        for column in _M001_INDEXES.get(entity, []):
            table.create_index([column])

    db.table("server_shadow").create(
        {
            "entity": str,
            "id": str,
            "version": int,
            "deleted": int,
            "field_values": str,
            "clocks": str,
        },
        pk=("entity", "id"),
        not_null=["version", "deleted", "field_values", "clocks"],
    )

    outbox = db.table("outbox")
    outbox.create(
        {
            "seq": int,  # creation order: operations on one record must reach the server in order
            "op_id": str,
            "entity": str,
            "record_id": str,
            "kind": str,
            "base_version": int,
            "fields": str,
            "hlc": str,
            "device_id": str,
            "user_id": str,
            "created_at": str,
            "status": str,
            "conflict_id": str,
            "code": str,
            "field": str,
            "reason": str,
            "result_version": int,
        },
        pk="seq",
        not_null=["op_id", "entity", "record_id", "kind", "fields", "hlc", "status"],
        defaults={"status": "pending"},
    )
    outbox.create_index(["op_id"], unique=True)
    outbox.create_index(["status", "seq"])
    outbox.create_index(["entity", "record_id"])

    db.table("meta").create({"key": str, "value": str}, pk="key", not_null=["value"])


@MIGRATIONS()
def m002_visits_and_name_search(db: Database) -> None:
    """Door-to-door visits, and pinyin search keys for residents' names.

    The pinyin columns are derived (field_app.store.pinyin), written with each resident's view
    row; residents already on the device get theirs here.
    """
    from field_app.store.pinyin import FULL, INITIALS, name_keys

    visit = db.table("visit")
    visit.create(
        {
            "id": str,
            "version": int,
            "deleted": int,
            "house_id": str,
            "resident_id": str,
            "outcome": str,
            "note": str,
            "visited_at": str,
            "clocks": str,
        },
        pk="id",
        not_null=["deleted", "clocks"],
        defaults={"deleted": 0, "clocks": "{}"},
    )
    visit.create_index(["house_id", "visited_at"])
    visit.create_index(["resident_id"])

    resident = db.table("resident")
    resident.add_column(INITIALS, str)
    resident.add_column(FULL, str)
    for row_id, name in db.execute("SELECT id, name FROM resident").fetchall():
        initials, full = name_keys(name)
        db.execute(
            f"UPDATE resident SET [{INITIALS}] = ?, [{FULL}] = ? WHERE id = ?",
            [initials, full, row_id],
        )
    # Counting a unit's houses and a house's occupants at every level of the sweep.
    db.table("house").create_index(["unit_id"])


@MIGRATIONS()
def m003_campaigns(db: Database) -> None:
    """Campaigns, the platform's completions (compact) and doorstep outcomes, for the missed list."""
    common = {"id": str, "version": int, "deleted": int, "clocks": str}
    defaults = {"deleted": 0, "clocks": "{}"}
    db.table("campaign").create(
        {
            **common,
            "name": str,
            "kind": str,
            "start_date": str,
            "end_date": str,
            "grid_id": str,
            "age_min": int,
            "age_max": int,
            "residence_statuses": str,
            "tags": str,
        },
        pk="id",
        not_null=["deleted", "clocks"],
        defaults=defaults,
    )
    completion = db.table("completion")
    completion.create(
        {**common, "campaign_id": str, "resident_id": str},
        pk="id",
        not_null=["deleted", "clocks"],
        defaults=defaults,
    )
    completion.create_index(["campaign_id", "resident_id"])
    outcome = db.table("outcome")
    outcome.create(
        {
            **common,
            "campaign_id": str,
            "resident_id": str,
            "outcome": str,
            "place": str,
            "reason": str,
            "revisit_date": str,
            "recorded_at": str,
        },
        pk="id",
        not_null=["deleted", "clocks"],
        defaults=defaults,
    )
    outcome.create_index(["campaign_id", "resident_id", "recorded_at"])


@MIGRATIONS()
def m004_conflict_detail(db: Database) -> None:
    """The fields a conflict is about, with the server's and the device's values (JSON), so
    the worker sees what clashed rather than every field they edited."""
    db.table("outbox").add_column("detail", str)
