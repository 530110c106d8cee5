"""The matter rules both sides run: every transition, every refusal, points, and random sequences
that can only ever follow the table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.matters import (
    MATTER_ACTION_EN,
    MATTER_ACTION_ZH,
    MATTER_STATE_EN,
    MATTER_STATE_ZH,
    REFUSALS,
    TRANSITIONS,
    WHO_MAY,
    Actor,
    MatterAction,
    MatterState,
    StepRefused,
    check_photos,
    credits_for,
    decide_step,
    due_at,
    is_overdue,
    refusal_key,
    refusal_text,
    replay,
)
from shared.messages import ZH
from shared.records import check_values
from shared.schema import ENTITIES, ROLE_ZH, Role

GRID = "grid-5"
AT = "2026-11-28T02:00:00.000Z"
PHOTO = "ab" * 32
TODAY = datetime(2026, 11, 28, tzinfo=UTC).date()

SUPERVISOR = Actor("sup", Role.SUPERVISOR, grids=frozenset({GRID, "grid-4"}))
ADMIN = Actor("admin", Role.ADMIN)
WORKER = Actor("wkr", Role.WORKER, grids=frozenset({GRID}))
HANDLER = Actor("hd1", Role.HANDLER, org_id="org-1", grids=frozenset({"grid-4", GRID}))
HANDLER_2 = Actor("hd2", Role.HANDLER, org_id="org-2", grids=frozenset({"grid-4", GRID}))
OUTSIDER = Actor("sup-far", Role.SUPERVISOR, grids=frozenset({"elsewhere"}))


def matter(state: MatterState = MatterState.REPORTED, **values: Any) -> dict[str, Any]:
    return {
        "state": state.value,
        "grid_id": GRID,
        "state_by": "wkr",
        "state_at": "2026-11-27T01:00:00.000Z",
        "assignee_org_id": None,
        "assignee_user_id": None,
        "rating": None,
        **values,
    }


def step(action: MatterAction, from_state: MatterState | str, **values: Any) -> dict[str, Any]:
    return {"action": action.value, "from_state": str(from_state), "at": AT, **values}


# One honest step per action: (the matter before, the step, the actor, the expected new values).
HONEST: list[tuple[dict[str, Any], dict[str, Any], Actor, dict[str, Any]]] = [
    (matter(), step(MatterAction.ACCEPT, "reported"), SUPERVISOR, {"state": "accepted"}),
    (
        matter(),
        step(MatterAction.DECLINE, "reported", reason="不属于受理范围"),
        SUPERVISOR,
        {"state": "declined"},
    ),
    (
        matter(MatterState.ACCEPTED),
        step(MatterAction.DISPATCH, "accepted", org_id="org-1"),
        SUPERVISOR,
        {"state": "dispatched", "assignee_org_id": "org-1", "assignee_user_id": None},
    ),
    (
        matter(MatterState.ACCEPTED),
        step(MatterAction.PUBLISH, "accepted"),
        ADMIN,
        {"state": "published"},
    ),
    (
        matter(MatterState.PUBLISHED),
        step(MatterAction.CLAIM, "published"),
        HANDLER,
        {"state": "claimed", "assignee_org_id": "org-1", "assignee_user_id": "hd1"},
    ),
    (
        matter(MatterState.DISPATCHED, assignee_org_id="org-1"),
        step(MatterAction.TAKE, "dispatched"),
        HANDLER,
        {"state": "claimed", "assignee_user_id": "hd1"},
    ),
    (
        matter(MatterState.CLAIMED, assignee_user_id="hd1"),
        step(MatterAction.START, "claimed"),
        HANDLER,
        {"state": "handling"},
    ),
    (
        matter(MatterState.HANDLING, assignee_user_id="hd1"),
        step(MatterAction.APPLY_CLOSE, "handling", photos=[PHOTO], reason="已清理"),
        HANDLER,
        {"state": "closing"},
    ),
    (
        matter(MatterState.CLOSING, assignee_user_id="hd1"),
        step(MatterAction.VERIFY_CLOSE, "closing"),
        SUPERVISOR,
        {"state": "closed", "closed_at": AT},
    ),
    (
        matter(MatterState.CLOSING, assignee_user_id="hd1"),
        step(MatterAction.SEND_BACK, "closing", reason="照片不清楚"),
        SUPERVISOR,
        {"state": "handling"},
    ),
    (
        matter(MatterState.CLOSED, assignee_user_id="hd1"),
        step(MatterAction.RATE, "closed", rating=5, comment="很满意"),
        WORKER,
        {"state": "closed", "rating": 5, "state_by": "wkr"},
    ),
    (
        matter(MatterState.HANDLING, assignee_user_id="hd1", checklist_item_id="item-1"),
        step(MatterAction.REINSPECT_PASS, "handling", reason="已整改"),
        WORKER,
        {"state": "closed", "closed_at": AT, "state_by": "wkr"},
    ),
    (
        matter(MatterState.ACCEPTED, checklist_item_id="item-1", state_by="sup"),
        step(MatterAction.REINSPECT_FAIL, "accepted", reason="仍堆放杂物", photos=[PHOTO]),
        WORKER,
        # Still failing is not a move: who accepted it, and when, stays on the matter.
        {"state": "accepted", "state_by": "sup", "state_at": "2026-11-27T01:00:00.000Z"},
    ),
]


@pytest.mark.parametrize(
    ("before", "the_step", "actor", "expected"), HONEST, ids=[h[1]["action"] for h in HONEST]
)
def test_every_transition_moves_the_matter_as_the_table_says(
    before: dict[str, Any], the_step: dict[str, Any], actor: Actor, expected: dict[str, Any]
) -> None:
    result = decide_step(before, the_step, actor)
    assert not isinstance(result, StepRefused), result
    assert result.items() >= expected.items()
    action = MatterAction(the_step["action"])
    assert result["state"] == (TRANSITIONS[action][1] or before["state"])
    if action not in (MatterAction.RATE, MatterAction.REINSPECT_FAIL):
        assert result["state_by"] == actor.user_id and result["state_at"] == AT


def test_every_action_has_one_honest_case_and_labels_in_both_languages() -> None:
    assert {h[1]["action"] for h in HONEST} == {a.value for a in MatterAction}
    for action in MatterAction:
        assert MATTER_ACTION_ZH[action] and MATTER_ACTION_EN[action]
    for state in MatterState:
        assert MATTER_STATE_ZH[state] and MATTER_STATE_EN[state]
    assert ROLE_ZH["handler"] == "承办人员"


def test_apply_close_also_starts_from_claimed() -> None:
    result = decide_step(
        matter(MatterState.CLAIMED, assignee_user_id="wkr"),
        step(MatterAction.APPLY_CLOSE, "claimed", photos=[PHOTO], reason="当场解决"),
        WORKER,
    )
    assert isinstance(result, dict) and result["state"] == "closing"


def test_a_second_claim_is_stale_and_names_who_claimed_it_and_when() -> None:
    first = decide_step(
        matter(MatterState.PUBLISHED), step(MatterAction.CLAIM, "published"), HANDLER
    )
    assert isinstance(first, dict)
    now = {**matter(MatterState.PUBLISHED), **first}
    second = decide_step(now, step(MatterAction.CLAIM, "published"), HANDLER_2)
    assert isinstance(second, StepRefused)
    assert second.code == "stale_transition"
    assert second.params == {
        "state": "claimed",
        "state_by": "hd1",
        "state_at": AT,
        "from_state": "published",
        "action": "claim",
    }
    # 02:00 UTC is 10:00 in China: when the person moved it, as the reader's clock says.
    assert second.message_zh == "事项已不是“待认领”：hd1已于 11月28日 10:00 将其改为“已接单”"
    assert second.message == (
        "The matter is no longer On the claim list: hd1 made it Claimed on 28 Nov 10:00."
    )
    assert "stale_transition" in ZH


@pytest.mark.parametrize(
    ("before", "the_step", "actor"),
    [
        # the role table
        (matter(), step(MatterAction.ACCEPT, "reported"), WORKER),
        (matter(), step(MatterAction.ACCEPT, "reported"), HANDLER),
        (matter(MatterState.ACCEPTED), step(MatterAction.DISPATCH, "accepted", org_id="o"), WORKER),
        (matter(MatterState.PUBLISHED), step(MatterAction.CLAIM, "published"), WORKER),
        (matter(MatterState.PUBLISHED), step(MatterAction.CLAIM, "published"), SUPERVISOR),
        (matter(MatterState.CLOSING), step(MatterAction.VERIFY_CLOSE, "closing"), HANDLER),
        (matter(MatterState.CLOSED), step(MatterAction.RATE, "closed", rating=5), HANDLER),
        # grids
        (matter(), step(MatterAction.ACCEPT, "reported"), OUTSIDER),
        (
            matter(MatterState.PUBLISHED),
            step(MatterAction.CLAIM, "published"),
            Actor("hd3", Role.HANDLER, org_id="org-3", grids=frozenset({"other-community"})),
        ),
        # assignees
        (
            matter(MatterState.DISPATCHED, assignee_org_id="org-1"),
            step(MatterAction.TAKE, "dispatched"),
            HANDLER_2,
        ),
        (
            matter(MatterState.DISPATCHED, assignee_org_id="org-1", assignee_user_id="hd9"),
            step(MatterAction.TAKE, "dispatched"),
            HANDLER,
        ),
        (
            matter(MatterState.CLAIMED, assignee_user_id="hd1"),
            step(MatterAction.START, "claimed"),
            HANDLER_2,
        ),
        (
            matter(MatterState.HANDLING, assignee_user_id="hd1"),
            step(MatterAction.APPLY_CLOSE, "handling", photos=[PHOTO], reason="x"),
            WORKER,
        ),
    ],
)
def test_who_may_not_is_told_not_allowed(
    before: dict[str, Any], the_step: dict[str, Any], actor: Actor
) -> None:
    result = decide_step(before, the_step, actor)
    assert isinstance(result, StepRefused) and result.code == "not_allowed"
    assert result.message_zh


@pytest.mark.parametrize(
    ("before", "the_step", "field"),
    [
        (matter(), step(MatterAction.DECLINE, "reported"), "reason"),
        (matter(), step(MatterAction.DECLINE, "reported", reason="  "), "reason"),
        (matter(MatterState.ACCEPTED), step(MatterAction.DISPATCH, "accepted"), "org_id"),
        (
            matter(MatterState.HANDLING, assignee_user_id="wkr"),
            step(MatterAction.APPLY_CLOSE, "handling", reason="done"),
            "photos",
        ),
        (
            matter(MatterState.HANDLING, assignee_user_id="wkr"),
            step(MatterAction.APPLY_CLOSE, "handling", photos=[PHOTO]),
            "reason",
        ),
        (matter(MatterState.CLOSING), step(MatterAction.SEND_BACK, "closing"), "reason"),
        (matter(MatterState.CLOSED), step(MatterAction.RATE, "closed", rating=0), "rating"),
        (matter(MatterState.CLOSED), step(MatterAction.RATE, "closed", rating=6), "rating"),
        (matter(MatterState.CLOSED), step(MatterAction.RATE, "closed", rating=True), "rating"),
        (matter(MatterState.CLOSED), step(MatterAction.RATE, "closed"), "rating"),
        (
            matter(MatterState.CLOSED, rating=3),
            step(MatterAction.RATE, "closed", rating=5),
            "rating",
        ),
    ],
)
def test_a_step_missing_what_it_needs_is_invalid(
    before: dict[str, Any], the_step: dict[str, Any], field: str
) -> None:
    # Someone the table allows (apply_close is the assignee's, a worker here), so only what the
    # step carries is wrong.
    allowed = Role.ADMIN in WHO_MAY[MatterAction(the_step["action"])]
    result = decide_step(before, the_step, ADMIN if allowed else WORKER)
    assert isinstance(result, StepRefused) and result.code == "invalid"
    assert result.params["field"] == field


def test_an_action_the_state_has_no_transition_for_is_invalid() -> None:
    result = decide_step(matter(MatterState.CLOSED), step(MatterAction.ACCEPT, "closed"), ADMIN)
    assert isinstance(result, StepRefused) and result.code == "invalid"
    unknown = decide_step(matter(), {"action": "teleport", "from_state": "reported"}, ADMIN)
    assert isinstance(unknown, StepRefused) and unknown.code == "invalid"


def test_the_phone_rebases_its_pending_steps_on_what_arrives() -> None:
    # The phone took the order offline; meanwhile another handler's claim reached the server.
    pulled = {**matter(MatterState.CLAIMED), "assignee_user_id": "hd2", "state_by": "hd2"}
    pending = [step(MatterAction.CLAIM, "published"), step(MatterAction.START, "claimed")]
    values, refused = replay(pulled, pending, lambda _s: HANDLER)
    assert values["state"] == "claimed" and values["assignee_user_id"] == "hd2"
    assert [r.code for _s, r in refused] == ["stale_transition", "not_allowed"]


# --- points ---------------------------------------------------------------------------------

CATEGORY = {"base_points": 5, "bonus_points": 2}
CLOSED_AT = datetime(2026, 11, 28, 2, tzinfo=UTC)


def test_closing_credits_the_assignee_the_base_and_a_good_rating_the_bonus() -> None:
    closing = matter(MatterState.CLOSING, assignee_user_id="hd1")
    closed = {**closing, "state": "closed", "closed_at": AT}
    base = credits_for(closing, closed, CATEGORY, now=CLOSED_AT, rating_window_days=7)
    assert [(c.user_id, c.kind, c.amount) for c in base] == [("hd1", "base", 5)]
    rated = {**closed, "rating": 4}
    bonus = credits_for(closed, rated, CATEGORY, now=CLOSED_AT, rating_window_days=7)
    assert [(c.kind, c.amount) for c in bonus] == [("bonus", 2)]
    poor = credits_for(
        closed, {**closed, "rating": 3}, CATEGORY, now=CLOSED_AT, rating_window_days=7
    )
    assert poor == []


def test_a_rating_after_the_window_keeps_the_base_only() -> None:
    closed = {**matter(MatterState.CLOSED, assignee_user_id="hd1"), "closed_at": AT}
    late = CLOSED_AT + timedelta(days=7, minutes=1)
    assert (
        credits_for(closed, {**closed, "rating": 5}, CATEGORY, now=late, rating_window_days=7) == []
    )
    on_time = CLOSED_AT + timedelta(days=7)
    assert credits_for(closed, {**closed, "rating": 5}, CATEGORY, now=on_time, rating_window_days=7)


def test_due_and_overdue_follow_the_category_time_limit() -> None:
    assert due_at("2026-11-28T10:00:00+08:00", 24) == "2026-11-29T02:00:00.000Z"
    assert due_at(None, 24) is None
    open_matter = {"state": "handling", "due_at": "2026-11-29T02:00:00.000Z"}
    assert not is_overdue(open_matter, datetime(2026, 11, 29, 2, tzinfo=UTC))
    assert is_overdue(open_matter, datetime(2026, 11, 29, 2, 1, tzinfo=UTC))
    late_close = {**open_matter, "state": "closed", "closed_at": "2026-11-30T00:00:00.000Z"}
    assert is_overdue(late_close, datetime(2026, 11, 29, tzinfo=UTC))


# --- records ---------------------------------------------------------------------------------


def test_a_device_matter_is_checked_and_server_fields_refused() -> None:
    values, errors = check_values(
        "matter",
        {
            "category_id": "c",
            "grid_id": GRID,
            "description": "污水外溢",
            "source": "居民点单",
            "urgency": "紧急",
            "photos": [PHOTO.upper(), PHOTO],
            "reported_at": "2026-11-28T10:00:00+08:00",
        },
        creating=True,
        today=TODAY,
    )
    assert errors == []
    assert values["source"] == "resident_order" and values["urgency"] == "urgent"
    assert values["photos"] == [PHOTO] and values["reported_at"] == "2026-11-28T02:00:00.000Z"
    _values, errors = check_values(
        "matter", {"state": "closed", "photos": ["not-a-hash"]}, creating=False, today=TODAY
    )
    assert {(e.field, e.code) for e in errors} == {
        ("state", "not_device_writable"),
        ("photos", "photo_hash"),
    }


def test_a_step_is_append_only_and_names_a_known_action() -> None:
    spec = ENTITIES["matter_step"]
    assert spec.append_only and spec.device_creatable and not spec.device_updatable
    assert not ENTITIES["matter"].device_deletable
    assert not ENTITIES["org"].device_creatable and not ENTITIES["matter_category"].device_creatable
    _values, errors = check_values(
        "matter_step",
        {"matter_id": "m", "action": "fly", "from_state": "reported", "at": AT},
        creating=True,
        today=TODAY,
    )
    assert [(e.field, e.code) for e in errors] == [("action", "choice")]


def test_photos_are_limited_in_number() -> None:
    many = [f"{i:064x}" for i in range(10)]
    error = check_photos(many)
    assert not isinstance(error, list) and error.code == "too_many_photos"


# --- random sequences ------------------------------------------------------------------------

ACTORS = (SUPERVISOR, ADMIN, WORKER, HANDLER, HANDLER_2, OUTSIDER)
# Half the random matters come from a business check, so re-inspection can apply to them.
ORIGINS = st.sampled_from([{}, {"checklist_item_id": "item-1"}])
STEP = st.fixed_dictionaries(
    {
        "action": st.sampled_from([a.value for a in MatterAction]),
        "from_state": st.sampled_from([s.value for s in MatterState]),
        "at": st.just(AT),
        "reason": st.sampled_from([None, "", "原因"]),
        "photos": st.sampled_from([[], [PHOTO]]),
        "org_id": st.sampled_from([None, "org-1", "org-2"]),
        "user_id": st.sampled_from([None, "hd1", "wkr"]),
        "rating": st.sampled_from([None, 0, 3, 5]),
    }
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(STEP, st.sampled_from(ACTORS)), max_size=25), ORIGINS)
def test_random_steps_only_ever_follow_the_table(
    steps: list[tuple[dict[str, Any], Actor]], origin: dict[str, Any]
) -> None:
    values = matter(**origin)
    for the_step, actor in steps:
        before = dict(values)
        result = decide_step(values, the_step, actor)
        if isinstance(result, StepRefused):
            assert result.code in {"stale_transition", "not_allowed", "invalid"}
            continue
        action = MatterAction(the_step["action"])
        sources, target = TRANSITIONS[action]
        assert before["state"] in sources and the_step["from_state"] == before["state"]
        assert str(actor.role) in WHO_MAY[action]
        assert result["state"] == (target or before["state"])
        values.update(result)
        if action is MatterAction.RATE:
            assert before["rating"] is None and 1 <= values["rating"] <= 5


def test_a_refusal_reads_from_the_one_catalogue_by_code_with_names_in_both_languages() -> None:
    params = {
        "state": "claimed",
        "state_by": "u-7",
        "state_at": "2026-12-07T06:05:00Z",
        "from_state": "published",
        "action": "claim",
    }
    names = {"u-7": "张三（社区）"}
    assert refusal_text("stale_transition", params, "zh-CN", names=names) == (
        "事项已不是“待认领”：张三（社区）已于 12月7日 14:05 将其改为“已接单”"
    )
    assert refusal_text("stale_transition", params, "en", names=names) == (
        "The matter is no longer On the claim list: 张三（社区） made it Claimed on 7 Dec 14:05."
    )
    # The console knows only the code and the refused field: the field picks the cause.
    assert refusal_text("invalid", {"field": "reason", "action": "decline"}, "zh-CN") == (
        "执行“不予受理”须填写原因"
    )
    assert refusal_text("invalid", {"field": "reason", "action": "apply_close"}, "en") == (
        "Applying to close needs a work note."
    )
    assert refusal_text("not_allowed", {"action": "verify_close"}, "zh-CN") == (
        "您不能对该事项执行“核查结案”"
    )
    assert refusal_text("no_such_code", {}, "zh-CN") == ""


def test_every_refusal_decide_step_makes_has_its_own_words() -> None:
    refusals = [
        decide_step(matter(), step(MatterAction.ACCEPT, "reported"), WORKER),
        decide_step(matter(), step(MatterAction.ACCEPT, "reported"), OUTSIDER),
        decide_step(matter(), step(MatterAction.DECLINE, "reported"), SUPERVISOR),
        decide_step(matter(), {"action": "fly", "from_state": "reported", "at": AT}, SUPERVISOR),
        decide_step(matter(), step(MatterAction.VERIFY_CLOSE, "reported"), SUPERVISOR),
        decide_step(matter(MatterState.ACCEPTED), step(MatterAction.DISPATCH, "accepted"), ADMIN),
    ]
    texts = set()
    for refused in refusals:
        assert isinstance(refused, StepRefused)
        assert refusal_key(refused.code, refused.params) in REFUSALS
        assert "{" not in refused.message_zh and "{" not in refused.message
        texts.add(refused.message_zh)
    assert len(texts) == len(refusals)


# --- re-inspection (复查) ----------------------------------------------------------------------


def test_only_a_business_checks_matter_is_reinspected() -> None:
    refused = decide_step(
        matter(MatterState.HANDLING), step(MatterAction.REINSPECT_PASS, "handling"), WORKER
    )
    assert isinstance(refused, StepRefused) and refused.code == "invalid"
    assert refused.message_zh == "只有商户检查发现的问题才能复查"


def test_reinspection_is_refused_outside_the_grid_and_for_a_handler() -> None:
    checked = matter(MatterState.REPORTED, checklist_item_id="item-1")
    far = decide_step(checked, step(MatterAction.REINSPECT_PASS, "reported"), OUTSIDER)
    handler = decide_step(checked, step(MatterAction.REINSPECT_PASS, "reported"), HANDLER)
    assert isinstance(far, StepRefused) and far.code == "not_allowed"
    assert isinstance(handler, StepRefused) and handler.code == "not_allowed"


def test_a_reinspection_of_a_matter_moved_meanwhile_is_stale() -> None:
    moved = matter(MatterState.CLOSING, checklist_item_id="item-1", state_by="hd1")
    stale = decide_step(moved, step(MatterAction.REINSPECT_FAIL, "handling"), WORKER)
    assert isinstance(stale, StepRefused) and stale.code == "stale_transition"
    assert stale.params["state"] == "closing"


def test_a_closed_matter_is_not_reinspected() -> None:
    closed = matter(MatterState.CLOSED, checklist_item_id="item-1")
    again = decide_step(closed, step(MatterAction.REINSPECT_PASS, "closed"), WORKER)
    assert isinstance(again, StepRefused) and again.code == "invalid"


def test_closing_by_reinspection_credits_the_assignee_base_points() -> None:
    before = matter(MatterState.HANDLING, assignee_user_id="hd1", checklist_item_id="item-1")
    after = decide_step(before, step(MatterAction.REINSPECT_PASS, "handling"), WORKER)
    assert not isinstance(after, StepRefused)
    credits = credits_for(
        before,
        {**before, **after},
        {"base_points": 5, "bonus_points": 2},
        now=datetime(2026, 11, 28, 3, tzinfo=UTC),
        rating_window_days=7,
    )
    assert [(c.user_id, c.kind, c.amount) for c in credits] == [("hd1", "base", 5)]
