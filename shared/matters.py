"""Matters (事项): their states, the transitions between them, who may make each, and points.

A matter's life is a sequence of append-only steps (`matter_step` records), never edited fields.
Each step names the state its actor saw (`from_state`); `decide_step` checks it against the
matter's current state and either returns the matter's new server-kept values or refuses. The
sync server runs it authoritatively at push time; the phone runs the same function over what it
pulled to show its pending steps rebased. Pure: no I/O, no clock (the step carries its moment).

Transitions (`TRANSITIONS`)
    | action       | from                | to         | requires                            |
    | accept       | reported            | accepted   |                                     |
    | decline      | reported            | declined   | `reason`                            |
    | dispatch     | accepted            | dispatched | `org_id` or `user_id`               |
    | publish      | accepted            | published  |                                     |
    | claim        | published           | claimed    | the matter's community is served    |
    | take         | dispatched          | claimed    | dispatched to the actor or their org|
    | start        | claimed             | handling   | the actor is the assignee           |
    | apply_close  | claimed, handling   | closing    | assignee; >=1 photo and `reason`    |
    | verify_close | closing             | closed     |                                     |
    | send_back    | closing             | handling   | `reason`                            |
    | rate         | closed              | closed     | not yet rated; `rating` 1-5         |
    | reinspect_pass | any open state    | closed     | a business check's matter (销号)     |
    | reinspect_fail | any open state    | unchanged  | a business check's matter           |

Re-inspection (复查, `CHECK_ACTIONS`): a matter opened by a failed item of a business check
    (`checklist_item_id` set, shared/inspection_matters.py) is moved by the next check of that business
    that marks the item: pass closes it (销号), fail leaves it where it is with the new note and
    photos on the step. Only the server makes these steps, when it applies a check; a device that
    sends one is refused.

Who may (`WHO_MAY`, one table): supervisors and admins run the case (accept, decline, dispatch,
    publish, verify, send back); handlers (unit staff, volunteers) claim published orders of a
    community they serve; the dispatched person (handler or worker) or a member of the dispatched
    org takes it; the assignee starts and applies to close; workers, supervisors and admins record
    the resident's rating. Workers and supervisors act only on matters in their grids
    (`Actor.grids`), admins everywhere.

Refusals (`StepRefused.code`, also in the server's error catalogue)
    stale_transition  from_state is not the current state: the message names the current state,
                      who moved it there and when (params state, state_by, state_at);
    not_allowed       the actor's role may not make this step, or they are not its assignee or
                      do not serve the matter's grid;
    invalid           an unknown action, an action the current state has no transition for, or
                      a missing reason/photo/target, a rating out of range, a second rating.

Points (`credits_for`): the step that closes a matter credits its assignee the category's base
    points; a rating of 4 or 5 recorded within `rating_window_days` of the close adds the bonus. A
    matter not rated within the window thus keeps the base only. At most one credit per matter
    and kind (the server's ledger enforces it with a unique constraint).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.clock import CHINA_TIME, format_timestamp, parse_timestamp
from shared.errors import FieldError
from shared.schema import Role


class MatterState(StrEnum):
    REPORTED = "reported"  # 已上报
    ACCEPTED = "accepted"  # 已立案
    DECLINED = "declined"  # 不予受理
    DISPATCHED = "dispatched"  # 已派单
    PUBLISHED = "published"  # 待认领
    CLAIMED = "claimed"  # 已接单
    HANDLING = "handling"  # 办理中
    CLOSING = "closing"  # 待核查
    CLOSED = "closed"  # 已结案


class MatterAction(StrEnum):
    ACCEPT = "accept"  # 立案
    DECLINE = "decline"  # 不予受理
    DISPATCH = "dispatch"  # 派单
    PUBLISH = "publish"  # 发布到认领清单
    CLAIM = "claim"  # 认领
    TAKE = "take"  # 接单
    START = "start"  # 开始办理
    APPLY_CLOSE = "apply_close"  # 申请结单
    VERIFY_CLOSE = "verify_close"  # 核查结案
    SEND_BACK = "send_back"  # 退回
    RATE = "rate"  # 评价
    REINSPECT_PASS = "reinspect_pass"  # 复查合格（销号）
    REINSPECT_FAIL = "reinspect_fail"  # 复查仍不合格


class MatterSource(StrEnum):
    DOOR = "door"  # 上门发现
    RESIDENT_ORDER = "resident_order"  # 居民点单
    INSPECTION = "inspection"  # 排查整治
    TRANSFER = "transfer"  # 转办


class Urgency(StrEnum):
    NORMAL = "normal"  # 一般
    URGENT = "urgent"  # 紧急


class OrgKind(StrEnum):
    POLICE = "police"  # 公检法
    MUNICIPAL = "municipal"  # 市政
    WATER = "water"  # 水务
    TELECOM = "telecom"  # 通讯
    ENFORCEMENT = "enforcement"  # 执法应急
    RESIDENT_UNIT = "resident_unit"  # 驻地单位
    VOLUNTEERS = "volunteers"  # 志愿者
    # Not a 入网单位: an employer whose staff serve where they live (shared/members.py).
    EMPLOYER = "employer"  # 机关企事业单位


MATTER_STATE_ZH: dict[str, str] = {
    "reported": "已上报",
    "accepted": "已立案",
    "declined": "不予受理",
    "dispatched": "已派单",
    "published": "待认领",
    "claimed": "已接单",
    "handling": "办理中",
    "closing": "待核查",
    "closed": "已结案",
}
MATTER_STATE_EN: dict[str, str] = {
    "reported": "Reported",
    "accepted": "Accepted",
    "declined": "Declined",
    "dispatched": "Dispatched",
    "published": "On the claim list",
    "claimed": "Claimed",
    "handling": "Being handled",
    "closing": "Awaiting verification",
    "closed": "Closed",
}
MATTER_ACTION_ZH: dict[str, str] = {
    "accept": "立案",
    "decline": "不予受理",
    "dispatch": "派单",
    "publish": "发布认领",
    "claim": "认领",
    "take": "接单",
    "start": "开始办理",
    "apply_close": "申请结单",
    "verify_close": "核查结案",
    "send_back": "退回",
    "rate": "评价",
    "reinspect_pass": "复查合格销号",
    "reinspect_fail": "复查仍不合格",
}
MATTER_ACTION_EN: dict[str, str] = {
    "accept": "Accept",
    "decline": "Decline",
    "dispatch": "Dispatch",
    "publish": "Publish to the claim list",
    "claim": "Claim",
    "take": "Take",
    "start": "Start handling",
    "apply_close": "Apply to close",
    "verify_close": "Verify and close",
    "send_back": "Send back",
    "rate": "Rate",
    "reinspect_pass": "Re-inspected: passed, struck off",
    "reinspect_fail": "Re-inspected: still failing",
}
MATTER_SOURCE_ZH: dict[str, str] = {
    "door": "上门发现",
    "resident_order": "居民点单",
    "inspection": "排查整治",
    "transfer": "转办",
}
MATTER_SOURCE_EN: dict[str, str] = {
    "door": "Found at the door",
    "resident_order": "Resident's request",
    "inspection": "Inspection",
    "transfer": "Transferred",
}
URGENCY_ZH: dict[str, str] = {"normal": "一般", "urgent": "紧急"}
URGENCY_EN: dict[str, str] = {"normal": "Normal", "urgent": "Urgent"}
ORG_KIND_ZH: dict[str, str] = {
    "police": "公检法",
    "municipal": "市政",
    "water": "水务",
    "telecom": "通讯",
    "enforcement": "执法应急",
    "resident_unit": "驻地单位",
    "volunteers": "志愿者",
    "employer": "机关企事业单位",
}
ORG_KIND_EN: dict[str, str] = {
    "police": "Police and courts",
    "municipal": "Municipal services",
    "water": "Water",
    "telecom": "Telecom",
    "enforcement": "Enforcement and emergency",
    "resident_unit": "Resident unit",
    "volunteers": "Volunteers",
    "employer": "Government body, enterprise or institution",
}

# The categories a new installation starts with (name, time limit in hours, base, bonus points);
# the server's data migration and the demo seed both insert these.
DEFAULT_CATEGORIES: tuple[tuple[str, int, int, int], ...] = (
    ("环境卫生", 72, 5, 2),
    ("安全隐患", 24, 10, 5),
    ("设施维修", 120, 8, 3),
    ("矛盾纠纷", 168, 10, 5),
    ("民生诉求", 120, 6, 3),
    ("商户检查", 72, 5, 2),
)

S, A = MatterState, MatterAction
_OPEN = frozenset(
    {S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.PUBLISHED, S.CLAIMED, S.HANDLING, S.CLOSING}
)

# action -> (the states it starts from, the state it leads to; None: it stays where it is)
TRANSITIONS: dict[MatterAction, tuple[frozenset[MatterState], MatterState | None]] = {
    A.ACCEPT: (frozenset({S.REPORTED}), S.ACCEPTED),
    A.DECLINE: (frozenset({S.REPORTED}), S.DECLINED),
    A.DISPATCH: (frozenset({S.ACCEPTED}), S.DISPATCHED),
    A.PUBLISH: (frozenset({S.ACCEPTED}), S.PUBLISHED),
    A.CLAIM: (frozenset({S.PUBLISHED}), S.CLAIMED),
    A.TAKE: (frozenset({S.DISPATCHED}), S.CLAIMED),
    A.START: (frozenset({S.CLAIMED}), S.HANDLING),
    A.APPLY_CLOSE: (frozenset({S.CLAIMED, S.HANDLING}), S.CLOSING),
    A.VERIFY_CLOSE: (frozenset({S.CLOSING}), S.CLOSED),
    A.SEND_BACK: (frozenset({S.CLOSING}), S.HANDLING),
    A.RATE: (frozenset({S.CLOSED}), S.CLOSED),
    A.REINSPECT_PASS: (_OPEN, S.CLOSED),
    A.REINSPECT_FAIL: (_OPEN, None),
}
# Steps only a business check makes (the server derives them when it applies the check).
CHECK_ACTIONS: frozenset[MatterAction] = frozenset({A.REINSPECT_PASS, A.REINSPECT_FAIL})

_CASE = frozenset({Role.SUPERVISOR, Role.ADMIN})
_DOERS = frozenset({Role.HANDLER, Role.WORKER})

# Who may make which step: the one table. The assignee/scope conditions follow in `_condition`.
WHO_MAY: dict[MatterAction, frozenset[Role]] = {
    A.ACCEPT: _CASE,
    A.DECLINE: _CASE,
    A.DISPATCH: _CASE,
    A.PUBLISH: _CASE,
    A.CLAIM: frozenset({Role.HANDLER}),
    A.TAKE: _DOERS,
    A.START: _DOERS,
    A.APPLY_CLOSE: _DOERS,
    A.VERIFY_CLOSE: _CASE,
    A.SEND_BACK: _CASE,
    A.RATE: frozenset({Role.WORKER, Role.SUPERVISOR, Role.ADMIN}),
    # Whoever may check a business in the matter's grid re-inspects it.
    A.REINSPECT_PASS: frozenset({Role.WORKER, Role.SUPERVISOR, Role.ADMIN}),
    A.REINSPECT_FAIL: frozenset({Role.WORKER, Role.SUPERVISOR, Role.ADMIN}),
}

# The matter's fields a device may still edit (last writer wins) while it is only reported.
EDITABLE_WHILE_REPORTED: frozenset[str] = frozenset({"description", "place", "urgency", "photos"})
# Server-kept fields: what `decide_step` returns, never written by a device.
SERVER_FIELDS: tuple[str, ...] = (
    "state",
    "assignee_org_id",
    "assignee_user_id",
    "state_at",
    "state_by",
    "due_at",
    "rating",
    "closed_at",
)
OPEN_STATES: frozenset[MatterState] = _OPEN
RATING_MIN, RATING_MAX = 1, 5
GOOD_RATING = 4


@dataclass(frozen=True)
class Actor:
    """Who makes a step. `grids`: the grid nodes whose matters they serve, every node of their
    subtrees (a worker's or supervisor's grids; a handler's communities and their org's). Admins
    need none."""

    user_id: str
    role: Role | str
    org_id: str | None = None
    grids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class StepRefused:
    """Why a step may not be applied: a stable code, an English sentence, the Chinese one, and
    the values both were made from."""

    code: str  # stale_transition | not_allowed | invalid
    message: str
    message_zh: str
    params: dict[str, Any] = field(default_factory=dict)


def decide_step(
    matter: Mapping[str, Any], step: Mapping[str, Any], actor: Actor
) -> dict[str, Any] | StepRefused:
    """The matter's new server-kept values after `step`, or why the step is refused.

    `matter` holds the matter's current values (at least `state`, `grid_id` and the assignee
    fields), `step` the step's (`action`, `from_state`, `at`, and what the action needs). Only
    changed server-kept fields are returned, always with `state`, `state_at` and `state_by`."""
    try:
        action = MatterAction(str(step.get("action")))
    except ValueError:
        return _refused("invalid", "action", action=str(step.get("action"))[:40])
    role = str(actor.role)
    if role not in WHO_MAY[action]:
        return _refused("not_allowed", "role", action=action.value, role=role)
    current = str(matter.get("state"))
    if step.get("from_state") != current:
        return _stale(matter, step)
    sources, target = TRANSITIONS[action]
    if current not in sources:
        return _refused("invalid", "state", action=action.value, state=current)
    refusal = _condition(action, matter, step, actor) or _requirements(action, matter, step)
    if refusal is not None:
        return refusal
    at = step.get("at")
    new: dict[str, Any] = {
        "state": target.value if target is not None else current,
        "state_at": at,
        "state_by": actor.user_id,
    }
    if action is A.DISPATCH:
        new["assignee_org_id"] = step.get("org_id") or None
        new["assignee_user_id"] = step.get("user_id") or None
    elif action is A.CLAIM:
        new["assignee_org_id"] = actor.org_id
        new["assignee_user_id"] = actor.user_id
    elif action is A.TAKE:
        new["assignee_user_id"] = actor.user_id
    elif action in (A.VERIFY_CLOSE, A.REINSPECT_PASS):
        new["closed_at"] = at
    if action in (A.RATE, A.REINSPECT_FAIL):
        if action is A.RATE:
            new["rating"] = step.get("rating")
        # Not a move: who moved the matter to its state, and when, stays on it.
        new["state_at"] = matter.get("state_at")
        new["state_by"] = matter.get("state_by")
    return new


def _stale(matter: Mapping[str, Any], step: Mapping[str, Any]) -> StepRefused:
    return _refused(
        "stale_transition",
        None,
        state=matter.get("state"),
        state_by=matter.get("state_by"),
        state_at=matter.get("state_at"),
        from_state=step.get("from_state"),
        action=str(step.get("action")),
    )


def _condition(
    action: MatterAction, matter: Mapping[str, Any], step: Mapping[str, Any], actor: Actor
) -> StepRefused | None:
    """The assignee and scope conditions of the table's roles."""
    role = str(actor.role)
    if role == Role.ADMIN:
        return None
    if action in (A.TAKE,):
        mine = matter.get("assignee_user_id") == actor.user_id
        ours = (
            matter.get("assignee_org_id") is not None
            and matter.get("assignee_org_id") == actor.org_id
            and not matter.get("assignee_user_id")
        )
        if mine or ours:
            return None
        return _not_yours(action)
    if action in (A.START, A.APPLY_CLOSE):
        if matter.get("assignee_user_id") == actor.user_id:
            return None
        return _not_yours(action)
    if matter.get("grid_id") not in actor.grids:
        return _refused("not_allowed", "grid_id", action=action.value)
    return None


