"""Members and posts for the server's tests: members of the tiny grid's two communities and a
post to claim, made as the import and the console make them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from shared.matters import OrgKind
from shared.schema import Role
from sync_server.models import Member
from sync_server.services.matters import create_org
from sync_server.services.posts import publish_post
from sync_server.services.users import create_user
from tests.days import RUN_CLOCK
from tests.factories import TinyGrid, password_hash
from tests.sync_server.wire_device import WireDevice

C1, C2 = "T1-1-1-1", "T1-1-1-2"


@dataclass
class MemberWorld:
    members: dict[str, str] = field(default_factory=dict)  # username -> user id
    posts: dict[str, str] = field(default_factory=dict)  # name -> post id


def make_members(
    session_factory: sessionmaker[Session],
    tiny: TinyGrid,
    *,
    per_community: int = 3,
    capacity: int = 2,
) -> MemberWorld:
    """`per_community` members (m1_0, m1_1, … in 西门社区1; m2_0 … in 西门社区2), each
    community's post `p1`/`p2` with `capacity` places."""
    world = MemberWorld()
    with session_factory() as session, session.begin():
        employer = create_org(session=session, name="县财政局", kind=OrgKind.EMPLOYER, grid=None)
        hashed = password_hash()
        for c, code in ((1, C1), (2, C2)):
            community = session.merge(tiny.nodes[code])
            for n in range(per_community):
                username = f"m{c}_{n}"
                user = create_user(
                    session=session,
                    username=username,
                    password_hash=hashed,
                    role=Role.HANDLER,
                    display_name=f"党员{c}{n}",
                    grids=[community],
                    org=employer,
                )
                session.add(
                    Member(
                        user_id=user.id,
                        name=f"党员{c}{n}",
                        phone=f"139{c:04d}{n:04d}",
                        employer_org_id=employer.id,
                        party_status="member",
                        community_id=community.id,
                        registered_on=date(2026, 3, 1),
                    )
                )
                world.members[username] = user.id
            post = publish_post(
                session=session,
                community=community,
                kind="助老扶幼",
                title=f"社区{c}助老服务岗",
                duties="每周陪伴独居老人一次，帮助买菜、读报",
                capacity=capacity,
            )
            world.posts[f"p{c}"] = post.id
    return world


def claim(device: WireDevice, post_id: str, *, user_id: str | None = None) -> dict[str, object]:
    """A member's claim of a post (as the phone makes it, offline or not)."""
    fields = {
        "post_id": post_id,
        "user_id": user_id or device.user_id,
        "at": RUN_CLOCK.now().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    return device.op(
        "post_claim", str(uuid.uuid4()), "create", {k: (None, v) for k, v in fields.items()}
    )
