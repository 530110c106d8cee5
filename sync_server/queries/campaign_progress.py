"""A campaign's progress under a grid node, aggregated at every level (五级穿透), and its missed list.

`sweep_under(campaign, node)` gathers the facts a phone holds for its grids — residents bound
there now, the campaign's completion marks and outcomes — for the whole subtree under `node`,
decides targets with `shared.campaigns.is_target` and statuses with `shared.campaigns.sweep`:
the very functions the field app calls, so a supervisor's numbers and a worker's missed list
agree. Counts are then rolled up: a target counts once at every node above any grid they live in
(a person bound in two grids of one community counts once for the community).

A database pre-filter (subtree, residence status, birth-date window) only trims what is loaded;
`is_target` decides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.campaigns import (
    OUTCOME_ZH,
    OutcomeFact,
    ResidentFacts,
    Sweep,
    Tally,
    TargetRule,
    TargetStatus,
    age_on,
    birth_window,
    building_label,
    is_target,
    natural_key,
    sweep,
)
from shared.clock import china_timestamp_text, format_timestamp
from shared.schema import LEAF_LEVEL, RESIDENCE_STATUS_ZH
from shared.validation import mask_id_number
from sync_server.models import (
    Binding,
    Building,
    Campaign,
    CompletionMark,
    GridNode,
    House,
    Outcome,
    Resident,
    Unit,
    subtree_bounds,
)

_CHUNK = 5_000


def rule_of(campaign: Campaign) -> TargetRule:
    return TargetRule(
        grid_id=campaign.grid_id,
        age_min=campaign.age_min,
        age_max=campaign.age_max,
        residence_statuses=tuple(campaign.residence_statuses),
        tags=tuple(campaign.tags),
    )


def _ids(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


@dataclass
class CampaignSweep:
    """A campaign's targets under one node: each target's status and the grids they live in."""

    campaign: Campaign
    node: GridNode
    result: Sweep
    # target resident id -> the level-5 grids under `node` they are bound in now (usually one)
    homes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # level-5 grid id -> the grid node ids from `node` down to it
    chains: dict[str, list[str]] = field(default_factory=dict)

    def tallies(self) -> dict[str, Tally]:
        """Counts at `node` and every node below it that has targets, over distinct people."""
        per_grid: dict[str, Tally] = defaultdict(Tally)
        several: list[TargetStatus] = []
        for rid, status in self.result.statuses.items():
            grids = self.homes[rid]
            if len(grids) == 1:
                per_grid[grids[0]].add(status)
            else:
                several.append(status)
        out: dict[str, Tally] = defaultdict(Tally)
        for grid, tally in per_grid.items():  # people of one grid count once at each level up
            for node_id in self.chains[grid]:
                out[node_id].merge(tally)
        for status in several:  # people of several grids: once per node above any of them
            credited = set().union(*(self.chains[g] for g in self.homes[status.resident_id]))
            for node_id in credited:
                out[node_id].add(status)
        return out

    def targets_in(self, grid_id: str) -> list[TargetStatus]:
        """The statuses of the targets bound in one level-5 grid."""
        return [self.result.statuses[rid] for rid, grids in self.homes.items() if grid_id in grids]


def _region(campaign: Campaign, node: GridNode) -> GridNode | None:
    """The node whose subtree is both under `node` and under the campaign's root, if any."""
    root = campaign.grid
    if node.path.startswith(root.path):
        return node
    if root.path.startswith(node.path):
        return root
    return None


# Above this many targets, a campaign's completions and outcomes are read whole and filtered in
# memory; below it, looked up by resident.
_WHOLE_CAMPAIGN = 20_000