def _not_yours(action: MatterAction) -> StepRefused:
    return _refused("not_allowed", "assignee", action=action.value)


def _requirements(
    action: MatterAction, matter: Mapping[str, Any], step: Mapping[str, Any]
) -> StepRefused | None:
    """What the step itself must carry."""
    if action in (A.DECLINE, A.SEND_BACK, A.APPLY_CLOSE) and not _text(step.get("reason")):
        return _refused("invalid", "reason", action=action.value, field="reason")
    if action is A.APPLY_CLOSE and not step.get("photos"):
        return _refused("invalid", "photos", action=action.value, field="photos")
    if action in CHECK_ACTIONS and not matter.get("checklist_item_id"):
        return _refused("invalid", "reinspect", action=action.value, field="action")
    if action is A.DISPATCH and not (step.get("org_id") or step.get("user_id")):
        return _refused("invalid", "org_id", action=action.value, field="org_id")
    if action is A.RATE:
        if matter.get("rating") is not None:
            return _refused("invalid", "rated", action=action.value, field="rating")
        rating = step.get("rating")
        if (
            isinstance(rating, bool)
            or not isinstance(rating, int)
            or not RATING_MIN <= rating <= RATING_MAX
        ):
            return _refused("invalid", "rating", action=action.value, field="rating")
    return None


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _refused(code: str, detail: str | None, **params: Any) -> StepRefused:
    params = {"detail": detail, **params} if detail else params
    return StepRefused(
        code,
        refusal_text(code, params, "en"),
        refusal_text(code, params, "zh-CN"),
        params,
    )


