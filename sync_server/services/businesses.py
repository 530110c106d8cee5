"""Business types and their checklists as admins manage them on the server, and the business
types a business_inspection campaign names (docs/business-inspections.md).

Each write of a type or an item records its change row under the key every business-storing
device reads (`*`, services/business_sync.py); the caller's transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.records import MAX_LENGTH
from shared.schema import Role
from sync_server.errors import Conflict, Forbidden, Invalid, NotFound
from sync_server.models import BusinessType, ChecklistItem, User
from sync_server.services.changes import ChangeSet, commit_changes
from sync_server.services.matter_sync import EVERYONE


def list_types(*, session: Session, active_only: bool = False) -> list[BusinessType]:
    query = select(BusinessType).where(BusinessType.deleted.is_(False))
    if active_only:
        query = query.where(BusinessType.active == 1)
    return list(session.scalars(query.order_by(BusinessType.sort_order, BusinessType.code)))


def find_type(session: Session, ref: str, *, field: str = "business_type") -> BusinessType:
    """A live business type by id, code or Chinese name; 404 `unknown_business_type` naming the
    field otherwise."""
    ref = ref.strip()
    found = session.get(BusinessType, ref)
    if found is None:
        found = session.scalar(
            select(BusinessType).where(
                (BusinessType.code == ref) | (BusinessType.name == ref),
                BusinessType.deleted.is_(False),
            )
        )
    if found is None or found.deleted:
        detail = f"there is no business type {ref[:40]!r}"
        raise NotFound(
            detail, code="unknown_business_type", errors=[{"field": field, "reason": detail}]
        )
    return found


def type_ids(session: Session, refs: Iterable[str]) -> list[str]:
    """The ids of the business types named (by id, code or name), sorted; each must exist."""
    return sorted({find_type(session, ref, field="business_types").id for ref in refs if ref})


def save_type(
    *,
    session: Session,
    user: User,
    code: str,
    name: str,
    name_en: str = "",
    sort_order: int = 0,
    active: bool = True,
    type_id: str | None = None,
    now: datetime,
) -> BusinessType:
    """Add a business type, or change one (admins only). Its code is its key in spreadsheets."""
    require_admin(user, "manage business types")
    code, name, name_en = code.strip(), name.strip(), name_en.strip()
    _text("code", code, ("business_type", "code"), required=True)
    _text("name", name, ("business_type", "name"), required=True)
    _text("name_en", name_en, ("business_type", "name_en"))
    clash = session.scalar(select(BusinessType).where(BusinessType.code == code))
    if clash is not None and clash.id != type_id:
        raise Conflict(f"business type {code!r} already exists", code="business_type_exists")
    row = session.get(BusinessType, type_id) if type_id else BusinessType(version=0, clocks={})
    if row is None or row.deleted:
        raise NotFound("there is no such business type", code="unknown_business_type")
    row.code, row.name, row.name_en = code, name, name_en
    row.sort_order, row.active = sort_order, 1 if active else 0
    _touch(row, user, now)
    if type_id is None:
        session.add(row)
    session.flush()
    _changed(session, "business_type", row.id)
    return row


def checklist(
    *, session: Session, business_type_id: str, active_only: bool = False
) -> list[ChecklistItem]:
    """A business type's checklist, in its order."""
    query = select(ChecklistItem).where(
        ChecklistItem.business_type_id == business_type_id, ChecklistItem.deleted.is_(False)
    )
    if active_only:
        query = query.where(ChecklistItem.active == 1)
    return list(session.scalars(query.order_by(ChecklistItem.sort_order, ChecklistItem.code)))


def save_item(
    *,
    session: Session,
    user: User,
    business_type_id: str,
    code: str,
    text: str,
    text_en: str = "",
    sort_order: int | None = None,
    active: bool = True,
    item_id: str | None = None,
    now: datetime,
) -> ChecklistItem:
    """Add an item to a business type's checklist, or change one (admins only). An item is
    retired (`active=False`), never deleted: checks already made name it."""
    require_admin(user, "edit checklists")
    kind = find_type(session, business_type_id)
    code, text, text_en = code.strip(), text.strip(), text_en.strip()
    _text("code", code, ("checklist_item", "code"), required=True)
    _text("text", text, ("checklist_item", "text"), required=True)
    _text("text_en", text_en, ("checklist_item", "text_en"))
    clash = session.scalar(
        select(ChecklistItem).where(
            ChecklistItem.business_type_id == kind.id, ChecklistItem.code == code
        )
    )
    if clash is not None and clash.id != item_id:
        raise Conflict(
            f"the checklist of {kind.name} already has an item {code!r}",
            code="checklist_item_exists",
        )
    if item_id is None:
        row = ChecklistItem(version=0, clocks={}, business_type_id=kind.id)
    else:
        found = session.get(ChecklistItem, item_id)
        if found is None or found.deleted or found.business_type_id != kind.id:
            raise NotFound("there is no such checklist item", code="unknown_checklist_item")
        row = found
    if sort_order is None:
        sort_order = (
            row.sort_order
            if item_id
            else (len(checklist(session=session, business_type_id=kind.id)) + 1) * 10
        )
    row.code, row.text, row.text_en = code, text, text_en
    row.sort_order, row.active = sort_order, 1 if active else 0
    _touch(row, user, now)
    if item_id is None:
        session.add(row)
    session.flush()
    _changed(session, "checklist_item", row.id)
    return row


def move_item(
    *, session: Session, user: User, business_type_id: str, item_id: str, up: bool, now: datetime
) -> None:
    """Move an item one place up or down its checklist (admins only): the item and its
    neighbour swap places, and the whole list is renumbered in tens so ties cannot recur.
    Both writes record their change, so phones show the new order after their next sync."""
    require_admin(user, "edit checklists")
    kind = find_type(session, business_type_id)
    items = checklist(session=session, business_type_id=kind.id)
    at = next((i for i, item in enumerate(items) if item.id == item_id), None)
    if at is None:
        raise NotFound("there is no such checklist item", code="unknown_checklist_item")
    to = at - 1 if up else at + 1
    if not 0 <= to < len(items):
        return
    items[at], items[to] = items[to], items[at]
    for n, item in enumerate(items, start=1):
        if item.sort_order != n * 10:
            item.sort_order = n * 10
            _touch(item, user, now)
            _changed(session, "checklist_item", item.id)
    session.flush()


def require_admin(user: User, action: str) -> None:
    if user.role != Role.ADMIN:
        raise Forbidden(f"only an administrator can {action}", code="admin_only")


def _text(name: str, value: str, key: tuple[str, str], *, required: bool = False) -> None:
    reason = None
    if required and not value:
        reason = f"{name} is required"
    elif len(value) > MAX_LENGTH[key]:
        reason = f"{name} is longer than {MAX_LENGTH[key]} characters"
    if reason is not None:
        raise Invalid(reason, errors=[{"field": name, "reason": reason}])


def _touch(row: BusinessType | ChecklistItem, user: User, now: datetime) -> None:
    row.version = (row.version or 0) + 1
    row.updated_at = now
    row.updated_by_user_id = user.id
    row.updated_by_device_id = None
    row.deleted = False


def _changed(session: Session, entity: str, record_id: str) -> None:
    changes = ChangeSet()
    changes.add(entity, record_id, {EVERYONE})
    commit_changes(session=session, changes=changes)
