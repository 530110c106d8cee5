"""The history of the device database's schema, as `sqlite_utils` migrations.

Each migration runs once, inside a transaction together with the row that records it, so a phone
switched off during an app update resumes cleanly. Migrations spell out their columns instead of
deriving them from `shared.schema.ENTITIES`: a migration that already ran on thousands of phones
must not change meaning when the schema grows. A new schema field needs a new migration here
(tests/field_app/test_store.py fails until it exists).

Tables
    <entity> (grid_node, building, unit, house, resident, binding, visit, campaign, completion,
    outcome, matter_category, org, matter, matter_step, business_type, checklist_item, business,
    business_check)
        The local view: what the worker sees, i.e. the server's state with this device's pending
        operations applied. id, version (the server version it rests on; NULL until the server
        has confirmed the record), deleted, one column per schema field (tags as JSON text), and
        clocks (JSON: field → HLC timestamp of the write that set it). `resident` also keeps
        derived pinyin search keys (search_initials, search_pinyin; see `pinyin`) and keyed
        hashes of ID number endings and phone digits (search_keys; see `sealed`). Personal
        columns hold sealed values (`sealed`, from m005 on).
    server_shadow
        The last server-confirmed state of each record, (entity, id) → version, deleted,
        field_values and clocks as JSON. Pending operations are rebased on it after a pull.
    outbox
        Operations not yet settled, in creation order (seq): pending ones wait to be pushed;
        conflict and rejected ones stay for the worker to see.
    meta
        Key → JSON value: device id, user, server URL, token, pull cursor, HLC, scope, last sync.
    photo
        Photos taken on this device (`photos.py`; not a synced entity: they travel on their own
        upload queue, field_app/photos/upload.py): sha256 (hex of the shrunk JPEG, the name
        records use), data (the JPEG sealed with the store's key), size, uploaded (bytes the server
        was last known to hold), state (`pending` until the server holds all of it, then `done`),
        created_at, error (why the last upload attempt failed, for the sync screen).
    thumb
        Others' photos named by the matters on the device (`thumbs.py`, m009): sha256, data (the
        server's 320 px thumbnail, sealed), full (the whole photo once opened, sealed),
        fetched_at. Forgotten when no matter or step on the device names the photo any more.
    _store_key
        One row: a check value of the key the personal values were sealed with (`db.open_db`
        refuses another key).
    campaign_kept, campaign_kept_place, campaign_kept_count, campaign_kept_token, campaign_dirty
        The campaigns' kept missed lists, and what writes noted for them by trigger (`kept`,
        `kept_schema`; m014).

Personal values are sealed wherever they are kept: view columns, shadows' and operations' JSON,
conflict details and notices (m005 sealed what an older store held in the clear).

Times (a visit's `visited_at`, an outcome's `recorded_at`) are UTC text in one form,
`2026-11-28T15:30:00.000Z` (`shared.clock.format_timestamp`), which sorts as text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from field_app.store.kept_schema import create_schema
from field_app.store.sealed import SEARCH_KEYS, Sealer, sealer_of

MIGRATIONS = Migrations("gridsweep_field_app")
SEALING = "m005_sealed_columns"

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


# Personal fields as they were when m005 was written (shared/schema.py marks them `personal`).
_M005_PERSONAL: dict[str, tuple[str, ...]] = {
    "resident": ("id_number", "phone", "tags", "note"),
    "visit": ("note",),
    "outcome": ("place", "reason"),
}
_M005_TAGS = {("resident", "tags")}  # kept as JSON text in the view column before m005


@MIGRATIONS(name=SEALING)
def m005_sealed_columns(db: Database) -> None:
    """Seal every personal value the store holds, add residents' keyed search hashes, and record
    which key sealed them. On a store from before (plain columns, inside SQLCipher or not) this
    rewrites what it holds, losing nothing."""
    from field_app.store.modes import KEY_TABLE

    sealer = sealer_of(db)
    db.table("resident").add_column(SEARCH_KEYS, str)
    db.table(KEY_TABLE).create({"value": str}, not_null=["value"])
    db.execute(f"INSERT INTO [{KEY_TABLE}] (value) VALUES (?)", [sealer.key_check()])
    for entity, names in _M005_PERSONAL.items():
        _seal_views(db, sealer, entity, names)
        _seal_shadows(db, sealer, entity, names)
    _seal_outbox(db, sealer)
    _seal_notices(db, sealer)


def _seal_views(db: Database, sealer: Sealer, entity: str, names: tuple[str, ...]) -> None:
    columns = ", ".join(f"[{n}]" for n in names)
    rows = db.execute(f"SELECT id, {columns} FROM [{entity}]").fetchall()
    updates = []
    for record_id, *stored in rows:
        values = {
            n: json.loads(v) if (entity, n) in _M005_TAGS and v is not None else v
            for n, v in zip(names, stored, strict=True)
        }
        sealed = [sealer.seal(entity, record_id, n, values[n]) for n in names]
        if entity == "resident":
            sealed.append(sealer.search_keys(values))
        updates.append([*sealed, record_id])
    targets = [*names, SEARCH_KEYS] if entity == "resident" else list(names)
    assignments = ", ".join(f"[{n}] = ?" for n in targets)
    db.conn.executemany(f"UPDATE [{entity}] SET {assignments} WHERE id = ?", updates)


def _seal_shadows(db: Database, sealer: Sealer, entity: str, names: tuple[str, ...]) -> None:
    rows = db.execute(
        "SELECT id, field_values FROM server_shadow WHERE entity = ?", [entity]
    ).fetchall()
    updates = []
    for record_id, text in rows:
        values = json.loads(text)
        for n in names:
            if n in values:
                values[n] = sealer.seal(entity, record_id, n, values[n])
        updates.append([json.dumps(values, ensure_ascii=False, sort_keys=True), entity, record_id])
    db.conn.executemany(
        "UPDATE server_shadow SET field_values = ? WHERE entity = ? AND id = ?", updates
    )


def _seal_outbox(db: Database, sealer: Sealer) -> None:
    rows = db.execute("SELECT seq, entity, record_id, fields, detail FROM outbox").fetchall()
    updates = []
    for seq, entity, record_id, fields_text, detail_text in rows:
        where = (sealer, entity, record_id)
        fields = {n: _seal_parts(*where, n, c) for n, c in json.loads(fields_text).items()}
        detail = [_seal_parts(*where, c["field"], c) for c in json.loads(detail_text or "[]")]
        updates.append(
            [
                json.dumps(fields, ensure_ascii=False),
                json.dumps(detail, ensure_ascii=False) if detail_text else detail_text,
                seq,
            ]
        )
    db.conn.executemany("UPDATE outbox SET fields = ?, detail = ? WHERE seq = ?", updates)


def _seal_parts(
    sealer: Sealer, entity: str, record_id: str, name: str, parts: dict[str, Any]
) -> dict[str, Any]:
    # An operation's {base, new} or a conflict's {field, base, server, device}.
    if name not in _M005_PERSONAL.get(entity, ()):
        return parts
    return {
        k: v if k == "field" else sealer.seal(entity, record_id, name, v) for k, v in parts.items()
    }


def _seal_notices(db: Database, sealer: Sealer) -> None:
    row = db.execute("SELECT value FROM meta WHERE key = 'notices'").fetchone()
    if row is None:
        return
    notices = json.loads(row[0])
    for notice in notices:
        names = _M005_PERSONAL.get(notice["entity"], ())
        notice["typed"] = {
            n: sealer.seal(notice["entity"], notice["record_id"], n, v) if n in names else v
            for n, v in notice.get("typed", {}).items()
        }
    db.execute(
        "UPDATE meta SET value = ? WHERE key = 'notices'", [json.dumps(notices, ensure_ascii=False)]
    )


# m006 spells out the text form of an instant (shared.clock.format_timestamp's) for the reason
# in the module docstring: this migration must mean the same on a phone updated years from now.
_CHINA = timezone(timedelta(hours=8))


def _utc_text(value: object) -> object:
    """An old visit time (`2026-11-28T10:15+08:00`; zone-less = China time) as UTC text; a value
    that is no time is left alone for the server to judge, as it was before."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_CHINA)
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return value
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@MIGRATIONS()
def m006_visit_instants(db: Database) -> None:
    """Visit times as UTC instants, the form the server now sends and expects: in the visits
    themselves, in their last server-confirmed state, in operations still in the outbox (base
    and new values, and a conflict's values) and in notices, so a pending edit still rebases
    cleanly on the shadow and "visited today" reads one form. (`visited_at` is not personal:
    m005 left it in the clear.)"""
    db.conn.executemany(
        "UPDATE visit SET visited_at = ? WHERE id = ?",
        [
            (_utc_text(at), row_id)
            for row_id, at in db.execute("SELECT id, visited_at FROM visit").fetchall()
        ],
    )
    shadows = []
    for row_id, text in db.execute(
        "SELECT id, field_values FROM server_shadow WHERE entity = 'visit'"
    ).fetchall():
        values = json.loads(text)
        if "visited_at" in values:
            values["visited_at"] = _utc_text(values["visited_at"])
        shadows.append((json.dumps(values, ensure_ascii=False, sort_keys=True), row_id))
    db.conn.executemany(
        "UPDATE server_shadow SET field_values = ? WHERE entity = 'visit' AND id = ?", shadows
    )
    ops = []
    for seq, fields_text, detail_text in db.execute(
        "SELECT seq, fields, detail FROM outbox WHERE entity = 'visit'"
    ).fetchall():
        fields = json.loads(fields_text)
        change = fields.get("visited_at")
        if isinstance(change, dict):
            for side in ("base", "new"):
                change[side] = _utc_text(change.get(side))
        clashes = json.loads(detail_text) if detail_text else None
        for clash in clashes or []:
            if clash.get("field") == "visited_at":
                for side in ("base", "server", "device"):
                    clash[side] = _utc_text(clash.get(side))
        ops.append(
            (
                json.dumps(fields, ensure_ascii=False),
                json.dumps(clashes, ensure_ascii=False) if clashes else detail_text,
                seq,
            )
        )
    db.conn.executemany("UPDATE outbox SET fields = ?, detail = ? WHERE seq = ?", ops)
    row = db.execute("SELECT value FROM meta WHERE key = 'notices'").fetchone()
    if row is not None:  # what the worker typed, kept for a notice (`notices`)
        notices = json.loads(row[0])
        for notice in notices:
            typed = notice.get("typed") or {}
            if notice.get("entity") == "visit" and "visited_at" in typed:
                typed["visited_at"] = _utc_text(typed["visited_at"])
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'notices'",
            [json.dumps(notices, ensure_ascii=False)],
        )