def sweep_under(*, session: Session, campaign: Campaign, node: GridNode) -> CampaignSweep:
    """Targets and statuses of `campaign` in the subtree of `node` (the caller checks scope)."""
    out = CampaignSweep(campaign=campaign, node=node, result=Sweep({}))
    region = _region(campaign, node)
    if region is None:
        return out
    rule = rule_of(campaign)
    low, high = subtree_bounds(region.path)
    depth = node.level - 1  # a path's component i is the grid node of level i + 1
    ancestors: dict[str, frozenset[str]] = {}  # level-5 grid -> it and every node above it
    for grid_id, path in session.execute(
        select(GridNode.id, GridNode.path).where(
            GridNode.level == LEAF_LEVEL, GridNode.path >= low, GridNode.path < high
        )
    ):
        chain = _ids(path)
        out.chains[grid_id] = chain[depth:]
        ancestors[grid_id] = frozenset(chain)
    if not ancestors:
        return out
    columns: list[Any] = [Resident.id, Resident.id_number, Resident.residence_status, House.grid_id]
    if rule.tags:  # decoding every resident's tags costs more than the rest of a row
        columns.append(Resident.tags)
    query = (
        select(*columns)
        .select_from(Binding)
        .join(House, House.id == Binding.house_id)
        .join(Resident, Resident.id == Binding.resident_id)
        .where(
            Binding.end_date.is_(None),
            Binding.deleted.is_(False),
            House.deleted.is_(False),
            Resident.deleted.is_(False),
            House.grid_id.in_(sorted(ancestors)),
            Resident.residence_status.in_([s.value for s in rule.residence_statuses]),
        )
    )
    earliest, latest = birth_window(rule, campaign.start_date)
    if earliest is not None:
        query = query.where(Resident.birth_date >= earliest)
    if latest is not None:
        query = query.where(Resident.birth_date <= latest)
    rows: dict[str, Any] = {}
    home: dict[str, str] = {}
    several: dict[str, set[str]] = {}
    for row in session.execute(query):
        rid, grid_id = row[0], row[3]
        first = home.get(rid)
        if first is None:
            home[rid], rows[rid] = grid_id, row
        elif first != grid_id:
            several.setdefault(rid, {first}).add(grid_id)
    targets: list[str] = []
    start = campaign.start_date
    for rid, row in rows.items():
        grids = several.get(rid)
        lives = ancestors[home[rid]] if grids is None else _union(grids, ancestors)
        tags = (row[4] or ()) if rule.tags else ()
        if is_target(rule, ResidentFacts(row[1], row[2], tags, lives), start):
            targets.append(rid)
            out.homes[rid] = (home[rid],) if grids is None else tuple(sorted(grids))
    completed = _completed(session, campaign.id, out.homes)
    outcomes = _outcomes(session, campaign.id, out.homes)
    out.result = sweep(targets, completed, outcomes)
    return out


def _union(grids: set[str], ancestors: dict[str, frozenset[str]]) -> frozenset[str]:
    return frozenset().union(*(ancestors[g] for g in grids))


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(ids)
    for begin in range(0, len(ordered), _CHUNK):
        yield ordered[begin : begin + _CHUNK]


def _completed(session: Session, campaign_id: str, targets: dict[str, Any]) -> set[str]:
    """The targets with a completion mark in the campaign."""
    query = select(CompletionMark.resident_id).where(
        CompletionMark.campaign_id == campaign_id, CompletionMark.deleted.is_(False)
    )
    if len(targets) > _WHOLE_CAMPAIGN:
        return {rid for rid in session.scalars(query) if rid in targets}
    found: set[str] = set()
    for chunk in _chunks(targets):
        found.update(session.scalars(query.where(CompletionMark.resident_id.in_(chunk))))
    return found


def _outcomes(session: Session, campaign_id: str, targets: dict[str, Any]) -> list[OutcomeFact]:
    """The campaign's outcomes about the targets."""
    query = select(
        Outcome.id,
        Outcome.resident_id,
        Outcome.outcome,
        Outcome.recorded_at,
        Outcome.place,
        Outcome.reason,
        Outcome.revisit_date,
    ).where(Outcome.campaign_id == campaign_id, Outcome.deleted.is_(False))
    if len(targets) > _WHOLE_CAMPAIGN:
        batches: Iterable[Any] = [session.execute(query)]
    else:
        batches = (
            session.execute(query.where(Outcome.resident_id.in_(chunk)))
            for chunk in _chunks(targets)
        )
    return [
        OutcomeFact(
            id=oid,
            resident_id=rid,
            outcome=kind,
            recorded_at=format_timestamp(at),
            place=place or "",
            reason=reason or "",
            revisit_date=revisit.isoformat() if revisit else None,
        )
        for result in batches
        for oid, rid, kind, at, place, reason, revisit in result
        if rid in targets
    ]