# The refusals' words, one catalogue keyed by the stable code (and its detail, or the refused
# field, when the code has several causes): (zh-CN, English). Placeholders are filled by
# `refusal_text` from the refusal's params, already in the reader's language.
REFUSALS: dict[str, tuple[str, str]] = {
    "stale_transition": (
        "事项已不是“{from_state}”：{who}已于 {at} 将其改为“{state}”",
        "The matter is no longer {from_state}: {who} made it {state} on {at}.",
    ),
    "not_allowed": ("您不能对该事项执行“{action}”", "You may not {action} this matter."),
    "not_allowed.role": ("您的角色不能执行“{action}”", "Your role may not {action} a matter."),
    "not_allowed.grid_id": (
        "该事项不在您负责的网格或社区内，不能执行“{action}”",
        "This matter is not in a grid you serve: you may not {action} it.",
    ),
    "not_allowed.assignee": (
        "只有承办人才能执行“{action}”",
        "Only the matter's assignee may {action} it.",
    ),
    "invalid": ("该办理步骤无效", "This step is not valid."),
    "invalid.action": ("无效的操作“{action}”", "{action!r} is not a step."),
    "invalid.state": (
        "事项当前为“{state}”，不能执行“{action}”",
        "The matter is {state}: it cannot be given the step {action}.",
    ),
    "invalid.reason": ("执行“{action}”须填写原因", "{action} needs a reason."),
    "invalid.work_note": ("申请结单须填写工作简述", "Applying to close needs a work note."),
    "invalid.photos": ("申请结单须附至少一张照片", "Applying to close needs at least one photo."),
    "invalid.reinspect": (
        "只有商户检查发现的问题才能复查",
        "Only a matter a business check opened is re-inspected.",
    ),
    "invalid.org_id": ("派单须指定单位或人员", "Dispatching needs an organisation or a person."),
    "invalid.rated": ("该事项已评价过", "This matter has been rated already."),
    "invalid.rating": (
        f"评价应为{RATING_MIN}到{RATING_MAX}分",
        f"A rating is a whole number from {RATING_MIN} to {RATING_MAX}.",
    ),
}


