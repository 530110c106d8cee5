"""Answering a pull: a bootstrap of the caller's grids, then the changes after their cursor.

The cursor is opaque to the device. It holds the last change sequence number delivered, the
level-5 grids the device holds as of that cursor, and, while a bootstrap runs, which grids are
still being sent and how far. Because the held grids travel in the cursor, a reassignment is
noticed on the next pull even if an earlier response was lost: grids that left the scope are
named in `removed_grids`, grids that entered it are bootstrapped, then changes resume.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from shared import hlc as hlc_mod
from shared.clock import china_date, china_day
from shared.moves import moved_since
from shared.protocol import PullRequest, PullResponse, RecordRef, RecordState
from shared.schema import Role
from sync_server.errors import BadCursor, Forbidden, ResyncRequired
from sync_server.models import (
    Binding,
    Building,
    Change,
    ConflictRecord,
    Device,
    GridNode,
    House,
    Resident,
    SyncedMixin,
    Unit,
    Visit,
)
from sync_server.queries.matter_people import matter_people
from sync_server.records import MODELS, state_of
from sync_server.services import business_sync, campaign_sync, matter_sync
from sync_server.services.auth import Caller
from sync_server.services.changes import current_seq
from sync_server.services.devices import note_outbox
from sync_server.services.record_grids import binding_held, resident_grids
from sync_server.services.review import acknowledge_notes, pending_notes
from sync_server.services.scope import GridSet, grid_set

BOOT_ORDER = ("grid_node", "building", "unit", "house", "resident", "binding", "visit")
# A new phone needs recent visits (who was seen this sweep), not every visit ever made.
VISIT_HISTORY_DAYS = 60


_CURSOR_VERSION = 2
_SEQ_MAX = 2**62  # far above any real sequence number, below every database's BIGINT limit
_GRID_ID_MAX = 64


@dataclass
class Cursor:
    seq: int
    scope: list[str]
    boot: list[str] = field(default_factory=list)
    stage: int = 0
    after: str = ""
    total: int = 0
    sent: int = 0
    v: int = _CURSOR_VERSION
    c: bool = False  # the device stores campaign records (PullRequest.campaigns)
    m: bool = False  # the device stores matter records (PullRequest.matters)
    b: bool = False  # the device stores business records (PullRequest.businesses)

    @property
    def order(self) -> tuple[str, ...]:
        """The bootstrap's entities, in order."""
        order: tuple[str, ...] = BOOT_ORDER
        order += campaign_sync.CAMPAIGN_ENTITIES if self.c else ()
        order = order + matter_sync.MATTER_ENTITIES if self.m else order
        return order + business_sync.BUSINESS_ENTITIES if self.b else order

    @property
    def skipped(self) -> tuple[str, ...]:
        """Entities this device is never sent."""
        skipped: tuple[str, ...] = () if self.c else campaign_sync.CAMPAIGN_ENTITIES
        skipped = skipped if self.m else skipped + matter_sync.MATTER_ENTITIES
        return skipped if self.b else skipped + business_sync.BUSINESS_ENTITIES

    def encode(self, key: bytes, device_id: str) -> str:
        """`payload.signature`: the payload is the cursor's JSON; the signature, an HMAC of it
        under the server's key, bound to the device, so a device can neither forge nor borrow
        another's cursor."""
        raw = json.dumps(asdict(self), separators=(",", ":")).encode()
        payload = _b64(raw)
        return f"{payload}.{_b64(_sign(key, device_id, payload))}"

    @classmethod
    def decode(cls, text: str, key: bytes, device_id: str) -> Cursor:
        payload, dot, signature = text.partition(".")
        if not dot:
            if _is_unsigned_v1(text):
                raise ResyncRequired(
                    "this sync cursor is from an older server; download your grids again "
                    "(unsynced changes are kept)"
                )
            raise _damaged()
        try:
            given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        except (ValueError, binascii.Error) as exc:
            raise _damaged() from exc
        if not hmac.compare_digest(given, _sign(key, device_id, payload)):
            raise _damaged()
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, binascii.Error) as exc:
            raise _damaged() from exc
        cursor = _checked(data)
        if cursor.stage > len(cursor.order):
            raise _damaged()
        return cursor


