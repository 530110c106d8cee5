"""Demo businesses (商户) and a business inspection sweep (排查整治) in the first community:
checklists for 餐饮, 住宿 and 商超, a few businesses in each of its grids (at buildings, one at a
street address), a campaign running on the seeding day over the community's restaurants and
hotels, and a first check already made in each grid (one with a failed item)."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.businesses import default_type_id, uscc_check_char
from shared.clock import china_date, format_timestamp
from shared.inspection_matters import CATEGORY_ID, Answer, Check, decide_check
from shared.matters import due_at
from sync_server.db import insert_rows
from sync_server.models import (
    Base,
    Building,
    Business,
    BusinessCheck,
    Campaign,
    ChecklistItem,
    Matter,
    MatterCategory,
)

CHECKLISTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "catering": (
        ("licence", "营业执照、食品经营许可证在有效期内并公示", "Licences valid and on display"),
        ("health", "从业人员健康证齐全有效", "Staff health certificates valid"),
        ("fire", "灭火器在有效期内、摆放到位", "Fire extinguishers in date and in place"),
        ("gas", "燃气管道无老化、安装燃气报警器", "Gas pipes sound, gas alarm fitted"),
        ("exit", "安全出口、疏散通道畅通", "Exits and escape routes clear"),
    ),
    "lodging": (
        ("register", "旅客住宿实名登记", "Guests registered by name"),
        ("fire", "灭火器、应急照明完好", "Extinguishers and emergency lights work"),
        ("exit", "安全出口、疏散通道畅通", "Exits and escape routes clear"),
    ),
    "retail": (
        ("licence", "营业执照在有效期内并公示", "Business licence valid and on display"),
        ("charging", "无电动车室内充电、飞线充电", "No indoor or flying-wire e-bike charging"),
        ("fire", "灭火器在有效期内、摆放到位", "Fire extinguishers in date and in place"),
    ),
}
# (name, type code): a few per grid, cycled.
BUSINESSES = (
    ("沙县小吃", "catering"),
    ("兰州拉面", "catering"),
    ("海坛宾馆", "lodging"),
    ("惠民超市", "retail"),
    ("阿强理发店", "beauty"),
    ("老李家电维修", "repair"),
)
CONTACTS = ("王建国", "马师傅", "林秀英", "陈志强", "黄丽华", "李文彬")


def seed_businesses(
    *,
    session: Session,
    rng: random.Random,
    community_id: str,
    grid_ids: list[str],
    worker_ids: list[str],
    now: datetime,
    stamp: dict[str, Any],
) -> None:
    """Write the demo's checklists, businesses, sweep and first checks."""
    items: dict[str, list[str]] = {}
    rows: list[dict[str, Any]] = []
    for type_code, entries in CHECKLISTS.items():
        for order, (code, text, text_en) in enumerate(entries, start=1):
            item = {
                "id": _id(rng),
                "business_type_id": default_type_id(type_code),
                "code": code,
                "text": text,
                "text_en": text_en,
                "sort_order": order * 10,
                "active": 1,
                **stamp,
            }
            rows.append(item)
            items.setdefault(type_code, []).append(item["id"])
    _insert(session, ChecklistItem, rows)
    today = china_date(now)
    campaign = {
        "id": _id(rng),
        "name": "冬季餐饮住宿场所消防安全排查整治",
        "kind": "business_inspection",
        "start_date": today - timedelta(days=5),
        "end_date": today + timedelta(days=25),
        "grid_id": community_id,
        "age_min": None,
        "age_max": None,
        "residence_statuses": [],
        "tags": [],
        "business_types": sorted([default_type_id("catering"), default_type_id("lodging")]),
        "created_at": now,
        **stamp,
    }
    _insert(session, Campaign, [campaign])
    businesses: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    for g, grid_id in enumerate(grid_ids):
        buildings = list(
            session.scalars(
                select(Building.id).where(Building.grid_id == grid_id).order_by(Building.id)
            )
        )
        for n in range(4):
            name, type_code = BUSINESSES[(g + n) % len(BUSINESSES)]
            at_building = bool(buildings) and n < 3
            body = f"91350128MA{rng.randrange(10**7):07d}"
            business = {
                "id": _id(rng),
                "grid_id": grid_id,
                "building_id": buildings[n % len(buildings)] if at_building else None,
                "business_type_id": default_type_id(type_code),
                "name": name,
                "licence_number": body + uscc_check_char(body),
                "contact_name": CONTACTS[(g + n) % len(CONTACTS)],
                "contact_phone": f"139{rng.randrange(10**8):08d}",
                "address": "" if at_building else f"西大街{10 + g * 4 + n}号",
                "status": "open",
                **stamp,
            }
            businesses.append(business)
        first = next(
            (b for b in businesses[-4:] if b["business_type_id"] == default_type_id("catering")),
            None,
        )
        if first is not None and worker_ids:
            answers = [
                {"item_id": item_id, "result": "pass", "note": "", "photos": []}
                for item_id in items["catering"]
            ]
            if g % 2 == 0:
                answers[2] = {
                    "item_id": items["catering"][2],
                    "result": "fail",
                    "note": "后厨灭火器已过期，需更换",
                    "photos": [],
                }
            checks.append(
                {
                    "id": _id(rng),
                    "campaign_id": campaign["id"],
                    "business_id": first["id"],
                    "results": answers,
                    "checked_at": datetime.fromisoformat(
                        format_timestamp(now - timedelta(days=1, hours=g))
                    ),
                    **{**stamp, "updated_by_user_id": worker_ids[g % len(worker_ids)]},
                }
            )
    _insert(session, Business, businesses)
    _insert(session, BusinessCheck, checks)
    _insert(session, Matter, _check_matters(session, checks, businesses, rows, stamp))


def _check_matters(
    session: Session,
    checks: list[dict[str, Any]],
    businesses: list[dict[str, Any]],
    items: list[dict[str, Any]],
    stamp: dict[str, Any],
) -> list[dict[str, Any]]:
    """The matters the first checks' failed items opened, as the server opens them when it
    applies a check (shared/inspection_matters.py): reported by the checking worker."""
    category = session.get_one(MatterCategory, CATEGORY_ID)
    by_id = {b["id"]: b for b in businesses}
    texts = {i["id"]: i["text"] for i in items}
    out: list[dict[str, Any]] = []
    for check in checks:
        business = by_id[check["business_id"]]
        at = format_timestamp(check["checked_at"])
        decided = decide_check(
            Check(
                id=check["id"],
                business_id=business["id"],
                business_name=business["name"],
                grid_id=business["grid_id"],
                at=at,
                answers=tuple(
                    Answer(a["item_id"], a["result"], texts.get(a["item_id"], ""), a["note"])
                    for a in check["results"]
                ),
                building_id=business["building_id"],
                place=business["address"] or business["name"],
            ),
            {},
        )
        for values in decided.new_matters:
            out.append(
                {
                    **values,
                    **stamp,
                    "on_behalf_of": "",
                    "reported_at": check["checked_at"],
                    "state": "reported",
                    "state_at": check["checked_at"],
                    "state_by": check["updated_by_user_id"],
                    "due_at": datetime.fromisoformat(str(due_at(at, category.time_limit_hours))),
                    "updated_by_user_id": check["updated_by_user_id"],
                }
            )
    return out


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    insert_rows(session, model.__table__, rows)  # type: ignore[arg-type]
