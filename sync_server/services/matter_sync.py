"""Matter records in a pull: which organisations, categories, matters and steps a device holds.

- Only clients that store them receive any (`PullRequest.matters`), as with campaigns.
- Organisations and categories reach every such device; their change rows carry the key `*`.
- A matter and its steps reach the devices of its level-5 grid (workers, supervisors above it,
  admins) and, through keys of their own, handlers: `user:<id>` (dispatched to or taken by them),
  `org:<id>` (dispatched to their organisation) and, while it is on the claim list (published),
  `pub:<community id>` (the level-4 parent of its grid). A matter's change rows carry every key
  it had before and has after a step (`push_rules.matter_routes`), so a handler who did not win
  a claim is told to drop it.
- A handler's pull scope is those keys instead of grids (`handler_scope`): it carries no
  building, house, resident or binding, and the matter itself carries only the resident's name
  and masked phone (`matter.resident_name`, `matter.resident_phone_masked`), never an ID number.
  Grid nodes of their communities travel for the names of places.
- Members' posts (shared/members.py) travel under their community's key, `pub:<community id>`,
  to its members (handlers serving it); a member's claims under `user:<id>`, to them alone.
- A step that gives its matter a new key (a dispatch, a publication, a claim) also routes the
  matter's earlier steps to that key, so whoever it newly reaches receives its whole timeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from shared.matters import MatterState
from sync_server.models import (
    GridNode,
    Matter,
    MatterCategory,
    MatterStep,
    Org,
    Post,
    PostClaim,
    SyncedMixin,
    User,
)
from sync_server.services.scope import GridSet

MATTER_ENTITIES = ("org", "matter_category", "matter", "matter_step", "post", "post_claim")
EVERYONE = "*"  # the change-row key of records every matter-storing device holds
COMMUNITY_LEVEL = 4
_CHUNK = 500


def handler_scope(*, session: Session, user: User, grids: GridSet) -> GridSet:
    """A handler's scope: the matter keys they read in place of grids, and the grid nodes of
    the communities they serve (their assignments, and their organisation's community)."""
    keys = {f"user:{user.id}"}
    communities = set(
        session.scalars(
            select(GridNode.id).where(
                GridNode.id.in_(sorted(grids.nodes)), GridNode.level == COMMUNITY_LEVEL
            )
        )
    )
    if user.org_id:
        keys.add(f"org:{user.org_id}")
        org_grid = session.scalar(select(Org.grid_id).where(Org.id == user.org_id))
        if org_grid:
            communities.add(org_grid)
    keys |= {f"pub:{c}" for c in communities}
    return GridSet(leaves=frozenset(keys), nodes=grids.nodes, handler=True)


def _split(keys: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"grid": [], "user": [], "org": [], "pub": []}
    for key in keys:
        kind, sep, rest = key.partition(":")
        if not sep:
            out["grid"].append(key)
        elif kind in out:
            out[kind].append(rest)
    return out


def matter_filter(keys: Iterable[str]) -> ColumnElement[bool]:
    """A WHERE clause keeping the matters any of `keys` (grid ids or handler keys) reaches."""
    parts = _split(keys)
    clauses: list[ColumnElement[bool]] = []
    if parts["grid"]:
        clauses.append(Matter.grid_id.in_(sorted(parts["grid"])))
    if parts["user"]:
        clauses.append(Matter.assignee_user_id.in_(sorted(parts["user"])))
    if parts["org"]:
        clauses.append(Matter.assignee_org_id.in_(sorted(parts["org"])))
    if parts["pub"]:
        clauses.append(
            and_(
                Matter.state == MatterState.PUBLISHED.value,
                Matter.grid_id.in_(
                    select(GridNode.id).where(GridNode.parent_id.in_(sorted(parts["pub"])))
                ),
            )
        )
    return or_(*clauses) if clauses else false()


def boot_query(entity: str, boot: list[str]) -> Select[Any]:
    """The live records of `entity` a bootstrap over `boot` (grids or handler keys) sends."""
    if entity == "org":
        return select(Org).where(Org.deleted.is_(False))
    if entity == "matter_category":
        return select(MatterCategory).where(MatterCategory.deleted.is_(False))
    if entity == "matter":
        return select(Matter).where(Matter.deleted.is_(False), matter_filter(boot))
    if entity == "post":
        communities = _split(boot)["pub"]
        return select(Post).where(Post.deleted.is_(False), Post.community_id.in_(communities))
    if entity == "post_claim":
        users = _split(boot)["user"]
        return select(PostClaim).where(PostClaim.deleted.is_(False), PostClaim.user_id.in_(users))
    return select(MatterStep).where(
        MatterStep.deleted.is_(False),
        MatterStep.matter_id.in_(select(Matter.id).where(matter_filter(boot))),
    )


def matter_keys(matter: Matter, community: str | None) -> set[str]:
    """Every key that reaches `matter` now (as `push_rules.matter_routes`)."""
    keys = {matter.grid_id}
    if matter.assignee_org_id:
        keys.add(f"org:{matter.assignee_org_id}")
    if matter.assignee_user_id:
        keys.add(f"user:{matter.assignee_user_id}")
    if matter.state == MatterState.PUBLISHED and community:
        keys.add(f"pub:{community}")
    return keys


def in_scope(
    session: Session, grids: GridSet, rows: dict[tuple[str, str], SyncedMixin]
) -> set[tuple[str, str]]:
    """The matter records among `rows` the scope holds (other entities are ignored)."""
    inside: set[tuple[str, str]] = set()
    matters: dict[str, Matter] = {}
    steps: list[tuple[tuple[str, str], MatterStep]] = []
    for key, row in rows.items():
        if isinstance(row, Org | MatterCategory):
            inside.add(key)
        elif isinstance(row, Matter):
            matters[row.id] = row
        elif isinstance(row, MatterStep):
            steps.append((key, row))
        elif isinstance(row, Post | PostClaim) and post_key(row) in grids.leaves:
            inside.add(key)
    wanted = sorted({s.matter_id for _, s in steps} - set(matters))
    for start in range(0, len(wanted), _CHUNK):
        for matter in session.scalars(
            select(Matter).where(Matter.id.in_(wanted[start : start + _CHUNK]))
        ):
            matters[matter.id] = matter
    parents = _parents(session, {m.grid_id for m in matters.values()})
    reached = {
        matter_id
        for matter_id, matter in matters.items()
        if not matter.deleted and matter_keys(matter, parents.get(matter.grid_id)) & grids.leaves
    }
    inside.update(("matter", m) for m in reached if ("matter", m) in rows)
    inside.update(key for key, step in steps if step.matter_id in reached)
    return inside


def post_key(row: Post | PostClaim) -> str:
    """The key a post (its community's) or a claim (its member's) travels under."""
    return f"pub:{row.community_id}" if isinstance(row, Post) else f"user:{row.user_id}"


def _parents(session: Session, grid_ids: set[str]) -> dict[str, str | None]:
    ordered = sorted(grid_ids)
    out: dict[str, str | None] = {}
    for start in range(0, len(ordered), _CHUNK):
        for grid_id, parent_id in session.execute(
            select(GridNode.id, GridNode.parent_id).where(
                GridNode.id.in_(ordered[start : start + _CHUNK])
            )
        ):
            out[grid_id] = parent_id
    return out


def visible_matters(*, session: Session, grids: GridSet) -> Select[Any]:
    """Ids of the live matters a scope reaches (the photo check's and the console's)."""
    return select(Matter.id).where(Matter.deleted.is_(False), matter_filter(grids.leaves))