def refusal_key(code: str, params: Mapping[str, Any]) -> str:
    """The catalogue entry for a refusal: its detail, else the refused field, else the code."""
    detail = params.get("detail") or params.get("field")
    if detail == "reason" and params.get("action") == A.APPLY_CLOSE.value:
        detail = "work_note"
    key = f"{code}.{detail}" if detail else code
    return key if key in REFUSALS else code


def refusal_text(
    code: str | None,
    params: Mapping[str, Any],
    language: str = "zh-CN",
    *,
    names: Mapping[str, str] | None = None,
) -> str:
    """Why a step was refused, in `language` (zh-CN or en), from its stable code and params:
    states and actions by their names in that language, who by `names` (user id -> display
    name; the id itself when unknown), when in China time. An unknown code gives ""."""
    entry = REFUSALS.get(refusal_key(str(code), params))
    if entry is None:
        return ""
    zh = language != "en"
    states = MATTER_STATE_ZH if zh else MATTER_STATE_EN
    actions = MATTER_ACTION_ZH if zh else {k: v.lower() for k, v in MATTER_ACTION_EN.items()}
    by = params.get("state_by")
    values = {
        "state": states.get(str(params.get("state")), str(params.get("state"))),
        "from_state": states.get(str(params.get("from_state")), str(params.get("from_state"))),
        "action": actions.get(str(params.get("action")), str(params.get("action"))),
        "who": (names or {}).get(str(by), str(by)) if by else ("有人" if zh else "someone"),
        "at": _when(params.get("state_at"), zh),
    }
    template = entry[0] if zh else entry[1]
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def _when(raw: Any, zh: bool) -> str:
    """ "12月7日 14:05" (or "7 Dec 14:05"): when a matter was moved, China time."""
    moment = raw if isinstance(raw, datetime) else parse_timestamp(str(raw)) if raw else None
    if moment is None:
        return str(raw or "?")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(CHINA_TIME)
    if zh:
        return f"{local.month}月{local.day}日 {local:%H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def replay(
    matter: Mapping[str, Any],
    steps: Sequence[Mapping[str, Any]],
    actor_of: Callable[[Mapping[str, Any]], Actor],
) -> tuple[dict[str, Any], list[tuple[Mapping[str, Any], StepRefused]]]:
    """The matter after applying `steps` in order (the phone's rebased view of its pending
    steps), and the steps refused with why. `actor_of(step)` gives each step's `Actor`."""
    values = dict(matter)
    refused: list[tuple[Mapping[str, Any], StepRefused]] = []
    for step in steps:
        result = decide_step(values, step, actor_of(step))
        if isinstance(result, StepRefused):
            refused.append((step, result))
        else:
            values.update(result)
    return values, refused


