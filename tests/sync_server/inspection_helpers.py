"""A small world for business inspection tests: a 排查整治 campaign over the district, the
catering checklist (three items), and helpers that build business and check operations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from shared.businesses import default_type_id
from sync_server.models import Campaign, ChecklistItem
from sync_server.services.changes import ChangeSet, commit_changes
from tests.days import day
from tests.factories import TinyGrid
from tests.sync_server.matter_helpers import now_text
from tests.sync_server.wire_device import WireDevice

CATERING = default_type_id("catering")  # seeded by migration 0015
ITEMS = (("fire_exit", "消防通道畅通"), ("gas_pipe", "燃气管道完好"), ("food_license", "证照公示"))


@dataclass
class InspectionWorld:
    campaign: str
    items: dict[str, str]  # item code -> checklist item id


def make_inspection_world(
    session_factory: sessionmaker[Session], tiny: TinyGrid
) -> InspectionWorld:
    with session_factory() as session, session.begin():
        campaign = Campaign(
            name="餐饮场所排查整治",
            kind="business_inspection",
            start_date=day(-5),
            end_date=day(20),
            grid_id=tiny.nodes["T1"].id,
            business_types=[],
        )
        session.add(campaign)
        items = {}
        for order, (code, text) in enumerate(ITEMS):
            item = ChecklistItem(
                business_type_id=CATERING, code=code, text=text, text_en=code, sort_order=order
            )
            session.add(item)
            session.flush()
            items[code] = item.id
        session.flush()
        changes = ChangeSet()
        changes.add("campaign", campaign.id, {campaign.grid_id})
        for item_id in items.values():
            changes.add("checklist_item", item_id, {"*"})
        commit_changes(session=session, changes=changes)
        return InspectionWorld(campaign=campaign.id, items=items)


def business(device: WireDevice, grid_id: str, name: str = "老王餐馆") -> dict[str, Any]:
    fields = {
        "grid_id": grid_id,
        "business_type_id": CATERING,
        "name": name,
        "address": "西大街11号",
        "status": "open",
    }
    return device.op(
        "business", str(uuid.uuid4()), "create", {k: (None, v) for k, v in fields.items()}
    )


def answer(item_id: str, result: str, note: str = "", photos: list[str] | None = None) -> dict:
    return {"item_id": item_id, "result": result, "note": note, "photos": photos or []}


def check(
    device: WireDevice,
    campaign_id: str,
    business_id: str,
    results: list[dict[str, Any]],
    check_id: str | None = None,
) -> dict[str, Any]:
    fields = {
        "campaign_id": campaign_id,
        "business_id": business_id,
        "results": results,
        "checked_at": now_text(),
    }
    return device.op(
        "business_check",
        check_id or str(uuid.uuid4()),
        "create",
        {k: (None, v) for k, v in fields.items()},
    )