def _is_unsigned_v1(text: str) -> bool:
    """A cursor as servers before signed cursors wrote it: base64 JSON with `"v": 1`."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(data, dict) and data.get("v") == 1


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _sign(key: bytes, device_id: str, payload: str) -> bytes:
    return hmac.new(key, f"{device_id}\n{payload}".encode(), hashlib.sha256).digest()


def cursor_key(secret: str) -> bytes:
    """The key cursors are signed with, derived from the server's secret for this one use."""
    return hmac.new(secret.encode(), b"gridsweep sync cursor", hashlib.sha256).digest()


def _damaged() -> BadCursor:
    return BadCursor("the sync cursor is damaged; clear the app's data and sync again")


def _checked(data: Any) -> Cursor:
    """A cursor from signed JSON, its every field of the type and range the server wrote."""

    def whole(value: Any, high: int = _SEQ_MAX) -> int:
        if type(value) is not int or not 0 <= value <= high:
            raise _damaged()
        return value

    def ids(value: Any) -> list[str]:
        if not isinstance(value, list) or not all(
            isinstance(i, str) and 0 < len(i) <= _GRID_ID_MAX for i in value
        ):
            raise _damaged()
        return list(value)

    # `m` is newer than the cursor's version: a cursor without it stores no matters.
    if isinstance(data, dict) and "m" not in data:
        data = {**data, "m": False}
    if isinstance(data, dict) and "b" not in data:  # likewise newer: no business records
        data = {**data, "b": False}
    if not isinstance(data, dict) or set(data) != {f.name for f in fields(Cursor)}:
        raise _damaged()
    if (
        data["v"] != _CURSOR_VERSION
        or not isinstance(data["c"], bool)
        or not isinstance(data["m"], bool)
        or not isinstance(data["b"], bool)
    ):
        raise _damaged()
    if not isinstance(data["after"], str) or len(data["after"]) > _GRID_ID_MAX:
        raise _damaged()
    return Cursor(
        seq=whole(data["seq"]),
        scope=ids(data["scope"]),
        boot=ids(data["boot"]),
        stage=whole(data["stage"], 100),
        after=data["after"],
        total=whole(data["total"]),
        sent=whole(data["sent"]),
        c=data["c"],
        m=data["m"],
        b=data["b"],
    )


def pull(
    *,
    session: Session,
    caller: Caller,
    request: PullRequest,
    clock: hlc_mod.HLC,
    now: datetime,
    key: bytes,
) -> PullResponse:
    """One page for the caller's device. What it may receive is decided here, from the caller's
    assignments as stored now; the cursor (signed with `key`) only says how far it got."""
    device = caller.device
    if device is None or device.id != request.device_id:
        raise Forbidden(
            "pull with the device id this sign-in was issued for", code="device_mismatch"
        )
    grids = grid_set(session=session, user=caller.user)
    if caller.user.role == Role.HANDLER:
        grids = matter_sync.handler_scope(session=session, user=caller.user, grids=grids)
    leaves = sorted(grids.leaves)
    removed_grids: list[str] = []
    if request.cursor is None:
        cursor = Cursor(
            seq=current_seq(session=session),
            scope=leaves,
            boot=leaves,
            c=request.campaigns,
            m=request.matters,
            b=request.businesses,
        )
        cursor.total = _boot_total(session, now, grids, leaves, cursor.order)
    else:
        cursor = Cursor.decode(request.cursor, key, device.id)
        # Signed by this server, but written when the scope may have been larger.
        cursor.boot = sorted(set(cursor.boot) & grids.leaves)
        held = set(cursor.scope)
        if held != grids.leaves:
            removed_grids = sorted(held - grids.leaves)
            added = grids.leaves - held
            boot = (set(cursor.boot) - set(removed_grids)) | added
            cursor.scope = leaves
            if boot != set(cursor.boot):
                # Restart the bootstrap over the new set; re-sent records are harmless.
                cursor.boot, cursor.stage, cursor.after, cursor.sent = sorted(boot), 0, "", 0
                cursor.total = _boot_total(session, now, grids, cursor.boot, cursor.order)
        wanted = (request.campaigns, request.matters, request.businesses)
        if wanted != (cursor.c, cursor.m, cursor.b):
            _switch_stored(session, now, grids, cursor, *wanted)
    records: list[RecordState] = []
    removed: list[RecordRef] = []
    if cursor.boot:
        phase = "bootstrap"
        records = _boot_page(session, now, grids, cursor, request.limit)
        cursor.sent += len(records)
        if cursor.stage >= len(cursor.order):
            cursor.boot, cursor.stage, cursor.after = [], 0, ""
        has_more = (
            bool(cursor.boot) or _changes_after(session, grids, cursor.seq, cursor.skipped) > 0
        )
        remaining = max(cursor.total - cursor.sent, 0) if cursor.boot else None
    else:
        phase = "changes"
        records, removed, last_seq, page_full = _change_page(
            session,
            grids,
            cursor.seq,
            request.limit,
            since=moved_since(china_date(now)),
            campaigns=cursor.c,
            skipped=cursor.skipped,
            device_id=device.id,
        )
        cursor.seq = last_seq
        remaining = _changes_after(session, grids, cursor.seq, cursor.skipped) if page_full else 0
        has_more = page_full and remaining > 0
    return PullResponse(
        records=records,
        removed=removed,
        removed_grids=removed_grids,
        scope=leaves,
        cursor=cursor.encode(key, device.id),
        has_more=has_more,
        phase=phase,
        remaining=remaining,
        open_conflicts=_open_conflicts(session, device.id),
        # Notes acknowledged in this request are not sent again: `record_contact` stores the
        # acknowledgement right after this read.
        review_notes=pending_notes(
            session=session, device_id=device.id, excluding=request.ack_review_notes
        ),
        people=(
            matter_people(session=session, user=caller.user, grids=grids)
            if cursor.m and not has_more
            else None
        ),
        server_hlc=clock.now(),
    )


