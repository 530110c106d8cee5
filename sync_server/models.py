"""SQLAlchemy 2 typed models of the authoritative grid: grid nodes, places, residents, people.

Every record that syncs carries a client-generatable UUID, a version, updated_at, updated_by (user
and device) and a soft-delete flag (`SyncedMixin`). Grid nodes keep a materialised path of their
ancestors' ids so that a whole subtree is one indexed range query (see `subtree_bounds`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from sync_server.db import clock_of


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow(context: DefaultExecutionContext) -> datetime:
    """Column default for bookkeeping times: the clock of the engine the row is written through
    (`db.make_engine`), so that every time the server stores comes from one clock."""
    return clock_of(context.root_connection.engine).now()


def new_id() -> str:
    return str(uuid.uuid4())


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it as a class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class SyncedMixin:
    """Columns every synced record carries."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_user_id: Mapped[str | None] = mapped_column(String(36))
    updated_by_device_id: Mapped[str | None] = mapped_column(String(36))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # field -> HLC timestamp of the write that set it; last-writer-wins fields compare these.
    clocks: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))


class GridNode(SyncedMixin, Base):
    __tablename__ = "grid_nodes"

    parent_id: Mapped[str | None] = mapped_column(ForeignKey("grid_nodes.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # "/<root id>/.../<own id>/": a subtree is every path in [path, path + "~").
    path: Mapped[str] = mapped_column(String(400), index=True)
    # A community's class (shared.members.CommunityClass, 社区类别); level-4 nodes only. The
    # server's: not a synced field.
    community_class: Mapped[str | None] = mapped_column(String(20))

    parent: Mapped[GridNode | None] = relationship(remote_side="GridNode.id")


def subtree_bounds(path: str) -> tuple[str, str]:
    """Half-open range of materialised paths inside the subtree rooted at `path`."""
    return path, path + "~"  # "~" sorts after every character used in ids and "/"


class Building(SyncedMixin, Base):
    __tablename__ = "buildings"

    grid_id: Mapped[str] = mapped_column(ForeignKey("grid_nodes.id"), index=True)
    road: Mapped[str] = mapped_column(String(100), default="")
    lane: Mapped[str] = mapped_column(String(50), default="")
    number: Mapped[str] = mapped_column(String(50), default="")
    name: Mapped[str] = mapped_column(String(100), default="")


class Unit(SyncedMixin, Base):
    __tablename__ = "units"

    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))


class House(SyncedMixin, Base):
    __tablename__ = "houses"

    grid_id: Mapped[str] = mapped_column(ForeignKey("grid_nodes.id"), index=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id"), index=True)
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    room: Mapped[str] = mapped_column(String(50))
    address: Mapped[str] = mapped_column(String(300), default="")


class Resident(SyncedMixin, Base):
    __tablename__ = "residents"
    __table_args__ = (
        # One living record per ID number; deleted ones keep their history.
        Index(
            "uq_residents_id_number_live",
            "id_number",
            unique=True,
            sqlite_where=text("deleted = 0"),
            postgresql_where=text("deleted = false"),
        ),
    )

    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(String(18))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    residence_status: Mapped[str] = mapped_column(String(20), default="permanent")
    tags: Mapped[list[str]] = mapped_column(default=list)
    note: Mapped[str] = mapped_column(Text, default="")


class Binding(SyncedMixin, Base):
    """A person bound to a house from start_date until end_date (open while end_date is null)."""

    __tablename__ = "bindings"
    __table_args__ = (
        Index("ix_bindings_house_current", "house_id", "end_date"),
        Index("ix_bindings_resident_current", "resident_id", "end_date"),
    )

    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"))
    house_id: Mapped[str] = mapped_column(ForeignKey("houses.id"))
    relation: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)


