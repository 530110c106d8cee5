"""Matters (事项) in the device store, in both store modes: reporting one offline in the worker's
grid, steps as append-only operations naming the state seen, the lists (overdue first), and a
pending step shown rebased on what a pull brings — stale when somebody else moved it first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from field_app.store import Store, ValidationFailed
from field_app.store.sealed import PREFIX
from shared.clock import ManualClock
from shared.protocol import OpResult, RecordState
from tests.days import NOW
from tests.field_app.test_store import (
    BUILDING,
    GRID,
    HOUSE,
    OTHER_GRID,
    RESIDENT,
    USER,
    page,
    seed,
    state,
)

CATEGORY = "00000000-0000-4000-8000-0000000000e1"
SLOW_CATEGORY = "00000000-0000-4000-8000-0000000000e2"
ORG = "00000000-0000-4000-8000-0000000000f1"
HANDLER = "user-handler"
OTHER_HANDLER = "user-other-handler"
PHOTO = "a" * 64


def sign_in(store: Store, user_id: str = USER, role: str = "worker", **extra: object) -> None:
    with store.transaction():
        store.meta.user_id = user_id
        store.meta.user = {"id": user_id, "username": user_id, "role": role, "grids": [], **extra}


def catalogue(store: Store) -> None:
    """Two categories (安全隐患 due in 24 h, 设施维修 in 120 h) and a unit, as pulled."""
    store.apply_pull(
        page(
            state(
                "matter_category",
                CATEGORY,
                name="安全隐患",
                time_limit_hours=24,
                base_points=10,
                bonus_points=5,
                active=1,
            ),
            state(
                "matter_category",
                SLOW_CATEGORY,
                name="设施维修",
                time_limit_hours=120,
                base_points=8,
                bonus_points=3,
                active=1,
            ),
            state("org", ORG, name="海坛志愿者队", kind="volunteers", grid_id=None),
            cursor="catalogue",
        )
    )


@pytest.fixture
def worker(store: Store) -> Store:
    seed(store)
    catalogue(store)
    sign_in(store)
    return store


def pulled_matter(matter_id: str, version: int = 1, **values: object) -> RecordState:
    base = {
        "category_id": CATEGORY,
        "description": "楼道飞线充电",
        "grid_id": GRID,
        "place": "海坛路8号楼",
        "source": "door",
        "urgency": "normal",
        "photos": [],
        "reported_at": (NOW - timedelta(hours=2)).isoformat(),
        "state": "reported",
        "state_by": USER,
        "state_at": (NOW - timedelta(hours=2)).isoformat(),
        "due_at": (NOW + timedelta(hours=22)).isoformat(),
    }
    return state("matter", matter_id, version, **{**base, **values})


def test_a_matter_reported_from_a_house_is_placed_there_and_waits_to_sync(worker: Store) -> None:
    op = worker.report_matter(
        {"category_id": CATEGORY, "description": "楼道飞线充电", "house_id": HOUSE},
        user_id=USER,
    )
    matter = worker.get("matter", op.record_id)
    assert matter is not None and matter.sync_state == "pending"
    assert matter.values["grid_id"] == GRID and matter.values["building_id"] == BUILDING
    assert matter.values["place"] == "", "the house has no address: the worker writes one"
    assert matter.values["source"] == "door" and matter.values["urgency"] == "normal"
    assert matter.values["reported_at"].startswith(NOW.strftime("%Y-%m-%dT%H:%M"))
    assert op.kind == "create" and "state" not in op.fields, "the server keeps the state"
    # The description is personal: sealed in the row, in the clear only through the store.
    raw = worker.db.execute("SELECT description FROM matter WHERE id = ?", [op.record_id])
    assert raw.fetchone()[0].startswith(PREFIX)
    [item] = worker.matters("mine")
    assert item.state == "reported"
    # Accepted on the server, moved on by somebody else: still the worker's ("mine").
    worker.record_results(
        [
            OpResult(
                op_id=op.op_id, status="applied", entity="matter", record_id=op.record_id, version=1
            )
        ]
    )
    worker.apply_pull(
        page(pulled_matter(op.record_id, 2, state="accepted", state_by="sup-1"), cursor="m")
    )
    assert [m.id for m in worker.matters("mine")] == [op.record_id]
    assert item.due_at == NOW + timedelta(hours=24), "reported_at + the category's 24 h limit"


def test_a_matter_reported_for_a_resident_goes_to_their_house(worker: Store) -> None:
    op = worker.report_matter(
        {
            "category_id": CATEGORY,
            "description": "独居老人家中漏水",
            "resident_id": RESIDENT,
            "place": "101室",
            "on_behalf_of": "王芳",
            "source": "resident_order",
            "urgency": "urgent",
        },
        user_id=USER,
    )
    values = worker.get("matter", op.record_id).values  # type: ignore[union-attr]
    assert (values["house_id"], values["grid_id"], values["place"]) == (HOUSE, GRID, "101室")
    assert (values["source"], values["urgency"], values["on_behalf_of"]) == (
        "resident_order",
        "urgent",
        "王芳",
    )


def test_a_matter_outside_the_workers_grids_is_refused_at_once(worker: Store) -> None:
    elsewhere = "00000000-0000-4000-8000-000000000009"
    with pytest.raises(ValidationFailed) as refused:
        worker.report_matter(
            {"category_id": CATEGORY, "description": "x", "grid_id": elsewhere}, user_id=USER
        )
    assert refused.value.errors[0].code in ("out_of_scope", "unknown_reference")
    with pytest.raises(ValidationFailed) as missing:
        worker.report_matter({"grid_id": GRID}, user_id=USER)
    assert {e.field for e in missing.value.errors} >= {"category_id", "description"}
    assert worker.pending_ops() == [], "nothing half-written"


def test_lists_put_overdue_matters_first_and_count_them(
    worker: Store, phone_clock: ManualClock
) -> None:
    late, soon, later, closed = (f"00000000-0000-4000-8000-00000000010{i}" for i in range(4))
    worker.apply_pull(
        page(
            pulled_matter(later, due_at=(NOW + timedelta(days=3)).isoformat()),
            pulled_matter(closed, state="closed", due_at=(NOW - timedelta(days=9)).isoformat()),
            pulled_matter(soon, due_at=(NOW + timedelta(hours=1)).isoformat()),
            pulled_matter(late, due_at=(NOW - timedelta(hours=5)).isoformat()),
            cursor="matters",
        )
    )
    shown = worker.matters("grids")
    assert [m.id for m in shown] == [late, soon, later, closed], "closed ones last"
    assert [m.overdue for m in shown] == [True, False, False, False]
    assert worker.matters("grids", state="closed")[0].id == closed
    counts = worker.matter_counts()
    assert (counts.open, counts.overdue, counts.by_state) == (3, 1, {"reported": 3, "closed": 1})
    phone_clock.advance(timedelta(hours=2))
    assert worker.matter_counts().overdue == 2, "an hour past its deadline, soon is late too"


def test_a_step_names_the_state_seen_and_is_refused_when_the_role_may_not(worker: Store) -> None:
    matter = "00000000-0000-4000-8000-000000000201"
    worker.apply_pull(page(pulled_matter(matter, state="closed"), cursor="m"))
    with pytest.raises(ValidationFailed) as refused:
        worker.add_step(matter, {"action": "accept"}, user_id=USER)
    assert refused.value.errors[0].code == "not_allowed", "a worker does not accept cases"
    with pytest.raises(ValidationFailed) as out_of_range:
        worker.add_step(matter, {"action": "rate", "rating": 6}, user_id=USER)
    assert out_of_range.value.errors[0].field == "rating"
    op = worker.add_step(matter, {"action": "rate", "rating": 5, "comment": "很及时"}, user_id=USER)
    assert op.entity == "matter_step" and op.kind == "create"
    assert op.fields["from_state"].new == "closed" and op.fields["matter_id"].new == matter
    detail = worker.matter(matter)
    assert detail is not None and detail.item.shown["rating"] == 5
    assert [(s.action, s.pending) for s in detail.steps] == [("rate", True)]
    with pytest.raises(ValidationFailed):
        worker.add_step(matter, {"action": "rate", "rating": 4}, user_id=USER)


def test_an_offline_claim_shows_at_once_and_turns_stale_when_another_claim_arrives(
    store: Store,
) -> None:
    seed(store)
    catalogue(store)
    sign_in(store, HANDLER, "handler", org_id=ORG)
    matter = "00000000-0000-4000-8000-000000000301"
    store.apply_pull(page(pulled_matter(matter, state="published", state_by="sup-1"), cursor="m"))
    assert [m.id for m in store.matters("claim")] == [matter]
    assert store.matter_counts("claim").claimable == 1

    op = store.add_step(matter, {"action": "claim"}, user_id=HANDLER)
    assert op.fields["from_state"].new == "published"
    [mine] = store.matters("orders")
    assert mine.state == "claimed" and mine.shown["assignee_user_id"] == HANDLER
    assert mine.pending_steps == 1 and store.matters("claim") == []

    # Before this phone syncs, the pull brings the other handler's claim: the pending step no
    # longer fits, and the phone says so before the server does.
    moved_at = NOW.isoformat()
    store.apply_pull(
        page(
            pulled_matter(
                matter,
                2,
                state="claimed",
                state_by=OTHER_HANDLER,
                state_at=moved_at,
                assignee_user_id=OTHER_HANDLER,
            ),
            cursor="m2",
        )
    )
    detail = store.matter(matter)
    assert detail is not None and detail.item.state == "claimed"
    assert detail.item.shown["assignee_user_id"] == OTHER_HANDLER
    [step] = detail.steps
    assert step.refused is not None and step.refused.code == "stale_transition"
    assert OTHER_HANDLER in step.refused.message and detail.item.refused_steps == 1
    assert store.matters("orders") == [], "the order is somebody else's"

    # The server refuses it the same way: the worker keeps seeing who moved it and when.
    reason = f"The matter is no longer published: it is claimed, moved by 李四 at {moved_at}."
    store.record_results(
        [
            OpResult(
                op_id=op.op_id,
                status="rejected",
                entity="matter_step",
                record_id=op.record_id,
                code="stale_transition",
                reason=reason,
            )
        ]
    )
    detail = store.matter(matter)
    assert detail is not None and detail.steps == [], "the refused step is not on the timeline"
    [rejected] = detail.rejected
    assert rejected.code == "stale_transition" and "李四" in (rejected.reason or "")
    assert store.counts().rejected == 1, "the status line counts it until it is read"
    assert store.dismiss_problem(op.op_id) and store.matter(matter).rejected == []  # type: ignore[union-attr]


def test_step_texts_are_sealed_and_pulled_steps_build_the_timeline(worker: Store) -> None:
    matter = "00000000-0000-4000-8000-000000000401"
    step = "00000000-0000-4000-8000-000000000402"
    worker.apply_pull(
        page(
            pulled_matter(matter, state="declined"),
            state(
                "matter_step",
                step,
                matter_id=matter,
                action="decline",
                from_state="reported",
                reason="不属于本社区",
                at=NOW.isoformat(),
            ),
            cursor="m",
        )
    )
    raw = worker.db.execute("SELECT reason FROM matter_step WHERE id = ?", [step]).fetchone()
    assert raw[0].startswith(PREFIX)
    detail = worker.matter(matter)
    assert detail is not None
    assert [(s.action, s.pending, s.record.values["reason"]) for s in detail.steps] == [
        ("decline", False, "不属于本社区")
    ]
    assert worker.matter_counts().open == 0


def test_a_matter_in_the_other_grid_is_still_mine_to_report(worker: Store) -> None:
    op = worker.report_matter(
        {"category_id": SLOW_CATEGORY, "description": "路灯不亮", "grid_id": OTHER_GRID},
        user_id=USER,
    )
    [item] = worker.matters("grids")
    assert item.id == op.record_id and item.due_at == NOW + timedelta(hours=120)


def test_a_handler_takes_an_order_dispatched_to_their_unit(store: Store) -> None:
    # A handler's scope is the server's matter keys, not grids: their unit comes from it.
    sign_in(store, HANDLER, "handler")
    catalogue(store)
    matter = "00000000-0000-4000-8000-000000000601"
    store.apply_pull(
        page(
            pulled_matter(matter, state="dispatched", state_by="sup-1", assignee_org_id=ORG),
            cursor="m",
            scope=[f"user:{HANDLER}", f"org:{ORG}", "pub:00000000-0000-4000-8000-000000000004"],
        )
    )
    assert store.actor().org_id == ORG
    [order] = store.matters("orders")
    assert order.id == matter
    store.add_step(matter, {"action": "take"}, user_id=HANDLER)
    [taken] = store.matters("orders")
    assert taken.state == "claimed" and taken.shown["assignee_user_id"] == HANDLER
