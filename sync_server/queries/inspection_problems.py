"""A business inspection's problem list: every matter its checks opened under a node, with the
business and checklist item it is about, ordered business by business (grid, name, item).

The matters and their timelines are the matters board's export rows (`matter_board.export_rows`
filtered to the campaign), so this list and the board's export say the same of every matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.campaigns import natural_key
from sync_server.models import Business, BusinessType, Campaign, ChecklistItem, GridNode, User
from sync_server.queries.matter_board import BoardFilter, ExportRow, export_rows

_CHUNK = 1000


@dataclass(frozen=True)
class ProblemRow:
    business_name: str
    business_type: str
    licence_number: str
    address: str
    item: str  # the checklist item's words
    matter: ExportRow


def problem_rows(
    *, session: Session, user: User, campaign: Campaign, node: GridNode, now: datetime
) -> Iterator[ProblemRow]:
    """The campaign's problems under `node` the user may see, business by business."""
    rows = list(
        export_rows(
            session=session,
            user=user,
            wanted=BoardFilter(node=node, campaign=campaign.id),
            now=now,
        )
    )
    business_ids = sorted({r.matter.business_id for r in rows if r.matter.business_id})
    item_ids = sorted({r.matter.checklist_item_id for r in rows if r.matter.checklist_item_id})
    businesses: dict[str, tuple[str, str, str, str]] = {}
    for start in range(0, len(business_ids), _CHUNK):
        for business_id, name, type_name, licence, address in session.execute(
            select(
                Business.id,
                Business.name,
                BusinessType.name,
                Business.licence_number,
                Business.address,
            )
            .join(BusinessType, BusinessType.id == Business.business_type_id)
            .where(Business.id.in_(business_ids[start : start + _CHUNK]))
        ):
            businesses[business_id] = (name, type_name, licence or "", address or "")
    items: dict[str, tuple[int, str]] = {}
    for start in range(0, len(item_ids), _CHUNK):
        for item_id, order, text in session.execute(
            select(ChecklistItem.id, ChecklistItem.sort_order, ChecklistItem.text).where(
                ChecklistItem.id.in_(item_ids[start : start + _CHUNK])
            )
        ):
            items[item_id] = (order, text)

    def key(r: ExportRow) -> tuple[object, ...]:
        business = businesses.get(r.matter.business_id or "", ("", "", "", ""))
        order, _ = items.get(r.matter.checklist_item_id or "", (0, ""))
        return (
            r.grid_code,
            natural_key(business[0]),
            r.matter.business_id or "",
            order,
            r.matter.reported_at,
            r.matter.id,
        )

    for r in sorted(rows, key=key):
        name, type_name, licence, address = businesses.get(
            r.matter.business_id or "", ("", "", "", "")
        )
        yield ProblemRow(
            business_name=name,
            business_type=type_name,
            licence_number=licence,
            address=address,
            item=items.get(r.matter.checklist_item_id or "", (0, ""))[1],
            matter=r,
        )
