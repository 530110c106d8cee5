"""A small world for business tests: checklists for 餐饮 and 住宿, a business_inspection campaign
over community T1-1-1-1 (of catering only), and helpers that build business operations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from shared.businesses import default_type_id, registration_check_digit, uscc_check_char
from shared.campaigns import CampaignKind, NewCampaign, TargetRule
from shared.clock import china_date, format_timestamp
from sync_server.services.businesses import save_item
from sync_server.services.campaigns import create_campaign
from tests.days import RUN_CLOCK
from tests.factories import TinyGrid
from tests.sync_server.wire_device import WireDevice

CATERING = default_type_id("catering")  # seeded by migration 0015
LODGING = default_type_id("lodging")
GRID = "T1-1-1-1-1"  # w11's grid, in community T1-1-1-1 (s1's)
OTHER_GRID = "T1-1-1-2-1"  # w21's
PHOTO = "0123456789abcdef" * 4


def a_credit_code(body: str = "91350128MA2Y") -> str:
    """A valid unified social credit code starting with `body` (padded to 17 characters)."""
    first17 = (body + "0" * 17)[:17]
    return first17 + uscc_check_char(first17)


def a_registration_number(first14: str = "35012810000123") -> str:
    return first14 + registration_check_digit(first14)


@dataclass
class BusinessWorld:
    campaign_id: str  # 排查整治 over T1-1-1-1, catering only
    items: dict[str, str] = field(default_factory=dict)  # "catering:fire" -> item id


def make_business_world(session_factory: sessionmaker[Session], tiny: TinyGrid) -> BusinessWorld:
    now = RUN_CLOCK.now()
    with session_factory() as session, session.begin():
        admin = session.merge(tiny.users["admin"])
        items: dict[str, str] = {}
        for type_id, type_code, rows in (
            (
                CATERING,
                "catering",
                (
                    (
                        "licence",
                        "营业执照、食品经营许可证在有效期内并公示",
                        "Licences valid, shown",
                    ),
                    ("fire", "灭火器在有效期内、摆放到位", "Extinguishers in date"),
                    ("gas", "燃气管道无老化、安装报警器", "Gas pipes and alarm"),
                ),
            ),
            (
                LODGING,
                "lodging",
                (("register", "旅客住宿实名登记", "Guests registered by name"),),
            ),
        ):
            for code, text, text_en in rows:
                item = save_item(
                    session=session,
                    user=admin,
                    business_type_id=type_id,
                    code=code,
                    text=text,
                    text_en=text_en,
                    now=now,
                )
                items[f"{type_code}:{code}"] = item.id
        campaign = create_campaign(
            session=session,
            user=admin,
            body=NewCampaign(
                name="餐饮门店消防安全专项行动",
                kind=CampaignKind.BUSINESS_INSPECTION,
                start_date=china_date(now) - timedelta(days=3),
                end_date=china_date(now) + timedelta(days=20),
                rule=TargetRule(grid_id=tiny.nodes["T1-1-1-1"].id),
                business_types=("catering",),
            ),
            now=now,
        )
        return BusinessWorld(campaign_id=campaign.id, items=items)


def now_text() -> str:
    return format_timestamp(RUN_CLOCK.now())


def business_op(
    device: WireDevice, grid_id: str, business_id: str | None = None, **values: Any
) -> dict[str, Any]:
    """A worker's new business in `grid_id`."""
    fields: dict[str, Any] = {
        "grid_id": grid_id,
        "business_type_id": CATERING,
        "name": "老王沙县小吃",
        "licence_number": a_credit_code(),
        "contact_name": "王建国",
        "contact_phone": "13905910001",
        "address": "西大街11号",
        "status": "open",
        **values,
    }
    return device.op(
        "business",
        business_id or str(uuid.uuid4()),
        "create",
        {name: (None, value) for name, value in fields.items()},
    )


def check_op(
    device: WireDevice,
    campaign_id: str,
    business_id: str,
    results: list[dict[str, Any]],
    **values: Any,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "campaign_id": campaign_id,
        "business_id": business_id,
        "results": results,
        "checked_at": now_text(),
        **values,
    }
    return device.op(
        "business_check",
        str(uuid.uuid4()),
        "create",
        {name: (None, value) for name, value in fields.items()},
    )


def business_device(client: TestClient, username: str) -> WireDevice:
    """A phone signed in as `username` that stores campaigns and businesses, first pull done."""
    device = WireDevice(client, username)
    device.pull(campaigns=True, businesses=True)
    return device


def answer(
    item_id: str, result: str, note: str = "", photos: list[str] | None = None
) -> dict[str, Any]:
    """One checklist answer of a check."""
    return {"item_id": item_id, "result": result, "note": note, "photos": photos or []}
