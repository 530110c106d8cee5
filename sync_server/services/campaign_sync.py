"""Campaign records in a pull: which campaigns, completions and outcomes a device holds.

- Only clients that store them receive any (`PullRequest.campaigns`); others never see the
  three entities, in the bootstrap or in the changes.
- A campaign reaches every device whose scope meets its subtree. Its change rows carry the
  subtree's root node id, and that node is among a device's grid nodes exactly when the device
  holds a grid under it or is assigned the root or one of its ancestors.
- Completions (the compact per-resident marks) and outcomes belong to their resident's grids, for
  the campaigns the device holds. They travel with the resident: a change page that delivers a
  resident also delivers the resident's campaign records, and one that removes a resident removes
  them, so a person who moves in during a campaign arrives with what they already did. A person
  who moved out stays, with their records, for the recently-moved window (`shared.moves`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from shared.protocol import RecordRef, RecordState
from sync_server.models import Binding, Campaign, CompletionMark, House, Outcome, SyncedMixin
from sync_server.records import state_of
from sync_server.services.record_grids import binding_held, resident_grids
from sync_server.services.scope import GridSet

CAMPAIGN_ENTITIES = ("campaign", "completion", "outcome")
_FACTS: tuple[tuple[str, Any], ...] = (  # Any: mypy cannot join the two models' columns
    ("completion", CompletionMark),
    ("outcome", Outcome),
)
_CHUNK = 500


def visible_campaigns(grids: GridSet) -> Select[Any]:
    """Ids of the live campaigns whose subtree meets the scope."""
    return select(Campaign.id).where(
        Campaign.deleted.is_(False), Campaign.grid_id.in_(sorted(grids.nodes))
    )


def boot_query(entity: str, grids: GridSet, boot: list[str], since: date) -> Select[Any]:
    """The live records of `entity` a bootstrap of the grids `boot` sends."""
    if entity == "campaign":
        return select(Campaign).where(
            Campaign.deleted.is_(False), Campaign.grid_id.in_(sorted(grids.nodes))
        )
    model = CompletionMark if entity == "completion" else Outcome
    residents = (
        select(Binding.resident_id)
        .join(House, House.id == Binding.house_id)
        .where(House.grid_id.in_(boot), binding_held(since), Binding.deleted.is_(False))
    )
    return select(model).where(
        model.deleted.is_(False),
        model.campaign_id.in_(visible_campaigns(grids)),
        model.resident_id.in_(residents),
    )


def in_scope(
    session: Session, grids: GridSet, rows: dict[tuple[str, str], SyncedMixin], since: date
) -> set[tuple[str, str]]:
    """The campaign records among `rows` the scope holds (other entities are ignored)."""
    inside: set[tuple[str, str]] = set()
    facts: list[tuple[tuple[str, str], CompletionMark | Outcome]] = []
    for key, row in rows.items():
        if isinstance(row, Campaign):
            if row.grid_id in grids.nodes:
                inside.add(key)
        elif isinstance(row, CompletionMark | Outcome):
            facts.append((key, row))
    if not facts:
        return inside
    campaign_ids = sorted({row.campaign_id for _, row in facts})
    visible = set(session.scalars(visible_campaigns(grids).where(Campaign.id.in_(campaign_ids))))
    homes = resident_grids(
        session=session, resident_ids={row.resident_id for _, row in facts}, since=since
    )
    for key, row in facts:
        if row.campaign_id in visible and homes.get(row.resident_id, set()) & grids.leaves:
            inside.add(key)
    return inside


def follow_residents(
    session: Session, grids: GridSet, delivered: Iterable[str], removed: Iterable[str]
) -> tuple[list[RecordState], list[RecordRef]]:
    """The campaign records of residents a change page delivers, and those of residents it
    removes (they leave the device with their resident)."""
    states: list[RecordState] = []
    refs: list[RecordRef] = []
    wanted, gone = sorted(set(delivered)), sorted(set(removed))
    for entity, model in _FACTS:
        for start in range(0, len(wanted), _CHUNK):
            for row in session.scalars(
                select(model)
                .where(
                    model.resident_id.in_(wanted[start : start + _CHUNK]),
                    model.deleted.is_(False),
                    model.campaign_id.in_(visible_campaigns(grids)),
                )
                .order_by(model.id)
            ):
                states.append(state_of(entity, row))
        for start in range(0, len(gone), _CHUNK):
            for record_id in session.scalars(
                select(model.id)
                .where(model.resident_id.in_(gone[start : start + _CHUNK]))
                .order_by(model.id)
            ):
                refs.append(RecordRef(entity=entity, id=record_id))
    return states, refs
