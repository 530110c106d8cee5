"""Matters through the real push and pull: a worker reports, a supervisor runs the case,
handlers claim and handle it, the points ledger credits once; and what each of them may not do
or see."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import MovableClock
from shared.validation import mask_phone
from sync_server.models import Matter, PointsEntry, User
from tests.factories import TinyGrid
from tests.photos import noisy_jpeg
from tests.sync_server.matter_helpers import (
    GRID,
    OTHER_GRID,
    PHOTO,
    MatterWorld,
    a_resident_of,
    category_points,
    matter_device,
    report,
    step,
)
from tests.sync_server.wire_device import WireDevice


def codes(results: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(r["status"], r.get("code")) for r in results]


def ledger(session_factory: sessionmaker[Session]) -> list[tuple[str, str, int]]:
    with session_factory() as session:
        return sorted(
            (user, kind, amount)
            for user, kind, amount in session.execute(
                select(PointsEntry.user_id, PointsEntry.kind, PointsEntry.amount)
            )
        )


def user_id(session_factory: sessionmaker[Session], username: str) -> str:
    with session_factory() as session:
        found = session.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return found


def reported(
    client: TestClient, tiny: TinyGrid, **values: Any
) -> tuple[WireDevice, WireDevice, str]:
    """w11 reports a matter in their grid; s1 (their community's supervisor) has pulled it."""
    worker, supervisor = matter_device(client, "w11"), matter_device(client, "s1")
    op = report(worker, tiny.nodes[GRID].id, **values)
    assert codes(worker.push([op])) == [("applied", None)]
    supervisor.pull(matters=True)
    return worker, supervisor, op["record_id"]


def test_categories_reach_every_device_that_stores_matters_and_no_other(
    client: TestClient, tiny: TinyGrid, world: MatterWorld
) -> None:
    worker = matter_device(client, "w11")
    names = {r["values"]["name"] for r in worker.of("matter_category").values()}
    assert names == {"环境卫生", "安全隐患", "设施维修", "矛盾纠纷", "民生诉求", "商户检查"}
    assert {r["values"]["name"] for r in worker.of("org").values()} == {
        "城关水务站",
        "电信西门营业部",
        "西门志愿服务队",
    }
    old_app = WireDevice(client, "w11")
    old_app.pull()
    assert not old_app.of("matter_category") and not old_app.of("org")


def test_a_worker_reports_a_matter_the_server_keeps_its_state_and_due_time(
    client: TestClient, tiny: TinyGrid, world: MatterWorld
) -> None:
    worker, supervisor, matter_id = reported(client, tiny)
    worker.pull(matters=True)
    values = worker.of("matter")[matter_id]["values"]
    assert values["state"] == "reported" and values["state_by"] == worker.user_id
    assert values["due_at"] > values["reported_at"]  # 72 hours on (环境卫生)
    assert values["photos"] == [PHOTO]
    assert matter_id in supervisor.of("matter")
    # Another grid's worker and another community's supervisor never receive it.
    for other in ("w12", "s2"):
        assert matter_id not in matter_device(client, other).of("matter")


def test_a_matter_naming_a_resident_carries_their_name_and_masked_phone(
    client: TestClient, tiny: TinyGrid, world: MatterWorld, session_factory: sessionmaker[Session]
) -> None:
    person = a_resident_of(session_factory, tiny, GRID)
    worker, _supervisor, matter_id = reported(client, tiny, resident_id=person.id)
    worker.pull(matters=True)
    values = worker.of("matter")[matter_id]["values"]
    assert values["resident_name"] == person.name
    assert person.phone is not None
    assert values["resident_phone_masked"] == mask_phone(person.phone)
    assert person.phone not in str(values) and person.id_number not in str(values)


def test_hostile_matter_pushes_are_refused(
    client: TestClient, tiny: TinyGrid, world: MatterWorld
) -> None:
    worker = matter_device(client, "w11")
    handler = matter_device(client, "h1")
    other_building = tiny.houses[OTHER_GRID][0].building_id
    results = worker.push(
        [
            report(worker, tiny.nodes[OTHER_GRID].id),
            report(worker, tiny.nodes["T1-1-1-1"].id),  # a community, not a level-5 grid
            report(worker, tiny.nodes[GRID].id, category_id="no-such-category"),
            report(worker, tiny.nodes[GRID].id, building_id=other_building),
            report(worker, tiny.nodes[GRID].id, state="closed"),
            report(worker, tiny.nodes[GRID].id, rating=5),
            report(worker, tiny.nodes[GRID].id, photos=["not-a-photo"]),
            report(worker, tiny.nodes[GRID].id, source="rumour"),
        ]
    )
    assert codes(results) == [
        ("rejected", "out_of_scope"),
        ("rejected", "grid_level"),
        ("rejected", "unknown_reference"),
        ("rejected", "unknown_reference"),
        ("rejected", "not_device_writable"),
        ("rejected", "not_device_writable"),
        ("rejected", "photo_hash"),
        ("rejected", "choice"),
    ]
    # A handler reports nothing, and touches no grid's records.
    house = tiny.houses[GRID][0]
    assert codes(
        handler.push(
            [
                report(handler, tiny.nodes[GRID].id),
                handler.op("house", house.id, "update", {"room": (house.room, "x")}, 1),
            ]
        )
    ) == [("rejected", "not_allowed"), ("rejected", "not_allowed")]


def test_a_matter_is_edited_only_while_reported_and_never_deleted_nor_its_steps_changed(
    client: TestClient, tiny: TinyGrid, world: MatterWorld
) -> None:
    worker, supervisor, matter_id = reported(client, tiny)
    worker.pull(matters=True)
    assert codes(worker.push([worker.edit("matter", matter_id, urgency="urgent")])) == [
        ("applied", None)
    ]
    worker.pull(matters=True)
    assert codes(worker.push([worker.edit("matter", matter_id, source="inspection")])) == [
        ("rejected", "matter_not_editable")
    ]
    accept = step(supervisor, matter_id, "accept", "reported")
    assert codes(supervisor.push([accept])) == [("applied", None)]
    worker.pull(matters=True)
    late = worker.edit("matter", matter_id, description="改一下")
    # Nor through a create sent again with other values.
    again = worker.op(
        "matter",
        matter_id,
        "create",
        {"description": (None, "改一下"), "urgency": (None, "urgent")},
    )
    gone = worker.op("matter", matter_id, "delete", {})
    changed = supervisor.op(
        "matter_step", accept["record_id"], "update", {"reason": ("", "x")}, base_version=1
    )
    assert codes(worker.push([late, again, gone])) == [
        ("rejected", "matter_not_editable"),
        ("rejected", "matter_not_editable"),
        ("rejected", "not_device_deletable"),
    ]
    assert codes(supervisor.push([changed])) == [("rejected", "append_only")]


def test_the_whole_loop_with_a_competing_claim_a_send_back_and_points_credited_once(
    client: TestClient,
    tiny: TinyGrid,
    world: MatterWorld,
    session_factory: sessionmaker[Session],
) -> None:
    worker, supervisor, matter_id = reported(client, tiny)
    h1, h4, h3 = (
        matter_device(client, "h1"),
        matter_device(client, "h4"),
        matter_device(client, "h3"),
    )
    assert matter_id not in h1.of("matter")  # not published yet
    assert codes(
        supervisor.push(
            [
                step(supervisor, matter_id, "accept", "reported"),
                step(supervisor, matter_id, "publish", "accepted"),
            ]
        )
    ) == [("applied", None), ("applied", None)]
    for handler in (h1, h4, h3):
        handler.pull(matters=True)
    assert matter_id in h1.of("matter") and matter_id in h4.of("matter")
    assert matter_id not in h3.of("matter")  # another community's claim list
    assert not h1.of("resident") and not h1.of("house") and not h1.of("building")

    # Both claim offline; the first to sync wins, the second is told who and when.
    first, second = (
        step(h1, matter_id, "claim", "published"),
        step(h4, matter_id, "claim", "published"),
    )
    assert codes(h1.push([first])) == [("applied", None)]
    [lost] = h4.push([second])
    assert (lost["status"], lost["code"]) == ("rejected", "stale_transition")
    assert "Claimed" in lost["reason"] and f"h1 ({h1.user_id})" in lost["reason"]
    h4.pull(matters=True)
    assert matter_id not in h4.of("matter")  # no longer on their claim list
    # h1's colleague sees their organisation's order, taken by h1.
    h2 = matter_device(client, "h2")
    assert h2.of("matter")[matter_id]["values"]["assignee_user_id"] == h1.user_id
    h1.pull(matters=True)
    assert h1.of("matter")[matter_id]["values"]["assignee_user_id"] == h1.user_id

    assert codes(
        h1.push(
            [
                step(h1, matter_id, "start", "claimed"),
                step(h1, matter_id, "apply_close", "handling", photos=[PHOTO], reason="已疏通"),
            ]
        )
    ) == [("applied", None), ("applied", None)]
    supervisor.pull(matters=True)
    assert codes(
        supervisor.push([step(supervisor, matter_id, "send_back", "closing", reason="照片看不清")])
    ) == [("applied", None)]
    assert codes(
        h1.push([step(h1, matter_id, "apply_close", "handling", photos=[PHOTO], reason="补拍")])
    ) == [("applied", None)]
    assert ledger(session_factory) == []
    verify = step(supervisor, matter_id, "verify_close", "closing")
    assert codes(supervisor.push([verify])) == [("applied", None)]
    # A retried push of the same step answers the same and credits nothing more.
    assert codes(supervisor.push([verify])) == [("applied", None)]
    base, bonus = category_points(session_factory)
    assert ledger(session_factory) == [(h1.user_id, "base", base)]

    worker.pull(matters=True)
    assert worker.of("matter")[matter_id]["values"]["state"] == "closed"
    rate = step(worker, matter_id, "rate", "closed", rating=5, comment="很及时")
    assert codes(worker.push([rate])) == [("applied", None)]
    again = step(worker, matter_id, "rate", "closed", rating=4)
    assert codes(worker.push([again])) == [("rejected", "invalid")]
    assert ledger(session_factory) == sorted(
        [(h1.user_id, "base", base), (h1.user_id, "bonus", bonus)]
    )
    # Every device in scope has the whole timeline.
    supervisor.pull(matters=True)
    steps = [
        s["values"]["action"]
        for s in supervisor.of("matter_step").values()
        if s["values"]["matter_id"] == matter_id
    ]
    assert sorted(steps) == sorted(
        [
            "accept",
            "publish",
            "claim",
            "start",
            "apply_close",
            "send_back",
            "apply_close",
            "verify_close",
            "rate",
        ]
    )


def test_a_second_verification_is_stale_and_credits_nothing(
    client: TestClient,
    tiny: TinyGrid,
    world: MatterWorld,
    session_factory: sessionmaker[Session],
) -> None:
    _worker, supervisor, matter_id = reported(client, tiny)
    admin = matter_device(client, "admin")
    h1 = matter_device(client, "h1")
    supervisor.push(
        [
            step(supervisor, matter_id, "accept", "reported"),
            step(supervisor, matter_id, "dispatch", "accepted", org_id=world.water_org),
        ]
    )
    h1.pull(matters=True)
    assert matter_id in h1.of("matter")  # dispatched to their organisation
    h1.push(
        [
            step(h1, matter_id, "take", "dispatched"),
            step(h1, matter_id, "apply_close", "claimed", photos=[PHOTO], reason="已修复"),
        ]
    )
    # Both verify from the same "closing" they saw; the second arrives after the first.
    mine, theirs = (
        step(supervisor, matter_id, "verify_close", "closing"),
        step(admin, matter_id, "verify_close", "closing"),
    )
    assert codes(supervisor.push([mine])) == [("applied", None)]
    assert codes(admin.push([theirs])) == [("rejected", "stale_transition")]
    base, _bonus = category_points(session_factory)
    assert ledger(session_factory) == [(h1.user_id, "base", base)]


def test_dispatch_take_and_the_assignee_rules(
    client: TestClient,
    tiny: TinyGrid,
    world: MatterWorld,
    session_factory: sessionmaker[Session],
) -> None:
    worker, supervisor, matter_id = reported(client, tiny)
    h1, h3 = matter_device(client, "h1"), matter_device(client, "h3")
    results = supervisor.push(
        [
            step(supervisor, matter_id, "accept", "reported"),
            step(supervisor, matter_id, "dispatch", "accepted", user_id="no-such-user"),
            step(supervisor, matter_id, "dispatch", "accepted", org_id="no-such-org"),
            step(supervisor, matter_id, "dispatch", "accepted"),
            step(supervisor, matter_id, "dispatch", "accepted", user_id=h3.user_id),
        ]
    )
    assert codes(results) == [
        ("applied", None),
        ("rejected", "unknown_reference"),
        ("rejected", "unknown_reference"),
        ("rejected", "invalid"),
        ("applied", None),
    ]
    h1.pull(matters=True)
    h3.pull(matters=True)
    # Dispatched to h3 by name, across communities: only h3 sees and takes it, with its
    # timeline from the report on.
    assert matter_id not in h1.of("matter") and matter_id in h3.of("matter")
    assert sorted(s["values"]["action"] for s in h3.of("matter_step").values()) == [
        "accept",
        "dispatch",
    ]
    assert not h1.of("matter_step")
    assert codes(h1.push([step(h1, matter_id, "take", "dispatched")])) == [
        ("rejected", "not_allowed")
    ]
    assert codes(worker.push([step(worker, matter_id, "accept", "dispatched")])) == [
        ("rejected", "not_allowed")
    ]
    assert codes(h3.push([step(h3, matter_id, "take", "dispatched")])) == [("applied", None)]
    # A step without its photo or note is refused; the assignee's complete one applies.
    assert codes(h3.push([step(h3, matter_id, "apply_close", "claimed", reason="好了")])) == [
        ("rejected", "invalid")
    ]
    with session_factory() as session:
        matter = session.get_one(Matter, matter_id)
        assert (matter.state, matter.assignee_user_id) == ("claimed", h3.user_id)
        assert matter.state_by == h3.user_id


def test_a_rating_after_the_window_keeps_the_base_only(
    client: TestClient,
    tiny: TinyGrid,
    world: MatterWorld,
    session_factory: sessionmaker[Session],
    clock: MovableClock,
) -> None:
    worker, supervisor, matter_id = reported(client, tiny)
    h1 = matter_device(client, "h1")
    supervisor.push(
        [
            step(supervisor, matter_id, "accept", "reported"),
            step(supervisor, matter_id, "dispatch", "accepted", user_id=h1.user_id),
        ]
    )
    h1.push(
        [
            step(h1, matter_id, "take", "dispatched"),
            step(h1, matter_id, "apply_close", "claimed", photos=[PHOTO], reason="完成"),
        ]
    )
    supervisor.push([step(supervisor, matter_id, "verify_close", "closing")])
    clock.advance(timedelta(days=8))  # the window is 7 days (Settings)
    assert codes(worker.push([step(worker, matter_id, "rate", "closed", rating=5)])) == [
        ("applied", None)
    ]
    base, _bonus = category_points(session_factory)
    assert ledger(session_factory) == [(h1.user_id, "base", base)]


def test_a_photo_is_visible_to_whoever_may_see_a_matter_or_step_naming_it(
    client: TestClient,
    tiny: TinyGrid,
    world: MatterWorld,
    session_factory: sessionmaker[Session],
) -> None:
    from sync_server.queries.matter_photos import photo_visible
    from sync_server.services.auth import Caller

    _worker, supervisor, matter_id = reported(client, tiny)
    h1 = matter_device(client, "h1")
    after = "fedcba9876543210" * 4
    supervisor.push(
        [
            step(supervisor, matter_id, "accept", "reported"),
            step(supervisor, matter_id, "dispatch", "accepted", user_id=h1.user_id),
        ]
    )
    h1.push(
        [
            step(h1, matter_id, "take", "dispatched"),
            step(h1, matter_id, "apply_close", "claimed", photos=[after], reason="完成"),
        ]
    )

    def sees(username: str, sha256: str) -> bool:
        with session_factory() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            return photo_visible(session=session, caller=Caller(user, None), sha256=sha256)

    for who in ("w11", "s1", "admin", "h1"):
        assert sees(who, PHOTO) and sees(who, after), who
    for who in ("w12", "s2", "h3", "h4"):
        assert not sees(who, PHOTO) and not sees(who, after), who
    assert not sees("admin", "ab" * 32)  # named by no matter
    assert not sees("admin", '%"')  # not a digest


def test_hostile_steps_are_refused(client: TestClient, tiny: TinyGrid, world: MatterWorld) -> None:
    worker, supervisor, matter_id = reported(client, tiny)
    outsider, other_supervisor, h3 = (
        matter_device(client, "w21"),
        matter_device(client, "s2"),
        matter_device(client, "h3"),
    )
    assert codes(supervisor.push([step(supervisor, matter_id, "accept", "reported")])) == [
        ("applied", None)
    ]
    assert codes(
        other_supervisor.push(
            [
                step(other_supervisor, matter_id, "publish", "accepted"),  # not their grid
                step(other_supervisor, "no-such-matter", "accept", "reported"),
                step(other_supervisor, matter_id, "teleport", "accepted"),
            ]
        )
    ) == [("rejected", "not_allowed"), ("rejected", "unknown_reference"), ("rejected", "choice")]
    supervisor.push([step(supervisor, matter_id, "publish", "accepted")])
    # Another community's handler, and a worker of another grid, may not touch it.
    assert codes(h3.push([step(h3, matter_id, "claim", "published")])) == [
        ("rejected", "not_allowed")
    ]
    assert codes(outsider.push([step(outsider, matter_id, "claim", "published")])) == [
        ("rejected", "not_allowed")
    ]
    # A step pushed in another's name is refused before anything else.
    forged = step(worker, matter_id, "claim", "published")
    forged["user_id"] = h3.user_id
    assert codes(worker.push([forged])) == [("rejected", "wrong_author")]


def test_an_app_that_starts_storing_matters_gets_them_without_downloading_its_grid_again(
    client: TestClient, tiny: TinyGrid, world: MatterWorld
) -> None:
    _worker, _supervisor, matter_id = reported(client, tiny)
    updated = WireDevice(client, "w11")
    updated.pull(campaigns=True)
    residents = len(updated.of("resident"))
    assert residents and not updated.of("matter")
    pages = updated.pull(campaigns=True, matters=True)
    sent = {r["entity"] for page in pages for r in page["records"]}
    assert sent == {"org", "matter_category", "matter"}  # (no step yet)
    assert matter_id in updated.of("matter") and len(updated.of("resident")) == residents


def test_a_photo_on_a_matter_is_fetched_by_who_may_see_the_matter_and_nobody_else(
    client: TestClient, tiny: TinyGrid, world: MatterWorld
) -> None:
    """The photo routes ask the matters' rule: the community's supervisor opens the photo a
    worker took at the door; a worker of another grid is refused."""
    worker = matter_device(client, "w11")
    data = noisy_jpeg(7)
    sha = hashlib.sha256(data).hexdigest()
    url = f"/api/v1/photos/{sha}"
    put = client.patch(
        url,
        content=data,
        headers={**worker.headers, "Upload-Offset": "0", "Upload-Length": str(len(data))},
    )
    assert put.status_code == 204, put.text
    supervisor, stranger = matter_device(client, "s1"), matter_device(client, "w12")
    assert client.get(url, headers=supervisor.headers).status_code == 403, "no matter names it yet"
    op = report(worker, tiny.nodes[GRID].id, photos=[sha])
    assert codes(worker.push([op])) == [("applied", None)]
    fetched = client.get(url, headers=supervisor.headers)
    assert fetched.status_code == 200 and fetched.content == data
    assert client.get(f"{url}/thumb", headers=supervisor.headers).status_code == 200
    assert client.get(url, headers=stranger.headers).status_code == 403


def test_the_pull_names_who_moved_a_matter_and_whom_a_supervisor_may_dispatch_to(
    client: TestClient, tiny: TinyGrid, world: MatterWorld
) -> None:
    worker, supervisor, matter_id = reported(client, tiny)
    pages = supervisor.pull(matters=True)
    assert all(p["people"] is None for p in pages[:-1])
    people = {p["name"]: p for p in pages[-1]["people"]}
    community = tiny.nodes["T1-1-1-1"].id
    # s1's community: its workers, and the handlers of the units serving it (h3's unit serves
    # the other community, w21 works there): the console's dispatch list, offline.
    dispatchable = {n for n, p in people.items() if p["communities"]}
    assert {"w11", "h1", "h2", "h4"} <= dispatchable
    assert not {"h3", "w21"} & set(people)
    assert people["h1"]["communities"] == [community]
    assert people["h1"]["org_id"] == world.water_org and people["h1"]["role"] == "handler"
    # A name, a role and a unit: nothing else about a person travels.
    assert set(people["h1"]) == {"id", "name", "role", "org_id", "communities"}

    # A worker's directory names whoever moved their matters, and offers nobody to dispatch to.
    assert codes(
        supervisor.push(
            [
                step(supervisor, matter_id, "accept", "reported"),
                step(supervisor, matter_id, "dispatch", "accepted", user_id=people["h1"]["id"]),
            ]
        )
    ) == [("applied", None), ("applied", None)]
    named = {p["name"]: p for p in worker.pull(matters=True)[-1]["people"]}
    assert {"s1", "h1", "w11"} <= set(named)
    assert all(not p["communities"] for p in named.values())
    assert not {"h2", "h3", "h4"} & set(named)