def due_at(reported_at: str | None, time_limit_hours: int | None) -> str | None:
    """When a matter reported at `reported_at` is due under its category's time limit."""
    moment = parse_timestamp(reported_at) if reported_at else None
    if moment is None or time_limit_hours is None:
        return None
    return format_timestamp(moment + timedelta(hours=time_limit_hours))


def is_overdue(matter: Mapping[str, Any], now: datetime) -> bool:
    """Open past its due time, or closed after it."""
    due = parse_timestamp(matter["due_at"]) if matter.get("due_at") else None
    if due is None:
        return False
    if matter.get("state") in OPEN_STATES:
        return now > due
    closed = parse_timestamp(matter["closed_at"]) if matter.get("closed_at") else None
    return closed is not None and closed > due


@dataclass(frozen=True)
class Credit:
    """Points a step earns: to whom, what kind (base | bonus), how many."""

    user_id: str
    kind: str
    amount: int


def credits_for(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    category: Mapping[str, Any],
    *,
    now: datetime,
    rating_window_days: int,
) -> list[Credit]:
    """The points a step that moved the matter from `before` to `after` earns its assignee
    (see the module docstring). `now` is the moment the step is recorded."""
    user = after.get("assignee_user_id")
    if not user:
        return []
    if after.get("state") == S.CLOSED and before.get("state") != S.CLOSED:
        return [Credit(str(user), "base", int(category.get("base_points") or 0))]
    if before.get("rating") is None and after.get("rating") is not None:
        rating = int(after["rating"])
        closed = parse_timestamp(after["closed_at"]) if after.get("closed_at") else None
        in_window = closed is None or now - closed <= timedelta(days=rating_window_days)
        bonus = int(category.get("bonus_points") or 0)
        if rating >= GOOD_RATING and in_window and bonus > 0:
            return [Credit(str(user), "bonus", bonus)]
    return []


