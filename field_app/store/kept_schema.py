"""The tables of the kept missed lists (`kept`) and the triggers that note what writes touch.

Apart from `kept` so the migrations can create them without importing the store's modules.
A trigger notes in `campaign_dirty` a resident (kind `resident`), a campaign (`campaign`: new,
re-ruled or gone) or everything (`all`: the grid tree changed, so anyone's grids may have).
"""

from __future__ import annotations

from sqlite_utils import Database

EVERYTHING = "all"

TABLES_SQL = """
CREATE TABLE campaign_kept (
    campaign_id TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome_id TEXT,
    outcome TEXT,
    recorded_at TEXT,
    revisit_date TEXT,
    PRIMARY KEY (campaign_id, resident_id)
) WITHOUT ROWID;
CREATE INDEX campaign_kept_status ON campaign_kept (campaign_id, status, outcome);
CREATE TABLE campaign_kept_place (
    campaign_id TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    house_id TEXT NOT NULL,
    building_id TEXT NOT NULL,
    building TEXT NOT NULL,
    unit_id TEXT,
    unit TEXT NOT NULL,
    room TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    PRIMARY KEY (campaign_id, sort_key)
) WITHOUT ROWID;
CREATE INDEX campaign_kept_place_resident ON campaign_kept_place (campaign_id, resident_id);
CREATE TABLE campaign_kept_count (
    campaign_id TEXT NOT NULL,
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, key)
) WITHOUT ROWID;
CREATE TABLE campaign_kept_token (
    campaign_id TEXT PRIMARY KEY,
    token TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE campaign_dirty (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
"""


def _note(kind: str, expr: str) -> str:
    return f"INSERT OR IGNORE INTO campaign_dirty (kind, id) VALUES ('{kind}', {expr});"


def _note_bound(where: str) -> str:
    # Residents bound (ever) to the houses matched by `where` on house `h`.
    return (
        "INSERT OR IGNORE INTO campaign_dirty (kind, id) SELECT 'resident', b.resident_id "
        f"FROM binding b JOIN house h ON h.id = b.house_id WHERE {where};"
    )


def _triggers() -> list[str]:
    """(name, event, body) of every trigger; INSERT OR REPLACE deletes without delete triggers,
    so a BEFORE INSERT trigger notes whom the replaced row was about."""
    out: list[tuple[str, str, str]] = []
    # Records about one resident: who they were about before a write and after it.
    about = {
        "resident": ("id", "id_number, residence_status, tags, deleted"),
        "binding": ("resident_id", "resident_id, house_id, end_date, deleted"),
        "completion": ("resident_id", "campaign_id, resident_id, deleted"),
        "outcome": (
            "resident_id",
            "campaign_id, resident_id, outcome, recorded_at, revisit_date, deleted",
        ),
    }
    for table, (column, watched) in about.items():
        before = (
            "INSERT OR IGNORE INTO campaign_dirty (kind, id) "
            f"SELECT 'resident', {column} FROM [{table}] WHERE id = NEW.id;"
        )
        out += [
            (f"{table}_bi", f"BEFORE INSERT ON [{table}]", before),
            (f"{table}_ai", f"AFTER INSERT ON [{table}]", _note("resident", f"NEW.{column}")),
            (f"{table}_ad", f"AFTER DELETE ON [{table}]", _note("resident", f"OLD.{column}")),
            (
                f"{table}_au",
                f"AFTER UPDATE OF {watched} ON [{table}]",
                _note("resident", f"OLD.{column}") + _note("resident", f"NEW.{column}"),
            ),
        ]
    # Places: everyone bound to a house whose grid, building, unit or room changed.
    places = {
        "house": ("h.id = {}.id", "grid_id, building_id, unit_id, room, deleted"),
        "building": ("h.building_id = {}.id", "road, lane, number, name, deleted"),
        "unit": ("h.unit_id = {}.id", "name, deleted"),
    }
    for table, (where, watched) in places.items():
        new, old = _note_bound(where.format("NEW")), _note_bound(where.format("OLD"))
        out += [
            (f"{table}_ai", f"AFTER INSERT ON [{table}]", new),
            (f"{table}_ad", f"AFTER DELETE ON [{table}]", old),
            (f"{table}_au", f"AFTER UPDATE OF {watched} ON [{table}]", new),
        ]
    rule = "grid_id, age_min, age_max, residence_statuses, tags, start_date, deleted"
    out += [
        ("campaign_ai", "AFTER INSERT ON campaign", _note("campaign", "NEW.id")),
        ("campaign_ad", "AFTER DELETE ON campaign", _note("campaign", "OLD.id")),
        ("campaign_au", f"AFTER UPDATE OF {rule} ON campaign", _note("campaign", "NEW.id")),
    ]
    # The grid tree: who lives under which node may change for anyone.
    tree = _note(EVERYTHING, "''")
    out += [
        ("grid_node_ai", "AFTER INSERT ON grid_node", tree),
        ("grid_node_ad", "AFTER DELETE ON grid_node", tree),
        ("grid_node_au", "AFTER UPDATE OF parent_id, deleted ON grid_node", tree),
    ]
    return [
        f"CREATE TRIGGER campaign_kept_{name} {event} BEGIN {body} END;"
        for name, event, body in out
    ]


def create_schema(db: Database) -> None:
    """The kept tables and their triggers (store migration m014), with everything noted: the
    first read builds every campaign's list."""
    conn = db.conn
    for statement in TABLES_SQL.split(";"):
        if statement.strip():
            conn.execute(statement)
    for trigger in _triggers():
        conn.execute(trigger)
    # Only a store that holds campaigns has lists to build; a fresh one (or one just wiped) is
    # empty, and its first campaign is noted by its own trigger when it arrives.
    conn.execute(
        "INSERT OR IGNORE INTO campaign_dirty (kind, id) "
        "SELECT ?, '' WHERE EXISTS (SELECT 1 FROM campaign)",
        [EVERYTHING],
    )
