"""A business check's effect on matters, decided once: each failed item one matter, the same one
however often the check arrives, and the next check of the business a step of it."""

from __future__ import annotations

from typing import Any

from shared.inspection_matters import (
    CATEGORY_ID,
    Answer,
    Check,
    decide_check,
    matter_id_for,
    open_by_item,
    step_id_for,
)
from shared.matters import DEFAULT_CATEGORIES, MatterAction, default_category_id

PHOTO = "cd" * 32
AT = "2026-11-28T02:00:00.000Z"


def check(check_id: str, *answers: Answer) -> Check:
    return Check(
        id=check_id,
        business_id="biz-1",
        business_name="老王餐馆",
        grid_id="grid-5",
        at=AT,
        answers=answers,
        building_id="bld-1",
    )


FIRE = Answer("item-fire", "fail", "消防通道畅通", "通道堆放杂物", (PHOTO,))
GAS = Answer("item-gas", "pass", "燃气管道完好")
SIGN = Answer("item-sign", "na", "门头招牌牢固")


def test_each_failed_item_opens_one_matter_linked_to_business_and_item() -> None:
    out = decide_check(check("chk-1", FIRE, GAS, SIGN), {})
    assert out.steps == []
    [opened] = out.new_matters
    assert opened["id"] == matter_id_for("chk-1", "item-fire")
    assert opened["category_id"] == CATEGORY_ID == default_category_id("商户检查")
    assert "商户检查" in {c[0] for c in DEFAULT_CATEGORIES}
    assert opened["source"] == "inspection"
    assert opened["grid_id"] == "grid-5" and opened["building_id"] == "bld-1"
    assert opened["business_id"] == "biz-1" and opened["checklist_item_id"] == "item-fire"
    assert opened["business_check_id"] == "chk-1"
    assert opened["photos"] == [PHOTO] and opened["reported_at"] == AT
    assert opened["description"] == "商户「老王餐馆」检查不合格：消防通道畅通。通道堆放杂物"


def test_the_same_check_decided_again_names_the_same_records() -> None:
    first = decide_check(check("chk-1", FIRE), {})
    again = decide_check(check("chk-1", FIRE), {})
    assert first.new_matters == again.new_matters
    other = decide_check(check("chk-2", FIRE), {})
    assert other.new_matters[0]["id"] != first.new_matters[0]["id"]


def open_matter(item: str, state: str = "handling", **values: Any) -> dict[str, Any]:
    return {
        "id": f"m-{item}",
        "state": state,
        "checklist_item_id": item,
        "reported_at": "2026-11-20T02:00:00.000Z",
        **values,
    }


def test_a_later_check_reinspects_the_open_matter_instead_of_opening_another() -> None:
    opened = open_by_item([open_matter("item-fire"), open_matter("item-gas", "claimed")])
    still = Answer("item-fire", "fail", "消防通道畅通", "仍有杂物", (PHOTO,))
    out = decide_check(check("chk-2", still, GAS, SIGN), opened)
    assert out.new_matters == []
    by_matter = {s["matter_id"]: s for s in out.steps}
    assert by_matter["m-item-fire"]["action"] == MatterAction.REINSPECT_FAIL
    assert by_matter["m-item-fire"]["from_state"] == "handling"
    assert by_matter["m-item-fire"]["photos"] == [PHOTO]
    assert by_matter["m-item-fire"]["reason"] == "仍有杂物"
    assert by_matter["m-item-gas"]["action"] == MatterAction.REINSPECT_PASS
    assert by_matter["m-item-gas"]["id"] == step_id_for("chk-2", "item-gas")
    assert len(out.steps) == 2


def test_not_applicable_leaves_an_open_matter_alone_and_a_closed_one_is_history() -> None:
    history = [open_matter("item-fire", "closed"), open_matter("item-sign", "accepted")]
    out = decide_check(check("chk-3", FIRE, SIGN), open_by_item(history))
    assert [m["checklist_item_id"] for m in out.new_matters] == ["item-fire"]
    assert out.steps == []
