"""Finding a resident at the door: by name, pinyin initials or full pinyin (`zs`, `zhangsan` find
张三), the last characters of the ID number, the phone number, or the address of their house.

One SQL statement over the resident table (4,500 rows in a community) with the pinyin keys
precomputed at write time (see `pinyin`): a LIKE scan of that size takes a few milliseconds, fast
enough to run on every keystroke (bench/app_search_bench.py measures it). Results come ranked:
exact name, name prefix, initials or pinyin prefix, then everything else, by name.

ID numbers and phones are sealed (`sealed.py`), so they are found through the keyed hashes in
`search_keys`: an ID number by its last 4 to 18 characters, a phone by its first or last 3 or
more digits, each typed text hashed as the stored endings were.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from field_app.store.pinyin import FULL, INITIALS
from field_app.store.records import Record, from_row, select_sql, sync_rank_sql
from field_app.store.sealed import SEARCH_KEYS, StoreDb

_LETTERS = re.compile(r"^[a-z]+$")
_ID_TAIL = re.compile(r"^[0-9]{3,17}[0-9x]$")
_DIGITS = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class ResidentHit:
    """A resident found, with where they live now (None if bound nowhere today), and for a
    person who moved out (kept for the recently-moved window, `shared.moves`) where from and
    when."""

    resident: Record
    house_id: str | None
    address: str | None
    relation: str | None
    moved_from: str | None = None  # the address of their latest ended binding
    moved_on: str | None = None  # that binding's end date (ISO)


def find_residents(db: StoreDb, text: str, *, day: date, limit: int = 50) -> list[ResidentHit]:
    text = "".join(text.split())
    if not text:
        return []
    lower = text.lower()
    like = _escape(text)
    conditions = ["t.name LIKE :contains ESCAPE '\\'"]
    rank = ["WHEN t.name = :exact THEN 0", "WHEN t.name LIKE :prefix ESCAPE '\\' THEN 1"]
    params: dict[str, Any] = {
        "exact": text,
        "contains": f"%{like}%",
        "prefix": f"{like}%",
        "day": day.isoformat(),
        "limit": limit,
    }
    if _LETTERS.match(lower):
        # Space-prefixed so a pattern matches the start of any variant ("cxm zxm").
        params["pinyin"] = f"% {lower}%"
        keys = f"(' ' || t.[{INITIALS}] LIKE :pinyin OR ' ' || t.[{FULL}] LIKE :pinyin)"
        conditions.append(keys)
        rank.append(f"WHEN {keys} THEN 2")
    id_key = db.sealer.id_tail_key(lower) if _ID_TAIL.match(lower) else None
    if id_key is not None:
        params["id_key"] = id_key
        conditions.append(f"instr(t.[{SEARCH_KEYS}], :id_key) > 0")
        rank.append(f"WHEN instr(t.[{SEARCH_KEYS}], :id_key) > 0 THEN 2")
    phone_key = db.sealer.phone_key(text) if _DIGITS.match(text) else None
    if phone_key is not None:
        params["phone_key"] = phone_key
        conditions.append(f"instr(t.[{SEARCH_KEYS}], :phone_key) > 0")
    if len(text) >= 2:
        conditions.append("h.address LIKE :contains ESCAPE '\\'")
    sql = f"""
        SELECT t.*, {sync_rank_sql("resident")} AS _sync_rank,
               h.id AS _house_id, h.address AS _address, b.relation AS _relation
          FROM resident t
          LEFT JOIN binding b ON b.resident_id = t.id AND b.deleted = 0
               AND (b.start_date IS NULL OR b.start_date <= :day)
               AND (b.end_date IS NULL OR b.end_date > :day)
          LEFT JOIN house h ON h.id = b.house_id AND h.deleted = 0
         WHERE t.deleted = 0 AND ({" OR ".join(conditions)})
         ORDER BY CASE {" ".join(rank)} ELSE 3 END, t.name, t.id
         LIMIT :limit
    """
    hits: list[ResidentHit] = []
    seen: set[str] = set()
    for row in db.query(sql, params):
        if row["id"] in seen:
            continue  # bound to two houses at once: list the person once
        seen.add(row["id"])
        hits.append(
            ResidentHit(
                resident=from_row("resident", row, db.sealer),
                house_id=row["_house_id"],
                address=row["_address"],
                relation=row["_relation"],
            )
        )
    return _with_moves(db, hits)


def _with_moves(db: StoreDb, hits: list[ResidentHit]) -> list[ResidentHit]:
    """The hits, each person bound nowhere today with where and when they last moved out (their
    latest ended binding)."""
    homeless = [hit.resident.id for hit in hits if hit.house_id is None]
    if not homeless:
        return hits
    sql = """
        SELECT b.resident_id, b.end_date, h.address
          FROM binding b LEFT JOIN house h ON h.id = b.house_id AND h.deleted = 0
         WHERE b.deleted = 0 AND b.end_date IS NOT NULL
           AND b.resident_id IN (SELECT value FROM json_each(:ids))
         ORDER BY b.end_date, b.id
    """
    latest = {row["resident_id"]: row for row in db.query(sql, {"ids": json.dumps(homeless)})}
    out = []
    for hit in hits:
        row = latest.get(hit.resident.id) if hit.house_id is None else None
        out.append(
            hit
            if row is None
            else replace(hit, moved_from=row["address"], moved_on=row["end_date"])
        )
    return out


def find_houses(db: StoreDb, text: str, *, limit: int = 30) -> list[Record]:
    """Houses whose address or room contains `text` (choosing where someone moves to)."""
    text = "".join(text.split())
    if not text:
        return []
    sql = select_sql(
        "house",
        "t.deleted = 0 AND (t.address LIKE :contains ESCAPE '\\' OR t.room = :exact)",
        order_by="t.address, t.room",
        limit=limit,
    )
    return [
        from_row("house", row, db.sealer)
        for row in db.query(sql, {"contains": f"%{_escape(text)}%", "exact": text})
    ]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
