"""What a business check (商户检查) does to matters: one pure decision, run by the server when it
applies the check.

Each failed checklist item becomes exactly one matter (事项) until it is struck off (销号): linked
to the business and the item, category 商户检查, source 排查整治 (`inspection`), with the item's
note and photos, in the business's level-5 grid. A later check of the same business is a
re-inspection (复查) of every item that still has an open matter: a step of that matter, never a
new matter.

    | item in this check | its open matter | what happens                                       |
    | fail               | none            | a new matter, id uuid5(check id, item id)          |
    | fail               | open            | `reinspect_fail` step: stays open, new photos/note |
    | pass               | open            | `reinspect_pass` step: closed (销号)               |
    | pass / na          | none            | nothing                                            |
    | na                 | open            | nothing (not checked this time)                    |

Every id is derived (uuid5 of the check's id and the item's id), so a retried push, a check
sent again and two server processes applying the same check all name the same records; the
steps go through `shared.matters.decide_step` like any other (who may, scope, stale state).
Pure: no I/O, no clock (the check carries its moment).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.businesses import CheckResult
from shared.matters import OPEN_STATES, MatterAction, MatterSource, default_category_id

CATEGORY_NAME = "商户检查"
CATEGORY_ID = default_category_id(CATEGORY_NAME)
PASS, FAIL = CheckResult.PASS.value, CheckResult.FAIL.value

NAMESPACE = uuid.UUID("3b0a6c1e-8d7f-4e52-a1c4-6f2d9e0b7a31")
MAX_DESCRIPTION = 2000


def matter_id_for(check_id: str, item_id: str) -> str:
    """The matter a check's failed item opens: the same for every retry and every server."""
    return str(uuid.uuid5(NAMESPACE, f"matter:{check_id}:{item_id}"))


def step_id_for(check_id: str, item_id: str) -> str:
    """The re-inspection step a check makes on an item's open matter."""
    return str(uuid.uuid5(NAMESPACE, f"step:{check_id}:{item_id}"))


@dataclass(frozen=True)
class Answer:
    """One checklist item of a check as the worker marked it."""

    item_id: str
    result: str  # pass | fail | na
    label: str = ""  # the item's words (消防通道畅通), for the matter's description
    note: str = ""
    photos: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    """A business check: who, where, when, and its items."""

    id: str
    business_id: str
    business_name: str
    grid_id: str
    at: str  # wire timestamp of the check
    answers: tuple[Answer, ...]
    building_id: str | None = None
    place: str = ""


@dataclass
class CheckMatters:
    """What a check does to matters: the matters it opens and the steps it makes (wire values,
    each with its `id`)."""

    new_matters: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)


def open_by_item(matters: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """A business's open check matters by checklist item (the latest reported if several)."""
    out: dict[str, Mapping[str, Any]] = {}
    for matter in sorted(matters, key=lambda m: str(m.get("reported_at") or "")):
        item = matter.get("checklist_item_id")
        if item and matter.get("state") in OPEN_STATES:
            out[str(item)] = matter
    return out


def decide_check(check: Check, open_matters: Mapping[str, Mapping[str, Any]]) -> CheckMatters:
    """The matters `check` opens and the re-inspection steps it makes on `open_matters` (the
    business's open check matters by checklist item id, `open_by_item`)."""
    out = CheckMatters()
    for item in check.answers:
        existing = open_matters.get(item.item_id)
        if existing is not None and item.result in (PASS, FAIL):
            action = (
                MatterAction.REINSPECT_PASS if item.result == PASS else MatterAction.REINSPECT_FAIL
            )
            out.steps.append(
                {
                    "id": step_id_for(check.id, item.item_id),
                    "matter_id": existing["id"],
                    "action": action.value,
                    "from_state": existing.get("state"),
                    "reason": item.note,
                    "photos": list(item.photos),
                    "at": check.at,
                }
            )
        elif existing is None and item.result == FAIL:
            out.new_matters.append(
                {
                    "id": matter_id_for(check.id, item.item_id),
                    "category_id": CATEGORY_ID,
                    "description": describe(check.business_name, item)[:MAX_DESCRIPTION],
                    "grid_id": check.grid_id,
                    "building_id": check.building_id,
                    "place": check.place or check.business_name,
                    "source": MatterSource.INSPECTION.value,
                    "urgency": "normal",
                    "photos": list(item.photos),
                    "reported_at": check.at,
                    "business_id": check.business_id,
                    "checklist_item_id": item.item_id,
                    "business_check_id": check.id,
                }
            )
    return out


def describe(business_name: str, item: Answer) -> str:
    """商户「老王餐馆」检查不合格：消防通道畅通。通道堆放杂物 — what the matter says."""
    what = item.label or item.item_id
    text = f"商户「{business_name}」检查不合格：{what}"
    return f"{text}。{item.note.strip()}" if item.note.strip() else text