class Visit(SyncedMixin, Base):
    """A door-to-door visit (走访) to a house, and to a person there when one was met.

    `visited_at` is the instant of the visit, stored in UTC like every time here; "visited today"
    is its date in China time (`shared.clock.china_date`), never the UTC date, which would put
    early-morning visits on the previous day.
    """

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_house_visited", "house_id", "visited_at"),)

    house_id: Mapped[str] = mapped_column(ForeignKey("houses.id"))
    resident_id: Mapped[str | None] = mapped_column(ForeignKey("residents.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    visited_at: Mapped[datetime] = mapped_column()


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A handler's organisation (入网单位); None for everyone else. Not a foreign key: adding one
    # to this table on SQLite means rebuilding what every other table points at (migration
    # 0010); services/users.py only ever sets an existing org.
    org_id: Mapped[str | None] = mapped_column(String(36), index=True)

    grids: Mapped[list[UserGrid]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class UserGrid(Base):
    """A grid node assigned to a user: workers get level-5 grids, supervisors a subtree."""

    __tablename__ = "user_grids"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    grid_id: Mapped[str] = mapped_column(ForeignKey("grid_nodes.id"), primary_key=True, index=True)

    user: Mapped[User] = relationship(back_populates="grids")
    grid: Mapped[GridNode] = relationship(lazy="joined")


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # generated by the app
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    app_version: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_push_at: Mapped[datetime | None] = mapped_column()
    last_pull_at: Mapped[datetime | None] = mapped_column()
    # The outbox as the app reported it on its last pull; None until an app that reports it syncs.
    pending_ops: Mapped[int | None] = mapped_column(Integer)
    oldest_pending_at: Mapped[datetime | None] = mapped_column()


class AuthToken(Base):
    """A bearer token, stored only as its keyed hash so a database leak yields no usable token."""

    __tablename__ = "auth_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class SyncCounter(Base):
    """The single row whose value is the last change sequence number handed out.

    Incrementing it is the last write of every writing transaction; the row lock that the UPDATE
    takes is held until commit, so sequence numbers are handed out in commit order (see
    docs/sync-protocol.md, "Ordering").
    """

    __tablename__ = "sync_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Change(Base):
    """One record changed in one grid at sequence `seq`: what pulls read after their cursor."""

    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_grid_seq", "grid_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # A level-5 grid id, a grid node's, `*`, or a matter key such as `user:<id>`
    # (services/matter_sync.py).
    grid_id: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[str] = mapped_column(String(36))
    # The device whose own operation this change only is, applied exactly as it sent it: that
    # device already holds the record's state, so its pulls skip it (see services/pull.py).
    echo_device_id: Mapped[str | None] = mapped_column(String(36))


class OperationLog(Base):
    """Every operation a device pushed, with its result: the idempotency record and the history."""

    __tablename__ = "operations"
    __table_args__ = (
        Index("ix_operations_record", "entity", "record_id"),
        Index("ix_operations_received", "received_at"),
    )

    op_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36), index=True)
    user_id: Mapped[str] = mapped_column(String(36))
    entity: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(10))
    base_version: Mapped[int | None] = mapped_column(Integer)
    fields: Mapped[dict[str, Any]] = mapped_column()
    hlc: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))
    result: Mapped[dict[str, Any]] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConflictRecord(Base):
    """A change that needs a person: both sides' values kept until an admin settles it."""

    __tablename__ = "conflicts"
    __table_args__ = (Index("ix_conflicts_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(12))  # "field", "delete" or "duplicate"
    entity: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[str] = mapped_column(String(36), index=True)
    grid_id: Mapped[str | None] = mapped_column(String(36), index=True)
    op_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    device_id: Mapped[str] = mapped_column(String(36))
    hlc: Mapped[str] = mapped_column(String(64))
    # [{"field", "base", "server", "device"}]
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # For duplicates: the existing resident's id, and operations held back until settled.
    other_record_id: Mapped[str | None] = mapped_column(String(36))
    held_ops: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by: Mapped[str | None] = mapped_column(String(36))
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ReviewDecision(Base):
    """A supervisor's decision on a worker's new resident or move-out (one pushed operation).

    Operations without a row here are waiting for review. A "sent_back" decision is delivered to
    the device that made the operation in its pull responses until the device acknowledges it.
    """

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_device_status", "device_id", "status"),)

    op_id: Mapped[str] = mapped_column(ForeignKey("operations.op_id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # "new_resident" or "move_out"
    entity: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))  # who made the operation
    device_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(10))  # "approved" or "sent_back"
    reason: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[str] = mapped_column(String(36))
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column()


# --- campaigns (docs/campaigns.md) -------------------------------------------------------------


class Campaign(SyncedMixin, Base):
    """A sweep with a computed target list (entity `campaign`): created by an admin, read by all
    devices whose grids lie under `grid_id`. The target rule is its grid, ages, statuses and tags
    (shared.campaigns.TargetRule)."""

    __tablename__ = "campaigns"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    grid_id: Mapped[str] = mapped_column(ForeignKey("grid_nodes.id"), index=True)
    age_min: Mapped[int | None] = mapped_column(Integer)
    age_max: Mapped[int | None] = mapped_column(Integer)
    residence_statuses: Mapped[list[str]] = mapped_column(default=list)
    tags: Mapped[list[str]] = mapped_column(default=list)
    # A business_inspection campaign's business type ids (none: every type).
    business_types: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    grid: Mapped[GridNode] = relationship(lazy="joined")


class CompletionBatch(Base):
    """One import of a platform completion file into a campaign."""

    __tablename__ = "completion_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(36))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)


class Completion(Base):
    """A platform completion row (who, when, where). Not synced: devices get `CompletionMark`s.

    The key (campaign, ID number, time) makes importing a file again add nothing twice.
    """

    __tablename__ = "completions"

    # No foreign keys: the importer's one INSERT ... SELECT joins residents itself, and a key
    # check per row cost more than the insert (migration 0018).
    campaign_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    completed_at: Mapped[datetime] = mapped_column(primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(36))
    place: Mapped[str] = mapped_column(String(200), default="")
    batch_id: Mapped[int] = mapped_column(Integer)


class CompletionMark(SyncedMixin, Base):
    """A resident completed a campaign (entity `completion`): the compact form devices receive,
    one per campaign and resident whatever the number of platform rows. Its id is derived from
    the pair (sync_server.importer.completions.mark_id)."""

    __tablename__ = "completion_marks"
    __table_args__ = (UniqueConstraint("campaign_id", "resident_id"),)

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)