@MIGRATIONS()
def m007_photos(db: Database) -> None:
    """The local photos and their upload progress (see the module docstring)."""
    photo = db.table("photo")
    photo.create(
        {
            "sha256": str,
            "data": bytes,
            "size": int,
            "uploaded": int,
            "state": str,
            "created_at": str,
            "error": str,
        },
        pk="sha256",
        not_null=["data", "size", "uploaded", "state", "created_at"],
        defaults={"uploaded": 0, "state": "pending"},
    )
    photo.create_index(["state", "created_at"])


# Personal fields of the tables m008 creates: sealed from their first row, nothing to rewrite.
_M008_PERSONAL: dict[str, tuple[str, ...]] = {
    "matter": ("description", "on_behalf_of", "resident_name"),
    "matter_step": ("reason", "comment"),
}


@MIGRATIONS()
def m008_matters(db: Database) -> None:
    """Matters (事项): the category catalogue and the units (入网单位) devices only receive, the
    matters workers report, and the append-only steps of their life (docs/field-app.md).

    Nothing older holds these values, so nothing is sealed here: `records` seals the personal
    ones (a matter's description and on whose behalf, the resident's name a handler receives, a
    step's reason and comment) as they arrive."""
    common = {"id": str, "version": int, "deleted": int, "clocks": str}
    defaults = {"deleted": 0, "clocks": "{}"}
    tables: dict[str, dict[str, type]] = {
        "matter_category": {
            "name": str,
            "time_limit_hours": int,
            "base_points": int,
            "bonus_points": int,
            "active": int,
        },
        "org": {"name": str, "kind": str, "grid_id": str},
        "matter": {
            "category_id": str,
            "description": str,
            "grid_id": str,
            "building_id": str,
            "house_id": str,
            "resident_id": str,
            "place": str,
            "source": str,
            "urgency": str,
            "on_behalf_of": str,
            "photos": str,
            "reported_at": str,
            "state": str,
            "assignee_org_id": str,
            "assignee_user_id": str,
            "state_at": str,
            "state_by": str,
            "due_at": str,
            "rating": int,
            "closed_at": str,
            # What a handler may know of the resident (they never receive resident records).
            "resident_name": str,
            "resident_phone_masked": str,
        },
        "matter_step": {
            "matter_id": str,
            "action": str,
            "from_state": str,
            "reason": str,
            "org_id": str,
            "user_id": str,
            "photos": str,
            "rating": int,
            "comment": str,
            "at": str,
        },
    }
    for name, columns in tables.items():
        db.table(name).create(
            {**common, **columns}, pk="id", not_null=["deleted", "clocks"], defaults=defaults
        )
    # The list screens: a grid's matters by state and deadline; a matter's timeline.
    db.table("matter").create_index(["grid_id", "state", "due_at"])
    db.table("matter").create_index(["assignee_user_id"])
    db.table("matter_step").create_index(["matter_id", "at"])
    db.table("org").create_index(["grid_id"])
    # The pull cursor is kept: the server sees that it was made for a client storing no matters
    # and sends the matters' records alone, not the whole grid again.


