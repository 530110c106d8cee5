"""The console's posts page: a supervisor publishes a post for their community, members claim it
from their phones, and the page counts claims per community and kind and the most-claimed kinds."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import Post
from tests.factories import TinyGrid
from tests.sync_server.console.conftest import OpenConsole
from tests.sync_server.member_helpers import claim, make_members
from tests.sync_server.wire_device import WireDevice


def test_a_supervisor_publishes_a_post_members_claim_it_and_the_page_counts_them(
    browser: OpenConsole,
    api: TestClient,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
) -> None:
    make_members(session_factory, tiny, capacity=2)
    console = browser("s1")
    community = tiny.nodes["T1-1-1-1"]
    published = console.post(
        "/console/posts",
        {
            "node": community.id,
            "kind": "environment",
            "title": "楼道清洁岗",
            "duties": "每月两次清理楼道杂物",
            "capacity": "3",
        },
    )
    assert published.status_code == 303
    page = console.get(published.headers["location"])
    assert "岗位已发布" in page.text
    with session_factory() as session:
        post = session.scalars(select(Post).where(Post.title == "楼道清洁岗")).one()
        assert (post.kind, post.capacity, post.community_id) == ("environment", 3, community.id)

    for n in range(3):
        phone = WireDevice(api, f"m1_{n}")
        phone.pull(matters=True)
        assert phone.push([claim(phone, post.id)])[0]["status"] == "applied"

    page = console.get("/console/posts").text
    row = re.search(r'data-kind="environment">(.*?)</tr>', page, re.S)
    assert row is not None and "西门社区1" in row.group(1) and "环境提升" in row.group(1)
    assert re.findall(r'class="n[^"]*">(\d+)</td>', row.group(1)) == ["1", "3", "3"]
    kinds = re.findall(r'<tr data-kind="(\w+)"><td>[^<]+</td><td class="n">(\d+)', page)
    assert kinds[0] == ("environment", "3")
    assert "西门社区2" not in page  # s1 supervises community 1 only


def test_a_post_is_published_only_for_a_community_in_scope(
    browser: OpenConsole, tiny: TinyGrid
) -> None:
    refused = browser("s1").post(
        "/console/posts",
        {"node": tiny.nodes["T1-1-1-2"].id, "kind": "care", "title": "x", "capacity": "1"},
    )
    assert refused.status_code == 404