class Outcome(SyncedMixin, Base):
    """What a worker recorded at a target's door (entity `outcome`): append-only, never edited."""

    __tablename__ = "outcomes"

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    place: Mapped[str | None] = mapped_column(String(200), default="")
    reason: Mapped[str | None] = mapped_column(String(500), default="")
    revisit_date: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column()


class LoginAttempt(Base):
    """One sign-in attempt (API or console), kept to rate-limit guessing across server processes.

    Only the recent past matters (`services.throttle`); every recorded attempt prunes the rows
    older than the window, found by `ix_login_attempts_at`.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
        Index("ix_login_attempts_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64), default="")
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who did what, from which device, and when: sign-ins, conflict settlements, exports.

    Append-only and without foreign keys, so the trail outlives the users and devices it names.
    `entity`/`record_id` name the record an event is about (a settled conflict's record).
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity_record_id", "entity", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str | None] = mapped_column(String(36))
    username: Mapped[str] = mapped_column(String(64), default="")
    device_id: Mapped[str | None] = mapped_column(String(36))
    ip: Mapped[str] = mapped_column(String(64), default="")
    entity: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --- matters (shared/matters.py, docs/sync-protocol.md "Matters") --------------------------------


class Org(SyncedMixin, Base):
    """An organisation in the grid (入网单位, entity `org`) serving a community (level-4 node);
    its staff sign in as handlers."""

    __tablename__ = "orgs"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    grid_id: Mapped[str | None] = mapped_column(ForeignKey("grid_nodes.id"), index=True)


class MatterCategory(SyncedMixin, Base):
    """A category of matters (entity `matter_category`) with its time limit and points."""

    __tablename__ = "matter_categories"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    time_limit_hours: Mapped[int] = mapped_column(Integer)
    base_points: Mapped[int] = mapped_column(Integer, default=0)
    bonus_points: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[int] = mapped_column(Integer, default=1)


BOARD_INDEX_COLUMNS = (
    "grid_id",
    "state",
    "deleted",
    "due_at",
    "reported_at",
    "id",
    "category_id",
    "source",
    "closed_at",
    "rating",
)
# The matters the one-open-matter-per-item index holds: a check's, while open.
_OPEN_CHECK_MATTER = "business_id IS NOT NULL AND state NOT IN ('closed', 'declined')"


class Matter(SyncedMixin, Base):
    """A matter (事项, entity `matter`). Its life goes through `MatterStep`s: the columns from
    `state` on are the server's, written by `shared.matters.decide_step`."""

    __tablename__ = "matters"
    __table_args__ = (
        # Covering for the console's board, overdue list and counts (queries.matter_board,
        # queries.matter_counts): every column they filter, sort or count on, so a district's
        # 50,000 matters are chosen, ordered and counted from the index alone (bench/matter_bench).
        Index("ix_matters_board", *BOARD_INDEX_COLUMNS),
        Index("ix_matters_business_state", "business_id", "state"),
        Index("ix_matters_business_check", "business_check_id"),
        # One open matter per business and checklist item, however many checks race for it.
        Index(
            "uq_matters_open_check_item",
            "business_id",
            "checklist_item_id",
            unique=True,
            sqlite_where=text(_OPEN_CHECK_MATTER),
            postgresql_where=text(_OPEN_CHECK_MATTER),
        ),
    )

    category_id: Mapped[str] = mapped_column(ForeignKey("matter_categories.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    grid_id: Mapped[str] = mapped_column(ForeignKey("grid_nodes.id"))
    building_id: Mapped[str | None] = mapped_column(ForeignKey("buildings.id"))
    house_id: Mapped[str | None] = mapped_column(ForeignKey("houses.id"))
    resident_id: Mapped[str | None] = mapped_column(ForeignKey("residents.id"), index=True)
    place: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    on_behalf_of: Mapped[str] = mapped_column(String(100), default="")
    photos: Mapped[list[str]] = mapped_column(default=list)
    reported_at: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(20), default="reported")
    assignee_org_id: Mapped[str | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    assignee_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    state_at: Mapped[datetime | None] = mapped_column()
    state_by: Mapped[str | None] = mapped_column(String(36))
    due_at: Mapped[datetime | None] = mapped_column()
    rating: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column()
    # What a handler may know of the resident: kept on the matter, so their pull carries no
    # resident record (never an ID number).
    resident_name: Mapped[str | None] = mapped_column(String(100))
    resident_phone_masked: Mapped[str | None] = mapped_column(String(40))
    # A business check's failed item (shared/inspection_matters.py); none for other matters.
    business_id: Mapped[str | None] = mapped_column(String(36))
    checklist_item_id: Mapped[str | None] = mapped_column(String(36))
    business_check_id: Mapped[str | None] = mapped_column(String(36))


class MatterStep(SyncedMixin, Base):
    """A step in a matter's life (entity `matter_step`): append-only, never edited."""

    __tablename__ = "matter_steps"

    matter_id: Mapped[str] = mapped_column(ForeignKey("matters.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    org_id: Mapped[str | None] = mapped_column(ForeignKey("orgs.id"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    photos: Mapped[list[str]] = mapped_column(default=list)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column()


class PointsEntry(Base):
    """The points ledger: append-only; one credit per matter and kind (base | bonus), which the
    unique constraint holds however often a step is retried or raced."""

    __tablename__ = "points_entry"
    __table_args__ = (UniqueConstraint("matter_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    matter_id: Mapped[str] = mapped_column(ForeignKey("matters.id"))
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Photo(Base):
    """A photo, named by the sha256 of its bytes, uploaded by a device in chunks
    (`services.photos`); its bytes and thumbnail are in the blob store (`sync_server.blobs`).

    `received` counts the bytes held so far (the offset the next chunk must start at); at
    `size` the upload is verified against the name and `complete`. The uploader's user and
    device are kept: the device's quota counts its photos, and the user may fetch them.
    """

    __tablename__ = "photos"
    __table_args__ = (Index("ix_photos_uploader_device_id", "uploader_device_id"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(40), default="")
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    complete: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    uploader_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    uploader_device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()


# --- businesses and the checklist sweep (shared/businesses.py, docs/business-inspections.md) ----


class BusinessType(SyncedMixin, Base):
    """A type of business (entity `business_type`: 餐饮, 住宿 ...), managed by admins."""

    __tablename__ = "business_types"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[int] = mapped_column(Integer, default=1)


class ChecklistItem(SyncedMixin, Base):
    """An item of a business type's checklist (entity `checklist_item`), managed by admins."""

    __tablename__ = "checklist_items"
    __table_args__ = (UniqueConstraint("business_type_id", "code"),)

    business_type_id: Mapped[str] = mapped_column(ForeignKey("business_types.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(300))
    text_en: Mapped[str] = mapped_column(String(300), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[int] = mapped_column(Integer, default=1)


class Business(SyncedMixin, Base):
    """A business (商户, entity `business`) in a level-5 grid, at a building or an address."""

    __tablename__ = "businesses"
    __table_args__ = (Index("ix_businesses_grid_status", "grid_id", "status"),)

    grid_id: Mapped[str] = mapped_column(ForeignKey("grid_nodes.id"))
    building_id: Mapped[str | None] = mapped_column(ForeignKey("buildings.id"), index=True)
    business_type_id: Mapped[str] = mapped_column(ForeignKey("business_types.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    licence_number: Mapped[str | None] = mapped_column(String(18), index=True)
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="open")


class BusinessCheck(SyncedMixin, Base):
    """A business's checklist answered at its door (entity `business_check`): append-only.
    `results` is the list of answers ({item_id, result, note, photos})."""

    __tablename__ = "business_checks"
    __table_args__ = (Index("ix_business_checks_campaign_business", "campaign_id", "business_id"),)

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    checked_at: Mapped[datetime] = mapped_column()


# --- members who serve where they live (shared/members.py) -------------------------------------


class Member(Base):
    """A member (在职党员 or volunteer) registered with the community they live in; they sign in
    as a handler (`user_id`). Units, employers among them, are `Org`s (kind `employer`)."""

    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(40), unique=True)
    employer_org_id: Mapped[str | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    party_status: Mapped[str] = mapped_column(String(20), default="member")
    community_id: Mapped[str] = mapped_column(ForeignKey("grid_nodes.id"), index=True)
    registered_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Post(SyncedMixin, Base):
    """A post (岗位, entity `post`) a community publishes: kind, duties, capacity. `claimed` is
    the server's count of its live claims, moved by `shared.members.decide_claim`."""

    __tablename__ = "posts"

    community_id: Mapped[str] = mapped_column(ForeignKey("grid_nodes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    duties: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int] = mapped_column(Integer)
    claimed: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[int] = mapped_column(Integer, default=1)


class PostClaim(SyncedMixin, Base):
    """A member's claim of a post (entity `post_claim`): made on the phone, offline too, and
    accepted by the server while the post has room."""

    __tablename__ = "post_claims"
    __table_args__ = (Index("ix_post_claims_post_user", "post_id", "user_id"),)

    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    at: Mapped[datetime] = mapped_column()
