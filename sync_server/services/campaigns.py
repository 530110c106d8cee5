"""Campaigns: created by admins, seen by everyone whose grids they cover (docs/campaigns.md).

A campaign covers the subtree under its rule's grid. Supervisors and workers see the campaigns
whose subtree meets their scope — the same set their devices receive (services/campaign_sync.py).
Creating one is a synced write like any other: it is announced to the change log, so devices
pull it at their next sync.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.campaigns import CampaignKind, NewCampaign
from shared.schema import Role
from sync_server.errors import Forbidden, NotFound
from sync_server.models import Campaign, GridNode, User, new_id
from sync_server.services.businesses import type_ids
from sync_server.services.changes import ChangeSet, commit_changes
from sync_server.services.scope import grid_set


def require_admin(user: User, action: str) -> None:
    if user.role != Role.ADMIN:
        raise Forbidden(f"only an administrator can {action}", code="admin_only")


def find_grid(session: Session, ref: str) -> GridNode:
    """A live grid node by id or by code; 404 `unknown_grid` (naming the field) otherwise: the
    request was well formed, the grid it names does not exist."""
    node = session.get(GridNode, ref)
    if node is None:
        node = session.scalar(select(GridNode).where(GridNode.code == ref))
    if node is None or node.deleted:
        detail = f"there is no grid {ref!r}"
        raise NotFound(
            detail, code="unknown_grid", errors=[{"field": "rule.grid_id", "reason": detail}]
        )
    return node


def create_campaign(*, session: Session, user: User, body: NewCampaign, now: datetime) -> Campaign:
    """A new campaign (admins only), as stored: the API's request and the console's form each
    convert to a `NewCampaign` first. The rule's grid may be given by id or by code."""
    require_admin(user, "create a campaign")
    grid = find_grid(session, body.rule.grid_id)
    business_types: list[str] = []
    if body.kind == CampaignKind.BUSINESS_INSPECTION:
        business_types = type_ids(session, body.business_types)
    campaign = Campaign(
        id=new_id(),
        name=body.name.strip(),
        kind=body.kind.value,
        start_date=body.start_date,
        end_date=body.end_date,
        grid_id=grid.id,
        age_min=body.rule.age_min,
        age_max=body.rule.age_max,
        residence_statuses=[s.value for s in body.rule.residence_statuses],
        tags=[t.value for t in body.rule.tags],
        business_types=business_types,
        version=1,
        updated_at=now,
        updated_by_user_id=user.id,
        deleted=False,
        clocks={},
    )
    session.add(campaign)
    session.flush()
    changes = ChangeSet()
    changes.add("campaign", campaign.id, {grid.id})
    commit_changes(session=session, changes=changes)
    return campaign


def list_campaigns(*, session: Session, user: User) -> list[Campaign]:
    """The live campaigns covering the user's grids, newest first."""
    query = select(Campaign).where(Campaign.deleted.is_(False))
    if user.role != Role.ADMIN:
        query = query.where(
            Campaign.grid_id.in_(sorted(grid_set(session=session, user=user).nodes))
        )
    return list(session.scalars(query.order_by(Campaign.start_date.desc(), Campaign.name)))


def get_campaign(*, session: Session, user: User, campaign_id: str) -> Campaign:
    """One campaign the user may see; 404 otherwise (never revealing that it exists)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.deleted:
        raise NotFound("there is no such campaign", code="no_such_campaign")
    if (
        user.role != Role.ADMIN
        and campaign.grid_id not in grid_set(session=session, user=user).nodes
    ):
        raise NotFound("there is no such campaign", code="no_such_campaign")
    return campaign
