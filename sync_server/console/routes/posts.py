"""Members' posts (岗位): claims per community and kind, the most-claimed kinds, and publishing
a post for a community in the viewer's scope.

Thin: counts come from `services.posts.post_counts` and `most_claimed_kinds`, a new post from
`services.posts.publish_post`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from shared.members import PostKind
from sync_server.console.access import node_for
from sync_server.console.deps import ConsoleSessionDep, PostDep, ViewerDep
from sync_server.console.render import render
from sync_server.console.routes import new_router
from sync_server.models import GridNode
from sync_server.services.matter_sync import COMMUNITY_LEVEL
from sync_server.services.posts import community_of, most_claimed_kinds, post_counts, publish_post

router = new_router()


@router.get("/posts")
def listing(
    request: Request, viewer: ViewerDep, session: ConsoleSessionDep, node: str = ""
) -> HTMLResponse:
    """Every community in the viewer's scope; with `node`, the communities of that grid node
    (the one it is in, for a level-5 grid)."""
    chosen = node_for(session=session, viewer=viewer, node_id=node) if node else None
    within = chosen
    if chosen is not None and chosen.level > COMMUNITY_LEVEL:
        within = community_of(chosen, session=session)
    communities = [
        found
        for found in session.scalars(
            select(GridNode)
            .where(GridNode.level == COMMUNITY_LEVEL, GridNode.deleted.is_(False))
            .order_by(GridNode.code)
        )
        if viewer.scope.covers_path(found.path)
        and (within is None or found.path.startswith(within.path))
    ]
    ids = [c.id for c in communities]
    return render(
        request,
        "posts.html",
        viewer=viewer,
        communities=communities,
        chosen=chosen,
        counts=post_counts(session=session, communities=ids),
        kinds=most_claimed_kinds(session=session, communities=ids),
        post_kinds=[k.value for k in PostKind],
    )


@router.post("/posts")
def publish(
    viewer: PostDep,
    session: ConsoleSessionDep,
    node: Annotated[str, Form(max_length=36)],
    kind: Annotated[str, Form(max_length=20)],
    title: Annotated[str, Form(max_length=200)],
    capacity: Annotated[int, Form(ge=1, le=10_000)],
    duties: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Publish a post for the community `node` is (or is in)."""
    found = node_for(session=session, viewer=viewer, node_id=node)
    publish_post(
        session=session,
        community=community_of(found, session=session),
        kind=kind,
        title=title,
        duties=duties,
        capacity=capacity,
        user_id=viewer.user.id,
    )
    return RedirectResponse("/console/posts?msg=post_published", 303)
