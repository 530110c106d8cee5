"""Matters (事项) as the worker sees them: the pulled state with this device's pending steps
applied, lists by who and by state (overdue first), counts, and one matter's timeline.

A matter's life is its steps (append-only `matter_step` records naming the state they start
from); the server decides each with `shared.matters.decide_step` and keeps the result on the
matter. The phone runs the same function over the steps it has not had confirmed yet, on top of
what it last pulled, so the worker sees their offline claim or closure at once — and sees a step
the pulled state has made impossible (somebody else claimed first) marked as such, before the
server says so (`stale_transition`, kept as a rejected operation in the outbox).

These functions only read; the caller holds the transaction, if any.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from field_app.store import outbox
from field_app.store.db import chunks, marks
from field_app.store.outbox import OutboxProblem
from field_app.store.records import Record, from_row, select_sql
from field_app.store.sealed import StoreDb
from shared.clock import parse_timestamp
from shared.matters import (
    CHECK_ACTIONS,
    OPEN_STATES,
    TRANSITIONS,
    WHO_MAY,
    Actor,
    MatterAction,
    MatterState,
    StepRefused,
    decide_step,
    is_overdue,
)
from shared.matters import due_at as due_under
from shared.schema import Role

Scope = Literal["grids", "mine", "claim", "orders"]
ENDED = frozenset({MatterState.CLOSED.value, MatterState.DECLINED.value})
# What a handler's "my orders" holds: orders given to them or their unit and not yet closed.
ORDER_STATES = frozenset(
    s.value
    for s in (
        MatterState.DISPATCHED,
        MatterState.CLAIMED,
        MatterState.HANDLING,
        MatterState.CLOSING,
    )
)


@dataclass(frozen=True)
class Step:
    """One step of a matter's timeline."""

    record: Record
    pending: bool  # made on this device, not yet confirmed by the server
    # A pending step that no longer fits the matter as pulled (e.g. somebody else claimed it
    # first): the server will refuse it with this code and message.
    refused: StepRefused | None = None

    @property
    def action(self) -> str:
        return str(self.record.values.get("action") or "")

    @property
    def at(self) -> str:
        return str(self.record.values.get("at") or "")


@dataclass(frozen=True)
class MatterItem:
    """A matter in a list: its record, the values shown (pending steps applied), its deadline."""

    record: Record
    shown: dict[str, Any]
    due_at: datetime | None
    overdue: bool
    pending_steps: int = 0
    refused_steps: int = 0

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def state(self) -> str:
        return str(self.shown.get("state") or MatterState.REPORTED.value)


@dataclass(frozen=True)
class MatterDetail:
    item: MatterItem
    steps: list[Step] = field(default_factory=list)  # confirmed, then pending, in time order
    # Steps the server refused (stale_transition: who moved the matter and when), until read.
    rejected: list[OutboxProblem] = field(default_factory=list)


@dataclass(frozen=True)
class MatterCounts:
    """For the home screen's entry: open matters and how many are past their deadline."""

    open: int = 0
    overdue: int = 0
    claimable: int = 0  # published to the claim list (a handler's)
    by_state: dict[str, int] = field(default_factory=dict)


def actor_of(
    db: StoreDb, user: Mapping[str, Any] | None, user_id: str | None, scope: Iterable[str]
) -> Actor:
    """The signed-in user as `decide_step` judges them: meta.user as the server described them,
    serving the grids they were given and those the last pull said are theirs (`scope`).

    A handler's scope is not grids but the server's matter keys (`pub:<community>`,
    `user:<me>`, `org:<my unit>`): their unit comes from it, and every matter the server sent
    them is of a community they serve, so the grids of the matters on the device count as served
    (the server judges again).
    """
    user = user or {}
    role = str(user.get("role") or "worker")
    grids = {str(g.get("id")) for g in user.get("grids") or [] if isinstance(g, dict)}
    org_id = user.get("org_id")
    for key in scope:
        kind, sep, rest = key.partition(":")
        if not sep:
            grids.add(key)
        elif kind == "pub":  # published to my community
            grids.add(rest)
        elif kind == "org":  # dispatched to my unit: the handler's own organisation
            org_id = org_id or rest
    if role == Role.HANDLER.value:
        rows = db.execute("SELECT DISTINCT grid_id FROM matter WHERE grid_id IS NOT NULL")
        grids |= {str(row[0]) for row in rows.fetchall()}
    return Actor(
        user_id=str(user_id or user.get("id") or ""),
        role=role,
        org_id=org_id,
        grids=frozenset(grids - {"None", ""}),
    )