# --- the missed list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MissedRow:
    """One missed target as the notification list shows them, in walking order."""

    resident_id: str
    grid_code: str
    grid_name: str
    building: str
    unit: str
    room: str
    address: str
    name: str
    id_number: str  # masked unless the reader may see it whole
    phone: str
    sex: str
    age: int | None
    residence_status: str
    outcome: str  # Chinese label of the latest outcome, "" if nobody has been to the door
    detail: str  # place / reason of that outcome
    revisit_date: str
    recorded_at: str  # when that outcome was recorded, China time


def missed_rows(*, session: Session, swept: CampaignSweep, unmask: bool = False) -> list[MissedRow]:
    """The missed targets under the node, one row each, sorted in walking order (grid, building,
    unit, room). A person bound in two houses is listed at the first in that order."""
    missed = sorted(swept.result.missed)
    rows: dict[str, tuple[tuple[object, ...], MissedRow]] = {}
    start = swept.campaign.start_date
    for begin in range(0, len(missed), _CHUNK):
        chunk = missed[begin : begin + _CHUNK]
        query = (
            select(
                Resident,
                House.room,
                House.address,
                House.grid_id,
                Building.road,
                Building.lane,
                Building.number,
                Building.name,
                Unit.name,
                GridNode.code,
                GridNode.name,
            )
            .select_from(Binding)
            .join(Resident, Resident.id == Binding.resident_id)
            .join(House, House.id == Binding.house_id)
            .join(Building, Building.id == House.building_id)
            .outerjoin(Unit, Unit.id == House.unit_id)
            .join(GridNode, GridNode.id == House.grid_id)
            .where(
                Binding.resident_id.in_(chunk),
                Binding.end_date.is_(None),
                Binding.deleted.is_(False),
                House.deleted.is_(False),
            )
        )
        for (
            resident,
            room,
            address,
            grid_id,
            road,
            lane,
            number,
            bname,
            uname,
            gcode,
            gname,
        ) in session.execute(query):
            if grid_id not in swept.homes.get(resident.id, ()):
                continue  # a house outside the node
            building = building_label(road, lane, number, bname)
            key = (gcode, natural_key(building), natural_key(uname or ""), natural_key(room))
            held = rows.get(resident.id)
            if held is not None and held[0] <= key:
                continue
            status = swept.result.statuses[resident.id]
            fact = status.outcome
            detail = ""
            if fact is not None:
                detail = fact.place or fact.reason
            rows[resident.id] = (
                key,
                MissedRow(
                    resident_id=resident.id,
                    grid_code=gcode,
                    grid_name=gname,
                    building=building,
                    unit=uname or "",
                    room=room,
                    address=address,
                    name=resident.name,
                    id_number=resident.id_number if unmask else mask_id_number(resident.id_number),
                    phone=resident.phone or "",
                    sex="男" if resident.sex == "M" else "女",
                    age=age_on(resident.birth_date, start) if resident.birth_date else None,
                    residence_status=RESIDENCE_STATUS_ZH.get(
                        resident.residence_status, resident.residence_status
                    ),
                    outcome=OUTCOME_ZH.get(fact.outcome, fact.outcome) if fact else "",
                    detail=detail,
                    revisit_date=(fact.revisit_date or "") if fact else "",
                    recorded_at=china_timestamp_text(fact.recorded_at) if fact else "",
                ),
            )
    ordered = sorted(rows.values(), key=lambda kv: (kv[0], kv[1].name, kv[1].resident_id))
    return [row for _, row in ordered]
