"""Devices: what the app reports about its outbox, and revoking a lost or stolen phone.

Revoking sets `revoked_at` and revokes every token issued to the device, so its next request is
refused (`services.auth.authenticate` refuses revoked devices and revoked tokens alike) and it can
never sign in again. Its user keeps working on another phone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from sync_server.errors import NotFound
from sync_server.models import AuthToken, Device, User
from sync_server.services.staff import require_admin


def note_outbox(
    device: Device, pending_ops: int | None, oldest_pending_at: datetime | None
) -> None:
    """Keep the outbox report of a pull; an app that does not report leaves the last one."""
    if pending_ops is None:
        return
    device.pending_ops = pending_ops
    # An empty outbox has no oldest change, whatever the app sent.
    device.oldest_pending_at = oldest_pending_at if pending_ops else None


def revoke_device(*, session: Session, actor: User, device_id: str, now: datetime) -> Device:
    require_admin(actor)
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"device {device_id} does not exist")
    if device.revoked_at is None:
        device.revoked_at = now
    session.execute(
        update(AuthToken)
        .where(AuthToken.device_id == device.id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
    return device