@MIGRATIONS()
def m009_photo_thumbs(db: Database) -> None:
    """Others' photos for the matters on the device (`thumbs.py`): each photo's thumbnail,
    fetched after a sync, and the whole photo once the worker has opened it; both sealed."""
    db.table("thumb").create(
        {"sha256": str, "data": bytes, "full": bytes, "fetched_at": str},
        pk="sha256",
        not_null=["fetched_at"],
    )


# m011's personal fields: its tables were new, so there was nothing held in the clear to seal;
# `records` seals these from the first row (listed so a later `personal` mark needs a migration).
_M011_PERSONAL = {"business": ("contact_name", "contact_phone")}


@MIGRATIONS()
def m011_businesses(db: Database) -> None:
    """Businesses (商户) and the checklist sweep (排查整治): the business types and checklist
    items devices only receive, the businesses of the grid, and the append-only checks
    (docs/business-inspections.md); a campaign names the business types it covers.

    Nothing older holds these values, so nothing is sealed here: `records` seals the personal
    ones (a business's contact name and phone) as they arrive."""
    common = {"id": str, "version": int, "deleted": int, "clocks": str}
    defaults = {"deleted": 0, "clocks": "{}"}
    tables: dict[str, dict[str, type]] = {
        "business_type": {
            "code": str,
            "name": str,
            "name_en": str,
            "sort_order": int,
            "active": int,
        },
        "checklist_item": {
            "business_type_id": str,
            "code": str,
            "text": str,
            "text_en": str,
            "sort_order": int,
            "active": int,
        },
        "business": {
            "grid_id": str,
            "building_id": str,
            "business_type_id": str,
            "name": str,
            "licence_number": str,
            "contact_name": str,
            "contact_phone": str,
            "address": str,
            "status": str,
        },
        # results: the answers as JSON text ([{item_id, result, note, photos}]).
        "business_check": {
            "campaign_id": str,
            "business_id": str,
            "results": str,
            "checked_at": str,
        },
    }
    for name, columns in tables.items():
        db.table(name).create(
            {**common, **columns}, pk="id", not_null=["deleted", "clocks"], defaults=defaults
        )
    # The list screens: a grid's businesses by building and by name; a business's checks.
    db.table("business").create_index(["grid_id", "building_id"])
    db.table("business").create_index(["grid_id", "name"])
    db.table("checklist_item").create_index(["business_type_id", "sort_order"])
    db.table("business_check").create_index(["business_id", "checked_at"])
    db.table("business_check").create_index(["campaign_id"])
    db.table("campaign").add_column("business_types", str)