def record_contact(
    *, session: Session, device_id: str, request: PullRequest, now: datetime
) -> None:
    """What a pull tells the server about the device: when it last pulled, its outbox, the
    review notes it has stored. A short write of its own, after the pull's read transaction."""
    device = session.get(Device, device_id)
    if device is None:
        return
    device.last_pull_at = device.last_seen_at = now
    note_outbox(device, request.pending_ops, request.oldest_pending_at)
    acknowledge_notes(
        session=session, device_id=device_id, op_ids=request.ack_review_notes, now=now
    )


def _open_conflicts(session: Session, device_id: str) -> list[str]:
    return sorted(
        session.scalars(
            select(ConflictRecord.id).where(
                ConflictRecord.device_id == device_id, ConflictRecord.status == "open"
            )
        )
    )


def _switch_stored(
    session: Session,
    now: datetime,
    grids: GridSet,
    cursor: Cursor,
    campaigns: bool,
    matters: bool,
    businesses: bool,
) -> None:
    """The app started storing campaign, matter or business records (an update): bootstrap them
    over its scope, restarting a bootstrap that was still running so that it includes them."""
    before = cursor.order
    cursor.c, cursor.m, cursor.b = campaigns, matters, businesses
    new = [entity for entity in cursor.order if entity not in before]
    if not new:
        if cursor.boot and cursor.stage > len(cursor.order):
            cursor.stage, cursor.after = len(cursor.order), ""
        return
    start = 0 if cursor.boot else cursor.order.index(new[0])
    cursor.boot, cursor.stage, cursor.after, cursor.sent = list(cursor.scope), start, "", 0
    cursor.total = _boot_total(session, now, grids, cursor.boot, cursor.order[start:])


# --- bootstrap -----------------------------------------------------------------------------


def _boot_query(entity: str, grids: GridSet, boot: list[str], now: datetime) -> Select[Any]:
    since = moved_since(china_date(now))
    if entity in campaign_sync.CAMPAIGN_ENTITIES:
        return campaign_sync.boot_query(entity, grids, boot, since)
    if entity in matter_sync.MATTER_ENTITIES:
        return matter_sync.boot_query(entity, boot)
    if entity in business_sync.BUSINESS_ENTITIES:
        return business_sync.boot_query(entity, boot)
    model = MODELS[entity]
    query = select(model).where(model.deleted.is_(False))
    if entity == "grid_node":
        return query.where(GridNode.id.in_(sorted(grids.nodes)))
    if entity in ("building", "house"):
        return query.where(model.grid_id.in_(boot))  # type: ignore[attr-defined]
    if entity == "unit":
        return query.join(Building, Building.id == Unit.building_id).where(
            Building.grid_id.in_(boot)
        )
    if entity == "visit":
        seen_since, _ = china_day(china_date(now) - timedelta(days=VISIT_HISTORY_DAYS))
        return (
            query.join(House, House.id == Visit.house_id)
            .where(House.grid_id.in_(boot))
            .where(Visit.visited_at >= seen_since)
        )
    # Open bindings, and those that ended within the recently-moved window with their people.
    held = (
        select(Binding.resident_id if entity == "resident" else Binding.id)
        .join(House, House.id == Binding.house_id)
        .where(House.grid_id.in_(boot), binding_held(since), Binding.deleted.is_(False))
    )
    if entity == "resident":
        return query.where(Resident.id.in_(held))
    return query.where(Binding.id.in_(held))