def may_take(shown: Mapping[str, Any], actor: Actor) -> list[str]:
    """The steps `actor` may take on the matter as shown, in the table's order: those the rules
    refuse only for want of a reason, photo, unit or rating (the step's form asks for them)."""
    state = str(shown.get("state") or MatterState.REPORTED.value)
    found: list[str] = []
    for action, (sources, _) in TRANSITIONS.items():
        if action in CHECK_ACTIONS:
            continue  # only a business check re-inspects a matter
        if state not in sources or str(actor.role) not in WHO_MAY[action]:
            continue
        probe = {"action": action.value, "from_state": state, "at": None}
        decided = decide_step(shown, probe, actor)
        if not isinstance(decided, StepRefused) or (
            decided.code == "invalid" and "field" in decided.params
        ):
            found.append(action.value)
    if MatterAction.RATE.value in found and shown.get("rating") is not None:
        found.remove(MatterAction.RATE.value)
    return found


def matter_records(db: StoreDb, ids: Iterable[str] | None = None) -> list[Record]:
    """Live matters on the device (all of them, or those of `ids`)."""
    if ids is None:
        rows = db.query(select_sql("matter", "t.deleted = 0"))
        return [from_row("matter", row, db.sealer) for row in rows]
    found: list[Record] = []
    for batch in chunks(ids):
        sql = select_sql("matter", f"t.deleted = 0 AND t.id IN ({marks(batch)})")
        found += [from_row("matter", row, db.sealer) for row in db.query(sql, batch)]
    return found


def steps_of(db: StoreDb, matter_ids: Iterable[str]) -> dict[str, list[Record]]:
    """The steps on the device of each matter, in time order (confirmed before pending at one
    moment: a step made here after seeing a confirmed one comes after it)."""
    found: dict[str, list[Record]] = defaultdict(list)
    for batch in chunks(matter_ids):
        sql = select_sql(
            "matter_step",
            f"t.deleted = 0 AND t.matter_id IN ({marks(batch)})",
            # Steps made here within one clock tick keep the order they were taken in.
            order_by="t.version IS NULL, t.at, (SELECT MIN(o.seq) FROM outbox o "
            "WHERE o.entity = 'matter_step' AND o.record_id = t.id), t.id",
        )
        for row in db.query(sql, batch):
            record = from_row("matter_step", row, db.sealer)
            found[str(record.values["matter_id"])].append(record)
    return found


def categories(db: StoreDb) -> dict[str, Record]:
    rows = db.query(select_sql("matter_category", "t.deleted = 0", order_by="t.name"))
    return {r.id: r for r in (from_row("matter_category", row, db.sealer) for row in rows)}


def active_categories(db: StoreDb) -> list[Record]:
    """The categories a worker may report under, by name."""
    return [c for c in categories(db).values() if c.values.get("active") in (1, None)]


def orgs(db: StoreDb) -> list[Record]:
    rows = db.query(select_sql("org", "t.deleted = 0", order_by="t.kind, t.name"))
    return [from_row("org", row, db.sealer) for row in rows]


def rebased(
    values: Mapping[str, Any], steps: Iterable[Record], actor: Actor
) -> tuple[dict[str, Any], list[Step]]:
    """The matter with its pending steps applied in order, and every step marked.

    A pending step `decide_step` refuses is kept (it is still in the outbox) and marked; the
    steps after it are judged on the state before it, as the server will judge them.
    """
    shown = dict(values)
    if not shown.get("state"):
        shown["state"] = MatterState.REPORTED.value  # reported here, not yet pulled back
    marked: list[Step] = []
    for step in steps:
        if step.version is not None:
            marked.append(Step(step, pending=False))
            continue
        decided = decide_step(shown, step.values, actor)
        if isinstance(decided, StepRefused):
            marked.append(Step(step, pending=True, refused=decided))
        else:
            shown.update(decided)
            marked.append(Step(step, pending=True))
    return shown, marked


def due_at(values: Mapping[str, Any], category: Record | None) -> datetime | None:
    """The server's deadline, or (for a matter not yet pulled back) reported_at + the
    category's time limit, as the server will set it."""
    hours = category.values.get("time_limit_hours") if category is not None else None
    text = values.get("due_at") or due_under(values.get("reported_at"), hours)
    return parse_timestamp(str(text)) if text else None


