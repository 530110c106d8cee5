"""Demo matters (事项): two organisations of the first community, a handler of each, and a
handful of matters in different states with their steps and the points they earned.

Each matter's life is replayed through `shared.matters.decide_step`, the rule the server runs at
push time, so the demo's states are ones the rules reach; the ledger comes from `credits_for`.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.clock import format_timestamp
from shared.matters import (
    DEFAULT_CATEGORIES,
    Actor,
    StepRefused,
    credits_for,
    decide_step,
    default_category_id,
    due_at,
)
from shared.schema import Role
from sync_server.db import insert_rows
from sync_server.models import (
    Base,
    Matter,
    MatterCategory,
    MatterStep,
    Org,
    PointsEntry,
    User,
    UserGrid,
)

HANDLERS = (("handler1", "水务站 王师傅"), ("handler2", "志愿者 李阿姨"))
_DESCRIPTIONS = (
    ("环境卫生", "楼道堆放杂物，影响通行", "door"),
    ("安全隐患", "电动车在楼道飞线充电", "door"),
    ("设施维修", "小区路灯不亮", "resident_order"),
    ("民生诉求", "独居老人请求代购药品", "resident_order"),
    ("环境卫生", "垃圾分类亭缺少分类桶", "inspection"),
    ("设施维修", "污水井冒水，路面积水", "door"),
    ("矛盾纠纷", "邻里因占用车位发生争执", "transfer"),
    ("商户检查", "餐馆后厨灭火器过期", "inspection"),
)
PHOTO = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@dataclass(frozen=True)
class SeededHandler:
    username: str
    org_name: str


def seed_matters(
    *,
    session: Session,
    rng: random.Random,
    community_id: str,
    grid_ids: list[str],
    supervisor_id: str,
    worker_ids: list[str],
    password_hash: str,
    now: datetime,
    stamp: dict[str, Any],
) -> list[SeededHandler]:
    """Write the demo's organisations, handlers and matters into the community `community_id`
    (its level-5 grids `grid_ids`, its supervisor and workers); returns the handler logins."""
    categories = _categories(session, stamp)
    water = {"id": _id(rng), "name": "城关水务站", "kind": "water", "grid_id": community_id}
    volunteers = {"id": _id(rng), "name": "西门志愿服务队", "kind": "volunteers"}
    volunteers["grid_id"] = community_id
    _insert(session, Org, [{**water, **stamp}, {**volunteers, **stamp}])
    handlers: list[dict[str, Any]] = []
    for (username, display), org in zip(HANDLERS, (water, volunteers), strict=True):
        handlers.append(
            {
                "id": _id(rng),
                "username": username,
                "display_name": display,
                "role": Role.HANDLER.value,
                "password_hash": password_hash,
                "active": True,
                "created_at": now,
                "org_id": org["id"],
            }
        )
    _insert(session, User, handlers)
    _insert(session, UserGrid, [{"user_id": h["id"], "grid_id": community_id} for h in handlers])
    handler = Actor(str(handlers[0]["id"]), Role.HANDLER, org_id=water["id"])
    supervisor = Actor(supervisor_id, Role.SUPERVISOR, grids=frozenset(grid_ids))

    # (steps after the report, as (actor, action, extra values)) for one matter each.
    # An actor of None is the worker who reported it (recording the resident's rating).
    lives: list[list[tuple[Actor | None, str, dict[str, Any]]]] = [
        [],
        [(supervisor, "accept", {})],
        [(supervisor, "accept", {}), (supervisor, "publish", {})],
        [(supervisor, "accept", {}), (supervisor, "dispatch", {"org_id": water["id"]})],
        [
            (supervisor, "accept", {}),
            (supervisor, "dispatch", {"org_id": water["id"]}),
            (handler, "take", {}),
            (handler, "start", {}),
        ],
        [
            (supervisor, "accept", {}),
            (supervisor, "dispatch", {"user_id": handler.user_id}),
            (handler, "take", {}),
            (handler, "apply_close", {"photos": [PHOTO], "reason": "已疏通，路面清理干净"}),
        ],
        [(supervisor, "decline", {"reason": "属物业管理范围，已告知居民联系物业"})],
        [
            (supervisor, "accept", {}),
            (supervisor, "dispatch", {"user_id": handler.user_id}),
            (handler, "take", {}),
            (handler, "apply_close", {"photos": [PHOTO], "reason": "已更换灭火器"}),
            (supervisor, "verify_close", {}),
            (None, "rate", {"rating": 5, "comment": "处理及时"}),
        ],
    ]
    matters, steps, points = [], [], []
    for n, ((category, text, source), life) in enumerate(zip(_DESCRIPTIONS, lives, strict=True)):
        worker = worker_ids[n % len(worker_ids)]
        grid = grid_ids[n % len(grid_ids)]
        moment = now - timedelta(days=len(lives) - n, hours=rng.randint(1, 6))
        reported = format_timestamp(moment)
        values: dict[str, Any] = {
            "id": _id(rng),
            "category_id": categories[category]["id"],
            "description": text,
            "grid_id": grid,
            "place": "",
            "source": source,
            "urgency": "urgent" if category == "安全隐患" else "normal",
            "on_behalf_of": "",
            "photos": [PHOTO],
            "reported_at": reported,
            "state": "reported",
            "state_at": reported,
            "state_by": worker,
            "due_at": due_at(reported, categories[category]["time_limit_hours"]),
            "assignee_org_id": None,
            "assignee_user_id": None,
            "rating": None,
            "closed_at": None,
        }
        for actor, action, extra in life:
            moment += timedelta(hours=rng.randint(1, 5))
            who = actor or Actor(worker, Role.WORKER, grids=frozenset(grid_ids))
            step = {
                "id": _id(rng),
                "matter_id": values["id"],
                "action": action,
                "from_state": values["state"],
                "at": format_timestamp(moment),
                **extra,
            }
            decided = decide_step(values, step, who)
            assert not isinstance(decided, StepRefused), decided
            for credit in credits_for(
                values,
                {**values, **decided},
                categories[category],
                now=moment,
                rating_window_days=7,
            ):
                points.append(
                    {
                        "user_id": credit.user_id,
                        "matter_id": values["id"],
                        "kind": credit.kind,
                        "amount": credit.amount,
                        "at": moment,
                    }
                )
            values.update(decided)
            # Who made the step, as a pushed step records its author (the console's timeline).
            made_by = {**stamp, "updated_by_user_id": who.user_id}
            steps.append({**dict.fromkeys(_STEP_FIELDS), **_STEP_DEFAULTS, **step, **made_by})
        matters.append({**values, **stamp})
    _insert(session, Matter, [_timed(m) for m in matters])
    _insert(session, MatterStep, [_timed(s) for s in steps])
    _insert(session, PointsEntry, points)
    return [
        SeededHandler(username, org["name"])
        for (username, _), org in zip(HANDLERS, (water, volunteers), strict=True)
    ]


def _categories(session: Session, stamp: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The categories by name, adding the defaults to a database made without migration 0010."""
    found = {c.name: c for c in session.scalars(select(MatterCategory))}
    missing = [
        {
            "id": default_category_id(name),
            "name": name,
            "time_limit_hours": hours,
            "base_points": base,
            "bonus_points": bonus,
            "active": 1,
            **stamp,
        }
        for name, hours, base, bonus in DEFAULT_CATEGORIES
        if name not in found
    ]
    _insert(session, MatterCategory, missing)
    out = {
        c.name: {
            "id": c.id,
            "time_limit_hours": c.time_limit_hours,
            "base_points": c.base_points,
            "bonus_points": c.bonus_points,
        }
        for c in found.values()
    }
    out.update({row["name"]: row for row in missing})
    return out


_STEP_FIELDS = ("org_id", "user_id", "rating")
_STEP_DEFAULTS: dict[str, Any] = {"reason": "", "comment": "", "photos": []}
_DATETIMES = ("reported_at", "state_at", "due_at", "closed_at", "at")


def _timed(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: datetime.fromisoformat(v) if k in _DATETIMES and isinstance(v, str) else v
        for k, v in row.items()
    }


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    insert_rows(session, model.__table__, rows)  # type: ignore[arg-type]