def _boot_total(
    session: Session, now: datetime, grids: GridSet, boot: list[str], entities: tuple[str, ...]
) -> int:
    if not boot:
        return 0
    return sum(
        session.scalar(
            select(func.count()).select_from(_boot_query(e, grids, boot, now).subquery())
        )
        or 0
        for e in entities
    )


def _boot_page(
    session: Session, now: datetime, grids: GridSet, cursor: Cursor, limit: int
) -> list[RecordState]:
    out: list[RecordState] = []
    order = cursor.order
    while cursor.stage < len(order) and len(out) < limit:
        entity = order[cursor.stage]
        model = MODELS[entity]
        want = limit - len(out)
        rows = session.scalars(
            _boot_query(entity, grids, cursor.boot, now)
            .where(model.id > cursor.after)
            .order_by(model.id)
            .limit(want)
        ).all()
        out.extend(state_of(entity, row) for row in rows)
        if len(rows) < want:
            cursor.stage, cursor.after = cursor.stage + 1, ""
        else:
            cursor.after = rows[-1].id
    return out


# --- changes -------------------------------------------------------------------------------


def _change_filter(grids: GridSet) -> ColumnElement[bool]:
    """The change rows of a scope: its grids' and nodes', and those every device reads (`*`).
    A handler reads their matter keys, and of their grid nodes only the nodes themselves."""
    keys = grids.leaves | {matter_sync.EVERYONE}
    if grids.handler:
        return or_(
            Change.grid_id.in_(sorted(keys)),
            (Change.entity == "grid_node") & Change.grid_id.in_(sorted(grids.nodes)),
        )
    return Change.grid_id.in_(sorted(keys | grids.nodes))


def _changes_after(session: Session, grids: GridSet, seq: int, skip: tuple[str, ...]) -> int:
    query = select(func.count()).select_from(Change)
    query = query.where(Change.seq > seq, _change_filter(grids))
    if skip:
        query = query.where(Change.entity.not_in(skip))
    return int(session.scalar(query) or 0)


def _change_page(
    session: Session,
    grids: GridSet,
    seq: int,
    limit: int,
    *,
    since: date,
    campaigns: bool = False,
    skipped: tuple[str, ...] | None = None,
    device_id: str | None = None,
) -> tuple[list[RecordState], list[RecordRef], int, bool]:
    """The records changed after `seq`, one page of change rows. A record whose every change in
    the page is an echo of the pulling device's own operation (see `ChangeSet.settle`) is not
    sent: the device holds exactly that state already. `since` opens the recently-moved window
    (`shared.moves`)."""
    query = select(Change.seq, Change.entity, Change.record_id, Change.echo_device_id)
    query = query.where(Change.seq > seq, _change_filter(grids))
    if skipped is None:
        skipped = () if campaigns else campaign_sync.CAMPAIGN_ENTITIES
        skipped += matter_sync.MATTER_ENTITIES + business_sync.BUSINESS_ENTITIES
    if skipped:
        query = query.where(Change.entity.not_in(skipped))
    rows = session.execute(query.order_by(Change.seq).limit(limit)).all()
    if not rows:
        return [], [], seq, False
    news = {(e, r) for _, e, r, echo in rows if device_id is None or echo != device_id}
    order = list(dict.fromkeys((e, r) for _, e, r, _ in rows if (e, r) in news))
    wanted: dict[str, list[str]] = defaultdict(list)
    for entity, record_id in order:
        wanted[entity].append(record_id)
    loaded: dict[tuple[str, str], SyncedMixin] = {}
    for entity, ids in wanted.items():
        model = MODELS[entity]
        for found in session.scalars(select(model).where(model.id.in_(ids))):
            loaded[(entity, found.id)] = found
    inside = _in_scope(session, grids, loaded, since)
    records: list[RecordState] = []
    removed = _echoes_gone(session, grids, {(e, r) for _, e, r, _ in rows} - news, since)
    for entity, record_id in order:
        row = loaded.get((entity, record_id))
        if row is None:
            continue
        if row.deleted or ((entity, record_id) in inside and not _ended(row, since)):
            records.append(state_of(entity, row))
        else:
            removed.append(RecordRef(entity=entity, id=record_id))
    if campaigns:
        _follow_residents(session, grids, records, removed)
    return records, removed, int(rows[-1].seq), len(rows) == limit


