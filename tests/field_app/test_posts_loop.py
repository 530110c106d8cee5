"""Members claim their community's post through the app's view-models and the real server
in-process: the last place is claimed offline by two members; the first to sync gets it, the
second is told the post is full; a third sees it full and has no claim button."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from field_app.i18n import Translator
from field_app.state import GridsScreen
from field_app.state.posts import PostsScreen
from sync_server.models import Post
from tests.factories import make_tiny_grid
from tests.field_app.app_harness import Device
from tests.sync_server.member_helpers import MemberWorld, make_members


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> MemberWorld:
    with session_factory() as session, session.begin():
        tiny = make_tiny_grid(session)
    return make_members(session_factory, tiny, capacity=1)


@pytest.fixture
def device(app: FastAPI, tmp_path: Path, world: MemberWorld) -> Iterator[Callable[[str], Device]]:
    made: list[Device] = []

    def make(username: str) -> Device:
        made.append(Device(app, tmp_path / f"{username}.db"))
        made[-1].sign_in(username)
        return made[-1]

    yield make
    for d in made:
        d.close()


def posts_screen(phone: Device) -> PostsScreen:
    phone.vm.home()
    home = phone.vm.screen
    assert isinstance(home, GridsScreen)
    assert home.posts, "the community's post reached the member's phone"
    home.open_posts()
    screen = phone.vm.screen
    assert isinstance(screen, PostsScreen)
    return screen


def sync(phone: Device) -> None:
    phone.vm.request_sync()
    phone.work()


def test_two_members_claim_the_last_place_offline_and_the_first_to_sync_gets_it(
    device: Callable[[str], Device], world: MemberWorld, session_factory: sessionmaker[Session]
) -> None:
    post_id = world.posts["p1"]
    first, second = device("m1_0"), device("m1_1")
    for member in (first, second):
        screen = posts_screen(member)
        [item] = screen.items
        assert item.can_claim and item.record.values["title"] == "社区1助老服务岗"
        member.transport.down = True
        screen.claim(post_id)
        [item] = screen.items
        assert (item.claim, item.claimed, item.can_claim) == ("pending", 1, False)
        screen.claim(post_id)  # a second tap: refused on the phone, nothing queued
        assert member.vm.status.pending == 1

    first.transport.down = False
    sync(first)
    assert first.vm.status.pending == 0 and first.vm.status.rejected == 0
    second.transport.down = False
    sync(second)
    assert second.vm.status.rejected == 1
    screen = posts_screen(second)
    [item] = screen.items
    assert item.claim == "refused" and item.full and not item.can_claim
    code, field, reason = screen.refusal(item)
    assert code == "post_full"
    assert Translator("zh-CN").rejection(code, field, reason) == "该岗位名额已满，未能认领"

    third = device("m1_2")
    [item] = posts_screen(third).items
    assert (item.claim, item.claimed, item.full, item.can_claim) == ("none", 1, True, False)
    with session_factory() as session:
        assert session.get_one(Post, post_id).claimed == 1
