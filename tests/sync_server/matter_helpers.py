"""A small world for matter tests: two organisations serving community T1-1-1-1 (water: h1, h2;
volunteers: h4), one serving T1-1-1-2 (telecom: h3), and helpers that build matter operations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import format_timestamp
from shared.matters import default_category_id
from shared.schema import Role
from sync_server.models import Binding, MatterCategory, Resident
from sync_server.services.matters import create_org
from sync_server.services.users import create_user
from tests.days import RUN_CLOCK
from tests.factories import TinyGrid, password_hash
from tests.sync_server.wire_device import WireDevice

GRID = "T1-1-1-1-1"  # w11's grid, in community T1-1-1-1 (s1's)
OTHER_GRID = "T1-1-1-2-1"  # w21's, in community T1-1-1-2
PHOTO = "0123456789abcdef" * 4
CATEGORY = default_category_id("环境卫生")  # seeded by migration 0010: 72 h, 5 + 2 points


@dataclass
class MatterWorld:
    water_org: str  # serves T1-1-1-1; handlers h1, h2
    telecom_org: str  # serves T1-1-1-2; handler h3
    volunteers_org: str  # serves T1-1-1-1; handler h4


def make_matter_world(session_factory: sessionmaker[Session], tiny: TinyGrid) -> MatterWorld:
    with session_factory() as session, session.begin():
        community = session.merge(tiny.nodes["T1-1-1-1"])
        other = session.merge(tiny.nodes["T1-1-1-2"])
        water = create_org(session=session, name="城关水务站", kind="water", grid=community)
        telecom = create_org(session=session, name="电信西门营业部", kind="通讯", grid=other)
        volunteers = create_org(
            session=session, name="西门志愿服务队", kind="volunteers", grid=community
        )
        for name, org in (("h1", water), ("h2", water), ("h3", telecom), ("h4", volunteers)):
            create_user(
                session=session,
                username=name,
                password_hash=password_hash(),
                role=Role.HANDLER,
                org=org,
            )
        return MatterWorld(water_org=water.id, telecom_org=telecom.id, volunteers_org=volunteers.id)


def now_text() -> str:
    return format_timestamp(RUN_CLOCK.now())


def report(
    device: WireDevice, grid_id: str, matter_id: str | None = None, **values: Any
) -> dict[str, Any]:
    """A worker's new matter in `grid_id`."""
    fields: dict[str, Any] = {
        "category_id": CATEGORY,
        "grid_id": grid_id,
        "description": "污水井冒水，路面积水",
        "source": "door",
        "urgency": "normal",
        "place": "西大街11号门口",
        "photos": [PHOTO],
        "reported_at": now_text(),
        **values,
    }
    return device.op(
        "matter",
        matter_id or str(uuid.uuid4()),
        "create",
        {name: (None, value) for name, value in fields.items()},
    )


def step(
    device: WireDevice, matter_id: str, action: str, from_state: str, **values: Any
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "matter_id": matter_id,
        "action": action,
        "from_state": from_state,
        "at": now_text(),
        **values,
    }
    return device.op(
        "matter_step",
        str(uuid.uuid4()),
        "create",
        {name: (None, value) for name, value in fields.items()},
    )


def a_resident_of(session_factory: sessionmaker[Session], tiny: TinyGrid, grid: str) -> Resident:
    with session_factory() as session:
        houses = [h.id for h in tiny.houses[grid]]
        resident = session.scalars(
            select(Resident)
            .join(Binding, Binding.resident_id == Resident.id)
            .where(Binding.house_id.in_(houses))
            .order_by(Resident.id)
        ).first()
        assert resident is not None
        session.expunge(resident)
        return resident


def category_points(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    with session_factory() as session:
        category = session.get_one(MatterCategory, CATEGORY)
        return category.base_points, category.bonus_points


def matter_device(client: TestClient, username: str) -> WireDevice:
    """A phone signed in as `username` that stores matters, its first pull done."""
    device = WireDevice(client, username)
    device.pull(matters=True)
    return device
