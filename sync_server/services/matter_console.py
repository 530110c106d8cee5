"""A matter step taken in the console: built as the step a phone would push, and run through the
same push pipeline (`services.push.push`), so `shared.matters.decide_step` decides it against the
server's current matter, points are credited in the same transaction and change rows reach the
phones. There is no second rule path: the console is, for this one step, a device of its user's.

The console has no device row: the step is made under a stable per-user console device id (a
UUID derived from the user's id), which the operation log and the records' `updated_by_device_id`
name like any device's, so the history shows the step came from the console.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shared import hlc as hlc_mod
from shared.clock import format_timestamp
from shared.errors import FieldError
from shared.matters import refusal_text
from shared.messages import message_zh
from shared.protocol import PROTOCOL_VERSION, FieldChange, Operation, PushRequest
from sync_server.models import Device, Matter, User
from sync_server.services.auth import Caller
from sync_server.services.push import push

CONSOLE_DEVICES = uuid.UUID("2b0d7c1e-8f3a-4e55-b1a2-6c9e0d4f7a31")


def console_device_id(user_id: str) -> str:
    """The device id a user's console steps are made under."""
    return str(uuid.uuid5(CONSOLE_DEVICES, user_id))


@dataclass(frozen=True)
class StepOutcome:
    """What became of a console step: applied, or refused with the pipeline's code and reason."""

    applied: bool
    code: str | None = None
    reason: str | None = None
    field: str | None = None
    action: str = ""
    from_state: str = ""

    def words(self, *, matter: Matter, names: Mapping[str, str], language: str) -> str:
        """Why it was refused, in `language` (zh-CN or en), from the stable code: a matter
        refusal from `shared.matters.REFUSALS` with the matter as it now is (its state, who
        moved it by `names`, when), any other code from `shared.messages`."""
        params = {
            "action": self.action,
            "from_state": self.from_state,
            "state": matter.state,
            "state_by": matter.state_by,
            "state_at": matter.state_at,
            "field": self.field,
        }
        text = refusal_text(self.code, params, language, names=names)
        if text:
            return text
        error = FieldError(self.field or "", self.code or "", self.reason or "")
        return message_zh(error) if language == "zh-CN" else self.reason or self.code or ""


def take_step(
    *,
    session: Session,
    user: User,
    matter_id: str,
    action: str,
    from_state: str,
    clock: hlc_mod.HLC,
    now: datetime,
    rating_window_days: int,
    reason: str = "",
    org_id: str | None = None,
    user_id: str | None = None,
) -> StepOutcome:
    """Make `action` on the matter from `from_state` (the state the console page showed)."""
    device_id = console_device_id(user.id)
    values: dict[str, Any] = {
        "matter_id": matter_id,
        "action": action,
        "from_state": from_state,
        "at": format_timestamp(now),
    }
    if reason.strip():
        values["reason"] = reason.strip()
    if org_id:
        values["org_id"] = org_id
    if user_id:
        values["user_id"] = user_id
    op = Operation(
        op_id=str(uuid.uuid4()),
        entity="matter_step",
        record_id=str(uuid.uuid4()),
        kind="create",
        fields={name: FieldChange(base=None, new=value) for name, value in values.items()},
        hlc=clock.now(),
        device_id=device_id,
        user_id=user.id,
    )
    # A transient device (never added to the session): push checks the batch names it.
    caller = Caller(user=user, device=Device(id=device_id, user_id=user.id, name="console"))
    response = push(
        session=session,
        caller=caller,
        request=PushRequest(
            protocol_version=PROTOCOL_VERSION, device_id=device_id, operations=[op]
        ),
        clock=clock,
        now=now,
        rating_window_days=rating_window_days,
    )
    [result] = response.results
    if result.status == "applied":
        return StepOutcome(applied=True)
    return StepOutcome(
        applied=False,
        code=result.code,
        reason=result.reason,
        field=result.field,
        action=action,
        from_state=from_state,
    )