MAX_PHOTOS = 9
_SHA256 = frozenset("0123456789abcdef")


def check_photos(raw: Any) -> list[str] | FieldError:
    """A list of photos named by their sha256 (64 lowercase hex digits), in the order taken,
    each once; at most `MAX_PHOTOS`."""
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        return FieldError("photos", "not_a_set", "photos must be a list of sha256 hex digests.")
    photos: list[str] = []
    for item in raw:
        digest = str(item).strip().lower()
        if len(digest) != 64 or not set(digest) <= _SHA256:
            return FieldError(
                "photos",
                "photo_hash",
                f"{item!r} is not a photo's sha256 (64 hex digits).",
                {"value": str(item)[:80]},
            )
        if digest not in photos:
            photos.append(digest)
    if len(photos) > MAX_PHOTOS:
        return FieldError(
            "photos", "too_many_photos", f"At most {MAX_PHOTOS} photos.", {"max": MAX_PHOTOS}
        )
    return photos


CATEGORY_NAMESPACE = uuid.UUID("6f1c2a52-5d0e-4c51-9a63-2b7d1e0f4a10")


def default_category_id(name: str) -> str:
    """The id of a seeded default category (the server's migration 0010 uses the same)."""
    return str(uuid.uuid5(CATEGORY_NAMESPACE, name))


def zh_kind(label: str) -> str | None:
    """An organisation kind from its value or Chinese label (公检法 -> police)."""
    label = label.strip()
    if label in ORG_KIND_ZH:
        return label
    return next((value for value, zh in ORG_KIND_ZH.items() if zh == label), None)