def _ended(row: SyncedMixin, since: date) -> bool:
    """A binding that ended before the recently-moved window: not part of what a device holds,
    as in a bootstrap."""
    return isinstance(row, Binding) and row.end_date is not None and row.end_date < since


def _echoes_gone(
    session: Session, grids: GridSet, echoes: set[tuple[str, str]], since: date
) -> list[RecordRef]:
    """The device's own records it must still be told to drop, so that it holds what a fresh
    bootstrap would. A person's grids follow their bindings, so the same batch that created or
    edited them may have taken them out of the grid (their binding deleted, or ended before the
    recently-moved window); such a binding the device itself ended is no longer held either."""
    ids = sorted(record_id for entity, record_id in echoes if entity == "resident")
    held = resident_grids(session=session, resident_ids=ids, since=since)
    gone = [
        RecordRef(entity="resident", id=record_id)
        for record_id in ids
        if not held.get(record_id, set()) & grids.leaves
    ]
    bindings = sorted(record_id for entity, record_id in echoes if entity == "binding")
    for start in range(0, len(bindings), 500):
        gone += [
            RecordRef(entity="binding", id=binding_id)
            for binding_id in session.scalars(
                select(Binding.id).where(
                    Binding.id.in_(bindings[start : start + 500]), Binding.end_date < since
                )
            )
        ]
    return gone


def _follow_residents(
    session: Session, grids: GridSet, records: list[RecordState], removed: list[RecordRef]
) -> None:
    """Residents bring their campaign records along, and take them when they leave."""
    delivered = [r.id for r in records if r.entity == "resident" and not r.deleted]
    gone = [r.id for r in records if r.entity == "resident" and r.deleted]
    gone += [r.id for r in removed if r.entity == "resident"]
    if not delivered and not gone:
        return
    states, refs = campaign_sync.follow_residents(session, grids, delivered, gone)
    have = {(r.entity, r.id) for r in records} | {(r.entity, r.id) for r in removed}
    records.extend(s for s in states if (s.entity, s.id) not in have)
    removed.extend(r for r in refs if (r.entity, r.id) not in have)


def _in_scope(
    session: Session, grids: GridSet, rows: dict[tuple[str, str], SyncedMixin], since: date
) -> set[tuple[str, str]]:
    inside: set[tuple[str, str]] = set()
    unit_buildings: dict[str, str] = {}
    binding_houses: dict[str, str] = {}
    resident_ids: list[str] = []
    for (entity, record_id), row in rows.items():
        if isinstance(row, GridNode):
            if row.id in grids.nodes:
                inside.add((entity, record_id))
        elif isinstance(row, Building | House):
            if row.grid_id in grids.leaves:
                inside.add((entity, record_id))
        elif isinstance(row, Unit):
            unit_buildings[row.id] = row.building_id
        elif isinstance(row, Binding | Visit):
            binding_houses[row.id] = row.house_id
        elif isinstance(row, Resident):
            resident_ids.append(row.id)
    if unit_buildings:
        grid_of = dict(
            session.execute(
                select(Building.id, Building.grid_id).where(
                    Building.id.in_(set(unit_buildings.values()))
                )
            ).all()
        )
        inside.update(
            ("unit", u) for u, b in unit_buildings.items() if grid_of.get(b) in grids.leaves
        )
    if binding_houses:
        grid_of = dict(
            session.execute(
                select(House.id, House.grid_id).where(House.id.in_(set(binding_houses.values())))
            ).all()
        )
        inside.update(
            (entity, b)
            for (entity, b), row in rows.items()
            if b in binding_houses and grid_of.get(binding_houses[b]) in grids.leaves
        )
    for resident_id, resident_grid_ids in resident_grids(
        session=session, resident_ids=resident_ids, since=since
    ).items():
        if resident_grid_ids & grids.leaves:
            inside.add(("resident", resident_id))
    inside |= campaign_sync.in_scope(session, grids, rows, since)
    inside |= matter_sync.in_scope(session, grids, rows)
    inside |= business_sync.in_scope(session, grids, rows)
    return inside
