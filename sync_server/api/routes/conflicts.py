"""Conflicts for admins: list, show with the three values per field, settle one or many."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from shared.protocol import BulkResolution, BulkResult, ConflictList, ConflictView, Resolution
from sync_server.api.deps import DeviceCallerDep, SessionDep, client_ip
from sync_server.api.responses import BODY, SIGNED_IN, problems
from sync_server.errors import DomainError
from sync_server.services import conflicts

router = APIRouter(prefix="/conflicts", tags=["conflicts"])


@router.get("", response_model=ConflictList, responses=problems(SIGNED_IN, 422))
def list_conflicts(
    caller: DeviceCallerDep,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(open|resolved)$")] = "open",
    entity: Annotated[str | None, Query(max_length=20)] = None,
    kind: Annotated[str | None, Query(pattern="^(field|delete|duplicate)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    # Bounded: a huge offset overflowed the database's integer (found by schemathesis).
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> ConflictList:
    return conflicts.list_conflicts(
        session=session,
        user=caller.user,
        status=status,
        entity=entity,
        kind=kind,
        limit=limit,
        offset=offset,
    )


@router.get("/{conflict_id}", response_model=ConflictView, responses=problems(SIGNED_IN, 404, 422))
def show(conflict_id: str, caller: DeviceCallerDep, session: SessionDep) -> ConflictView:
    return conflicts.view(
        conflicts.get_conflict(session=session, user=caller.user, conflict_id=conflict_id)
    )


@router.post(
    "/{conflict_id}/resolve",
    response_model=ConflictView,
    responses=problems(BODY, SIGNED_IN, 404, 409),
)
def resolve(
    conflict_id: str,
    body: Resolution,
    caller: DeviceCallerDep,
    session: SessionDep,
    request: Request,
) -> ConflictView:
    settled = conflicts.resolve(
        session=session,
        user=caller.user,
        conflict_id=conflict_id,
        resolution=body,
        clock=request.app.state.hlc,
        now=request.app.state.clock.now(),
        device_id=caller.device.id if caller.device else None,
        ip=client_ip(request),
    )
    return conflicts.view(settled)


@router.post("/resolve", response_model=BulkResult, responses=problems(BODY, SIGNED_IN))
def resolve_many(
    body: BulkResolution, caller: DeviceCallerDep, session: SessionDep, request: Request
) -> BulkResult:
    """Settle many conflicts the same way; each settles alone, failures are listed with reasons."""
    # Refused as a whole, like the other conflict routes: not a 200 listing each id as failed.
    conflicts.require_admin(caller.user)
    resolved: list[str] = []
    failed: list[dict[str, str]] = []
    single = Resolution(choice=body.choice, values=body.values, note=body.note)
    for conflict_id in body.ids:
        try:
            with session.begin_nested():
                conflicts.resolve(
                    session=session,
                    user=caller.user,
                    conflict_id=conflict_id,
                    resolution=single,
                    clock=request.app.state.hlc,
                    now=request.app.state.clock.now(),
                    device_id=caller.device.id if caller.device else None,
                    ip=client_ip(request),
                )
            resolved.append(conflict_id)
        except DomainError as exc:
            failed.append({"id": conflict_id, "code": exc.code, "reason": exc.detail})
    return BulkResult(resolved=resolved, failed=failed)