def items(
    db: StoreDb,
    *,
    actor: Actor,
    now: datetime,
    ids: Iterable[str] | None = None,
) -> list[MatterItem]:
    """Matters on the device as shown, overdue ones first (earliest deadline first), then the
    other open ones by deadline, then closed and declined ones; the latest reported first
    within one deadline."""
    records_ = matter_records(db, ids)
    steps = steps_of(db, (r.id for r in records_))
    cats = categories(db)
    found: list[MatterItem] = []
    for record in records_:
        shown, marked = rebased(record.values, steps.get(record.id, []), actor)
        deadline = due_at(shown, cats.get(str(shown.get("category_id"))))
        if deadline is not None and not shown.get("due_at"):
            shown["due_at"] = deadline.isoformat()
        # Overdue first means the open ones: one closed late is history, not work to do.
        overdue = shown["state"] in OPEN_STATES and is_overdue(shown, now)
        found.append(
            MatterItem(
                record,
                shown,
                deadline,
                overdue,
                pending_steps=sum(1 for s in marked if s.pending),
                refused_steps=sum(1 for s in marked if s.refused is not None),
            )
        )
    far = datetime.max.replace(tzinfo=now.tzinfo)
    found.sort(
        key=lambda m: (
            not m.overdue,
            m.state in ENDED,
            m.due_at or far,
            _negated(m.shown.get("reported_at")),
        )
    )
    return found


def select(
    found: list[MatterItem],
    scope: Scope,
    actor: Actor,
    *,
    state: str | None = None,
    reported_here: Iterable[str] = (),
) -> list[MatterItem]:
    """The matters of one list: `grids` (all on the device: the worker's grids), `mine` (reported
    on this phone by its user, not yet synced, last moved by me or given to me), `claim`
    (published to the claim list), `orders` (given to me, or to my unit and not yet taken by a
    member; not closed)."""
    reported = set(reported_here)

    def mine(m: MatterItem) -> bool:
        return (
            m.record.version is None
            or m.id in reported
            or actor.user_id in (m.shown.get("state_by"), m.shown.get("assignee_user_id"))
        )

    def order(m: MatterItem) -> bool:
        # Given to me, or to my unit and not yet taken by one of us (as `take` judges it).
        given = m.shown.get("assignee_user_id") == actor.user_id or (
            actor.org_id is not None
            and m.shown.get("assignee_org_id") == actor.org_id
            and not m.shown.get("assignee_user_id")
        )
        return given and m.state in ORDER_STATES

    keep = {
        "grids": lambda m: True,
        "mine": mine,
        "claim": lambda m: m.state == MatterState.PUBLISHED.value,
        "orders": order,
    }[scope]
    return [m for m in found if keep(m) and (state is None or m.state == state)]


def counts(found: list[MatterItem]) -> MatterCounts:
    by_state: dict[str, int] = defaultdict(int)
    for m in found:
        by_state[m.state] += 1
    return MatterCounts(
        open=sum(1 for m in found if m.state not in ENDED),
        overdue=sum(1 for m in found if m.overdue),
        claimable=by_state.get(MatterState.PUBLISHED.value, 0),
        by_state=dict(by_state),
    )


def detail(db: StoreDb, matter_id: str, *, actor: Actor, now: datetime) -> MatterDetail | None:
    found = items(db, actor=actor, now=now, ids=[matter_id])
    if not found:
        return None
    item = found[0]
    _, marked = rebased(item.record.values, steps_of(db, [matter_id]).get(matter_id, []), actor)
    return MatterDetail(item, marked, rejected_steps(db, matter_id))


def rejected_steps(db: StoreDb, matter_id: str) -> list[OutboxProblem]:
    """Steps of this matter the server refused, with its code and message."""
    return [
        p
        for p in outbox.problems(db)
        if p.op.entity == "matter_step"
        and p.status == "rejected"
        and p.op.fields.get("matter_id") is not None
        and p.op.fields["matter_id"].new == matter_id
    ]


def _negated(text: Any) -> float:
    # Latest first, within one deadline: sort on minus the timestamp.
    moment = parse_timestamp(str(text or ""))
    return -moment.timestamp() if moment is not None else 0.0
