"""A business inspection sweep's progress (排查整治) under a grid node, at every level (五级穿透).

For the node and every node below it: the businesses to check (the campaign's targets,
`shared.businesses.is_target`, the rule the phones apply), how many of them have been checked,
the problems found (matters the campaign's checks opened, shared/inspection_matters.py), how
many of those are closed (销号) and how many are open past 商户检查's time limit. A business lies
in one level-5 grid, so each count goes once to every node on its grid's chain, as campaign
progress does (queries/campaign_progress.py).

A few set-based reads, whatever the size: the subtree's level-5 grids, its businesses, the
campaign's checked businesses, its matters.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.businesses import is_target
from shared.matters import MatterState
from shared.schema import LEAF_LEVEL
from sync_server.models import (
    Business,
    BusinessCheck,
    Campaign,
    GridNode,
    Matter,
    subtree_bounds,
)
from sync_server.queries.campaign_progress import _region

# Above this many businesses, the campaign's checks are read whole; below, looked up by business.
_WHOLE_CAMPAIGN = 1_000
_CHUNK = 500


@dataclass
class InspectionTally:
    """One node's share of a sweep."""

    businesses: int = 0  # to check
    checked: int = 0
    problems: int = 0  # found (matters opened)
    closed: int = 0  # struck off (销号)
    overdue: int = 0  # open past the time limit

    @property
    def open(self) -> int:
        return self.problems - self.closed

    @property
    def percent(self) -> int:
        """Businesses checked, in percent (the progress bar's)."""
        return round(100 * self.checked / self.businesses) if self.businesses else 0

    # The progress bar's names (console macros.bar), as campaign progress has them.
    @property
    def done(self) -> int:
        return self.checked

    @property
    def targets(self) -> int:
        return self.businesses


@dataclass
class InspectionSweep:
    """A sweep's counts under one node, and what they were made of (for the export)."""

    campaign: Campaign
    node: GridNode
    tallies: dict[str, InspectionTally] = field(default_factory=dict)
    # level-5 grid id -> the grid node ids from `node` down to it
    chains: dict[str, list[str]] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)  # business id -> its grid


def inspection_under(
    *, session: Session, campaign: Campaign, node: GridNode, now: datetime
) -> InspectionSweep:
    """The sweep's counts at `node` and below (the caller checks scope)."""
    out = InspectionSweep(campaign=campaign, node=node)
    region = _region(campaign, node)
    if region is None:
        return out
    low, high = subtree_bounds(region.path)
    depth = node.level - 1  # a path's component i is the grid node of level i + 1
    ancestors: dict[str, list[str]] = {}  # level-5 grid -> it and every node above it
    for grid_id, path in session.execute(
        select(GridNode.id, GridNode.path).where(
            GridNode.level == LEAF_LEVEL, GridNode.path >= low, GridNode.path < high
        )
    ):
        lineage = [p for p in path.split("/") if p]
        out.chains[grid_id] = lineage[depth:]
        ancestors[grid_id] = lineage
    if not out.chains:
        return out
    in_subtree = select(GridNode.id).where(
        GridNode.level == LEAF_LEVEL, GridNode.path >= low, GridNode.path < high
    )
    types = tuple(campaign.business_types or ())
    for business_id, grid_id, type_id, status in session.execute(
        select(Business.id, Business.grid_id, Business.business_type_id, Business.status).where(
            Business.deleted.is_(False), Business.grid_id.in_(in_subtree)
        )
    ):
        facts = {"grid_id": grid_id, "business_type_id": type_id, "status": status}
        chain = ancestors.get(grid_id, ())
        if is_target(facts, grid_chain=chain, campaign_grid_id=campaign.grid_id, types=types):
            out.targets[business_id] = grid_id
    checks = select(BusinessCheck.business_id).where(
        BusinessCheck.campaign_id == campaign.id, BusinessCheck.deleted.is_(False)
    )
    checked: set[str] = set()
    if len(out.targets) > _WHOLE_CAMPAIGN:
        checked.update(session.scalars(checks.distinct()))
    else:  # a grid's or a community's few: looked up by business
        ordered = sorted(out.targets)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            checked.update(session.scalars(checks.where(BusinessCheck.business_id.in_(chunk))))
    tallies: dict[str, InspectionTally] = defaultdict(InspectionTally)
    per_grid: dict[str, InspectionTally] = defaultdict(InspectionTally)
    for business_id, grid_id in out.targets.items():
        tally = per_grid[grid_id]
        tally.businesses += 1
        tally.checked += business_id in checked
    closed = MatterState.CLOSED.value
    for grid_id, state, due in session.execute(
        select(Matter.grid_id, Matter.state, Matter.due_at).where(
            Matter.deleted.is_(False),
            Matter.grid_id.in_(in_subtree),
            Matter.business_check_id.in_(
                select(BusinessCheck.id).where(BusinessCheck.campaign_id == campaign.id)
            ),
        )
    ):
        tally = per_grid[grid_id]
        tally.problems += 1
        tally.closed += state == closed
        open_ = state not in (closed, MatterState.DECLINED.value)
        tally.overdue += open_ and due is not None and due < now
    for grid_id, tally in per_grid.items():
        for node_id in out.chains.get(grid_id, ()):
            total = tallies[node_id]
            total.businesses += tally.businesses
            total.checked += tally.checked
            total.problems += tally.problems
            total.closed += tally.closed
            total.overdue += tally.overdue
    out.tallies = dict(tallies)
    return out
