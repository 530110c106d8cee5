"""The fleet: every worker in a scope with their devices, last sync and unsynced work.

"Operations waiting" and "oldest unsynced change" are what the app reported on its last pull
(`PullRequest.pending_ops`, `oldest_pending_at`); None means the app has not reported them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.schema import Role
from sync_server.models import Device, GridNode, User, UserGrid
from sync_server.services.scope import Scope

STALE_HOURS = 24


@dataclass(frozen=True)
class DeviceRow:
    id: str
    name: str
    app_version: str
    created_at: datetime
    last_push_at: datetime | None
    last_pull_at: datetime | None
    pending_ops: int | None
    oldest_pending_at: datetime | None
    revoked_at: datetime | None

    @property
    def last_sync(self) -> datetime | None:
        times = [t for t in (self.last_push_at, self.last_pull_at) if t is not None]
        return max(times) if times else None

    @property
    def never_synced(self) -> bool:
        """Signed in, but no push or pull since: the phone has not downloaded its grid yet (a
        sign-in the worker has not followed up), not a phone that went quiet."""
        return self.last_sync is None

    def stale(self, now: datetime, hours: int = STALE_HOURS) -> bool:
        """Synced once, and not for `hours` before `now`: a phone that may hold a day's work
        nobody has seen. A device that never synced is not stale (`never_synced`)."""
        last = self.last_sync
        return last is not None and now - last > timedelta(hours=hours)

    def state(self, now: datetime) -> str:
        """What the devices page shows: revoked, never_synced, stale or ok."""
        if self.revoked_at is not None:
            return "revoked"
        if self.never_synced:
            return "never_synced"
        return "stale" if self.stale(now) else "ok"


@dataclass
class WorkerFleet:
    user_id: str
    username: str
    display_name: str
    role: str
    active: bool
    grids: list[tuple[str, str]] = field(default_factory=list)  # (code, name)
    devices: list[DeviceRow] = field(default_factory=list)


@dataclass(frozen=True)
class FleetSummary:
    """The overview's device card: devices in use, and of them the quiet and the never synced."""

    devices: int
    stale: int
    never_synced: int


def summarize(workers: list[WorkerFleet], now: datetime) -> FleetSummary:
    devices = [d for w in workers for d in w.devices if d.revoked_at is None]
    return FleetSummary(
        devices=len(devices),
        stale=sum(1 for d in devices if d.stale(now)),
        never_synced=sum(1 for d in devices if d.never_synced),
    )


def device_row(device: Device) -> DeviceRow:
    return DeviceRow(
        id=device.id,
        name=device.name,
        app_version=device.app_version,
        created_at=device.created_at,
        last_push_at=device.last_push_at,
        last_pull_at=device.last_pull_at,
        pending_ops=device.pending_ops,
        oldest_pending_at=device.oldest_pending_at,
        revoked_at=device.revoked_at,
    )


def fleet(*, session: Session, scope: Scope) -> list[WorkerFleet]:
    """Workers in scope (admins: every user with a device too), ordered by their first grid."""
    if scope.everything:
        with_devices = select(Device.user_id)
        users = session.scalars(
            select(User).where((User.role == Role.WORKER) | User.id.in_(with_devices))
        ).all()
    else:
        users = session.scalars(
            select(User)
            .join(UserGrid, UserGrid.user_id == User.id)
            .join(GridNode, GridNode.id == UserGrid.grid_id)
            .where(User.role == Role.WORKER, scope.path_filter(GridNode.path))
            .distinct()
        ).all()
    by_user = {
        u.id: WorkerFleet(
            user_id=u.id,
            username=u.username,
            display_name=u.display_name,
            role=u.role,
            active=u.active,
            grids=sorted((ug.grid.code, ug.grid.name) for ug in u.grids),
        )
        for u in users
    }
    if by_user:
        for device in session.scalars(
            select(Device)
            .where(Device.user_id.in_(list(by_user)))
            .order_by(Device.last_seen_at.desc(), Device.created_at)
        ):
            by_user[device.user_id].devices.append(device_row(device))
    return sorted(by_user.values(), key=lambda w: (w.grids[:1] or [("~", "")], w.username))
