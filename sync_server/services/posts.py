"""Members' posts (岗位) as a community's staff publish them, and what the console counts.

A post's change row carries its community's key (`pub:<community id>`, services/matter_sync.py),
so the community's members receive it at their next pull; claims come through the push
(push_rules._claim_post). The caller's transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.members import POST_KIND_ZH, PostKind, label_to_value
from sync_server.errors import Invalid
from sync_server.models import GridNode, Post, PostClaim
from sync_server.services.changes import ChangeSet, commit_changes
from sync_server.services.matter_sync import COMMUNITY_LEVEL


def community_of(node: GridNode, *, session: Session) -> GridNode:
    """The community a node is (level 4) or is in (a level-5 grid's parent)."""
    if node.level == COMMUNITY_LEVEL + 1 and node.parent_id:
        return session.get_one(GridNode, node.parent_id)
    if node.level != COMMUNITY_LEVEL:
        raise Invalid("a post belongs to a community (a level-4 grid node)", field="community")
    return node


def publish_post(
    *,
    session: Session,
    community: GridNode,
    kind: str,
    title: str,
    duties: str,
    capacity: int,
    user_id: str | None = None,
) -> Post:
    """A community publishes a post of one of the seven kinds (value or Chinese label)."""
    if community.level != COMMUNITY_LEVEL:
        raise Invalid("a post belongs to a community (a level-4 grid node)", field="community")
    value = label_to_value(kind, POST_KIND_ZH)
    if value is None:
        choices = ", ".join(f"{k} ({POST_KIND_ZH[k]})" for k in PostKind)
        raise Invalid(f"kind must be one of {choices}; got {kind!r}", field="kind")
    title = title.strip()
    if not title or len(title) > 200:
        raise Invalid("a post needs a title of at most 200 characters", field="title")
    if not 1 <= capacity <= 10_000:
        raise Invalid("capacity must be between 1 and 10000", field="capacity")
    post = Post(
        community_id=community.id,
        kind=value,
        title=title,
        duties=duties.strip(),
        capacity=capacity,
        claimed=0,
        active=1,
        updated_by_user_id=user_id,
    )
    session.add(post)
    session.flush()
    changes = ChangeSet()
    changes.add("post", post.id, {f"pub:{community.id}"})
    commit_changes(session=session, changes=changes)
    return post


@dataclass(frozen=True)
class PostCounts:
    """Posts and claims of one community and kind."""

    community_id: str
    community: str
    kind: str
    posts: int
    capacity: int
    claimed: int


def post_counts(*, session: Session, communities: list[str] | None = None) -> list[PostCounts]:
    """Per community and kind: posts, places and claims, in one grouped query (of
    `communities` only, when given)."""
    query = (
        select(
            Post.community_id,
            GridNode.name,
            Post.kind,
            func.count(Post.id),
            func.sum(Post.capacity),
            func.sum(Post.claimed),
        )
        .join(GridNode, GridNode.id == Post.community_id)
        .where(Post.deleted.is_(False))
        .group_by(Post.community_id, GridNode.name, Post.kind)
        .order_by(GridNode.name, Post.kind)
    )
    if communities is not None:
        query = query.where(Post.community_id.in_(communities))
    rows = session.execute(query)
    return [
        PostCounts(cid, name, kind, int(n), int(cap or 0), int(claimed or 0))
        for cid, name, kind, n, cap, claimed in rows
    ]


def most_claimed_kinds(
    *, session: Session, communities: list[str] | None = None
) -> list[tuple[str, int]]:
    """Kinds by their live claims, most first (kinds nobody claimed yet last, with 0)."""
    query = (
        select(Post.kind, func.count(PostClaim.id))
        .join(PostClaim, PostClaim.post_id == Post.id)
        .where(Post.deleted.is_(False), PostClaim.deleted.is_(False))
        .group_by(Post.kind)
    )
    if communities is not None:
        query = query.where(Post.community_id.in_(communities))
    counted = dict(session.execute(query).all())
    return sorted(
        ((k.value, int(counted.get(k.value, 0))) for k in PostKind), key=lambda kv: (-kv[1], kv[0])
    )
