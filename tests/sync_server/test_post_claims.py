"""Members claim posts through the push: the server decides each claim with
`shared.members.decide_claim`, refuses a full post clearly, and tells every member the count."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import Post, PostClaim
from sync_server.services.posts import most_claimed_kinds, post_counts
from tests.factories import TinyGrid
from tests.sync_server.member_helpers import C1, claim, make_members
from tests.sync_server.wire_device import WireDevice


def member(client: TestClient, username: str) -> WireDevice:
    device = WireDevice(client, username)
    device.pull(matters=True)
    return device


def test_members_receive_their_communitys_posts_and_claim_until_it_is_full(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    world = make_members(session_factory, tiny, capacity=2)
    phones = [member(client, f"m1_{n}") for n in range(3)]
    post_id = world.posts["p1"]
    assert set(phones[0].of("post")) == {post_id}  # not the other community's post
    assert phones[0].of("post")[post_id]["values"]["title"] == "社区1助老服务岗"

    first = phones[0].push([claim(phones[0], post_id)])
    second = phones[1].push([claim(phones[1], post_id)])
    third = phones[2].push([claim(phones[2], post_id)])
    assert [first[0]["status"], second[0]["status"]] == ["applied", "applied"]
    assert third[0]["status"] == "rejected"
    assert third[0]["code"] == "post_full"
    assert "all 2 places" in third[0]["reason"]

    phones[2].pull(matters=True)
    assert phones[2].of("post")[post_id]["values"]["claimed"] == 2
    assert phones[2].of("post_claim") == {}  # others' claims are theirs
    # The member's own claim is their phone's already (an echo); a new phone of theirs gets it.
    assert len(member(client, "m1_0").of("post_claim")) == 1
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(PostClaim)) == 2
        assert session.get_one(Post, post_id).claimed == 2


def test_a_member_cannot_claim_twice_elsewhere_or_for_someone_else(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    world = make_members(session_factory, tiny, capacity=5)
    phone = member(client, "m1_0")
    results = phone.push(
        [
            claim(phone, world.posts["p1"]),
            claim(phone, world.posts["p1"]),  # the same post again
            claim(phone, world.posts["p2"]),  # another community's post
            claim(phone, world.posts["p1"], user_id=world.members["m1_1"]),  # for a neighbour
            claim(phone, "00000000-0000-0000-0000-000000000000"),  # no such post
        ]
    )
    assert [(r["status"], r.get("code")) for r in results] == [
        ("applied", None),
        ("rejected", "already_claimed"),
        ("rejected", "out_of_scope"),
        ("rejected", "wrong_author"),
        ("rejected", "post_closed"),
    ]


def test_only_members_claim_and_a_claim_is_never_changed(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    world = make_members(session_factory, tiny)
    worker = WireDevice(client, "w11")
    refused = worker.push([claim(worker, world.posts["p1"])])
    assert (refused[0]["status"], refused[0]["code"]) == ("rejected", "not_allowed")

    phone = member(client, "m1_0")
    made = claim(phone, world.posts["p1"])
    assert phone.push([made])[0]["status"] == "applied"
    edit = phone.op(
        "post_claim", made["record_id"], "update", {"post_id": (None, world.posts["p2"])}, 1
    )
    gone = phone.op("post_claim", made["record_id"], "delete", base_version=1)
    assert [r["code"] for r in phone.push([edit, gone])] == ["append_only", "append_only"]
    # A member cannot write the post itself (its count is the server's).
    bump = phone.op("post", world.posts["p1"], "update", {"claimed": (1, 0)}, 2)
    assert phone.push([bump])[0]["status"] == "rejected"


def test_a_retried_claim_is_answered_the_same_and_counts_once(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    world = make_members(session_factory, tiny, capacity=1)
    phone = member(client, "m1_0")
    made = claim(phone, world.posts["p1"])
    assert phone.push([made])[0]["status"] == "applied"
    assert phone.push([made])[0]["status"] == "applied"  # the same op id, sent again
    with session_factory() as session:
        assert session.get_one(Post, world.posts["p1"]).claimed == 1


def test_console_counts_per_kind_and_community_and_the_most_claimed_kinds(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    world = make_members(session_factory, tiny, capacity=3)
    for n in range(2):
        phone = member(client, f"m1_{n}")
        assert phone.push([claim(phone, world.posts["p1"])])[0]["status"] == "applied"
    with session_factory() as session:
        counts = {
            (c.community, c.kind): (c.posts, c.capacity, c.claimed)
            for c in post_counts(session=session)
        }
        assert counts == {
            ("西门社区1", "elderly_children"): (1, 3, 2),
            ("西门社区2", "elderly_children"): (1, 3, 0),
        }
        kinds = most_claimed_kinds(session=session)
        assert kinds[0] == ("elderly_children", 2)
        assert len(kinds) == 7 and all(n == 0 for _, n in kinds[1:])
    assert C1  # the community the members of m1_* registered with