@MIGRATIONS()
def m012_business_matters(db: Database) -> None:
    """A matter a business check opened names the business, the checklist item and the check
    (shared/inspection_matters.py); a business's page lists its matters."""
    matter = db.table("matter")
    for column in ("business_id", "checklist_item_id", "business_check_id"):
        matter.add_column(column, str)
    matter.create_index(["business_id", "state"])


@MIGRATIONS()
def m013_members(db: Database) -> None:
    """Members' posts (岗位, shared/members.py): the community's posts a member receives, and the
    member's own claims, made offline too (docs/members.md).

    Nothing here is personal. The pull cursor is kept: posts published from now on arrive with
    the next pull (a handler's phone from before this version receives earlier posts when it
    next bootstraps)."""
    common = {"id": str, "version": int, "deleted": int, "clocks": str}
    defaults = {"deleted": 0, "clocks": "{}"}
    tables: dict[str, dict[str, type]] = {
        "post": {
            "community_id": str,
            "kind": str,
            "title": str,
            "duties": str,
            "capacity": int,
            "claimed": int,
            "active": int,
        },
        "post_claim": {"post_id": str, "user_id": str, "at": str},
    }
    for name, columns in tables.items():
        db.table(name).create(
            {**common, **columns}, pk="id", not_null=["deleted", "clocks"], defaults=defaults
        )
    db.table("post").create_index(["community_id", "kind"])
    db.table("post_claim").create_index(["post_id"])


@MIGRATIONS()
def m014_missed_kept(db: Database) -> None:
    """The kept missed lists (`kept`): per campaign and resident, target or not and their status;
    where each missed target is listed and the key that orders the list; each campaign's counts;
    and the triggers that note what every write touches. Everything starts noted, so the first
    list opened builds every campaign's list from the records already held."""
    create_schema(db)
