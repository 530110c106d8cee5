"""Matters in the console: the board by state with its filters, a matter's page with its
timeline and photos, and the steps a supervisor takes there reaching the phones through the
same path a pushed step takes (points credited, stale steps refused and told)."""

from __future__ import annotations

import hashlib
import io
import re
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import Matter, PointsEntry, User
from tests.factories import TinyGrid
from tests.photos import noisy_jpeg
from tests.sync_server.console.conftest import Console, OpenConsole
from tests.sync_server.matter_helpers import (
    GRID,
    OTHER_GRID,
    MatterWorld,
    a_resident_of,
    category_points,
    matter_device,
    report,
    step,
)


def reported(api: TestClient, tiny: TinyGrid, grid: str = GRID, **values: Any) -> str:
    worker = matter_device(api, "w11" if grid == GRID else "w21")
    op = report(worker, tiny.nodes[grid].id, **values)
    [result] = worker.push([op])
    assert result["status"] == "applied", result
    return str(op["record_id"])


def board_ids(html: str) -> set[str]:
    return set(re.findall(r'class="matter-row" data-id="([0-9a-f-]{36})"', html))


def state_of(html: str) -> str:
    found = re.search(r'id="matter-state" data-state="(\w+)"', html)
    assert found is not None, html
    return found.group(1)


def test_the_board_shows_the_supervisors_matters_by_state_in_both_languages(
    api: TestClient, tiny: TinyGrid, world: MatterWorld, browser: OpenConsole
) -> None:
    mine = reported(api, tiny, description="污水井冒水")
    theirs = reported(api, tiny, OTHER_GRID, description="电动车飞线充电")
    supervisor = browser("s1")
    page = supervisor.get("/console/matters")
    assert page.status_code == 200, page.text
    # s1 runs community T1-1-1-1: the matter of T1-1-1-2 is not theirs to see.
    assert board_ids(page.text) == {mine}
    assert "污水井冒水" in page.text and "已上报 (1)" in page.text
    supervisor.get("/console/lang/en?next=/console/matters")
    english = supervisor.get("/console/matters").text
    assert "Reported (1)" in english and "Found at the door" in english
    page = supervisor.get(f"/console/matters/{mine}").text
    assert "Timeline" in page and ">Accept</button>" in page and ">Decline</button>" in page
    admin = browser("admin")
    assert board_ids(admin.get("/console/matters").text) == {mine, theirs}
    # Another supervisor's matter is "not found", as any other record outside one's grids.
    assert supervisor.get(f"/console/matters/{theirs}").status_code == 404


@pytest.mark.parametrize("username", ["w11", "h1"])
def test_workers_and_handlers_cannot_open_the_matters_console(
    api: TestClient, tiny: TinyGrid, world: MatterWorld, browser: OpenConsole, username: str
) -> None:
    matter = reported(api, tiny)
    someone = browser()
    response = someone.login(username)
    assert response.status_code == 403 and "手机应用" in response.text
    assert "set-cookie" not in response.headers
    for url in ("/console/matters", f"/console/matters/{matter}"):
        refused = someone.get(url, follow_redirects=False)
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/console/login")


def test_the_board_filters_by_grid_category_source_state_and_overdue(
    api: TestClient,
    tiny: TinyGrid,
    world: MatterWorld,
    browser: OpenConsole,
    session_factory: sessionmaker[Session],
) -> None:
    door = reported(api, tiny)
    order = reported(api, tiny, source="resident_order")
    other = reported(api, tiny, OTHER_GRID)
    admin = browser("admin")
    assert board_ids(admin.get("/console/matters?source=resident_order").text) == {order}
    community = tiny.nodes["T1-1-1-2"].id
    assert board_ids(admin.get(f"/console/matters?node={community}").text) == {other}
    assert board_ids(admin.get("/console/matters?category=none").text) == set()
    assert board_ids(admin.get("/console/matters?state=accepted").text) == set()
    assert board_ids(admin.get("/console/matters?overdue=1").text) == set()
    with session_factory() as session, session.begin():
        overdue = session.get_one(Matter, door)
        overdue.due_at = overdue.reported_at.replace(year=overdue.reported_at.year - 1)
    page = admin.get("/console/matters?overdue=1").text
    assert board_ids(page) == {door} and "超期" in page


def test_accept_dispatch_and_verify_from_the_console_reach_the_phones(
    api: TestClient,
    tiny: TinyGrid,
    world: MatterWorld,
    browser: OpenConsole,
    session_factory: sessionmaker[Session],
) -> None:
    data = noisy_jpeg(3)
    sha = hashlib.sha256(data).hexdigest()
    worker = matter_device(api, "w11")
    put = api.patch(
        f"/api/v1/photos/{sha}",
        content=data,
        headers={**worker.headers, "Upload-Offset": "0", "Upload-Length": str(len(data))},
    )
    assert put.status_code == 204, put.text
    matter = reported(api, tiny, photos=[sha])
    supervisor = browser("s1")
    page = supervisor.get(f"/console/matters/{matter}").text
    assert 'id="step-accept"' in page and 'id="step-decline"' in page
    assert f'src="/console/photos/{sha}/thumb"' in page
    thumb = supervisor.get(f"/console/photos/{sha}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert supervisor.get(f"/console/photos/{sha}").content == data

    accepted = supervisor.post(
        f"/console/matters/{matter}/steps", {"action": "accept", "from_state": "reported"}
    )
    assert accepted.status_code == 303, accepted.text
    page = supervisor.get(f"/console/matters/{matter}").text
    assert state_of(page) == "accepted" and 'id="step-dispatch"' in page
    dispatched = supervisor.post(
        f"/console/matters/{matter}/steps",
        {"action": "dispatch", "from_state": "accepted", "target": f"org:{world.water_org}"},
    )
    assert dispatched.status_code == 303, dispatched.text

    # The water station's handler finds the order on their phone, takes it and closes it.
    handler = matter_device(api, "h1")
    assert handler.of("matter")[matter]["values"]["state"] == "dispatched"
    assert {s["values"]["action"] for s in handler.of("matter_step").values()} == {
        "accept",
        "dispatch",
    }
    results = handler.push([step(handler, matter, "take", "dispatched")])
    assert [r["status"] for r in results] == ["applied"]
    after_photo = noisy_jpeg(5)
    after_sha = hashlib.sha256(after_photo).hexdigest()
    results = handler.push(
        [step(handler, matter, "apply_close", "claimed", reason="已疏通", photos=[after_sha])]
    )
    assert [r["status"] for r in results] == ["applied"], results

    page = supervisor.get(f"/console/matters/{matter}").text
    assert state_of(page) == "closing" and "已疏通" in page
    # The phone sends its photo after the step: until then the page says so.
    after = page.split('id="photos-after"')[1].split("</section>")[0]
    assert "照片尚未上传" in after and after_sha not in after
    put = api.patch(
        f"/api/v1/photos/{after_sha}",
        content=after_photo,
        headers={**handler.headers, "Upload-Offset": "0", "Upload-Length": str(len(after_photo))},
    )
    assert put.status_code == 204, put.text
    page = supervisor.get(f"/console/matters/{matter}").text
    before, after = page.split('id="photos-before"')[1].split('id="photos-after"')
    assert sha in before and f'src="/console/photos/{after_sha}/thumb"' in after
    verified = supervisor.post(
        f"/console/matters/{matter}/steps", {"action": "verify_close", "from_state": "closing"}
    )
    assert verified.status_code == 303, verified.text
    page = supervisor.get(f"/console/matters/{matter}").text
    assert state_of(page) == "closed"
    assert re.findall(r'<li data-action="(\w+)"', page) == [
        "accept",
        "dispatch",
        "take",
        "apply_close",
        "verify_close",
    ]
    # The phones learn it by pulling; the handler is credited the category's base points once.
    handler.pull(matters=True)
    worker.pull(matters=True)
    assert handler.of("matter")[matter]["values"]["state"] == "closed"
    assert worker.of("matter")[matter]["values"]["state"] == "closed"
    base, _ = category_points(session_factory)
    with session_factory() as session:
        credits = session.execute(select(PointsEntry.kind, PointsEntry.amount)).all()
    assert [tuple(c) for c in credits] == [("base", base)]


def test_a_step_someone_else_took_first_is_refused_with_a_clear_message(
    api: TestClient, tiny: TinyGrid, world: MatterWorld, browser: OpenConsole
) -> None:
    matter = reported(api, tiny)
    supervisor, admin = browser("s1"), browser("admin")
    # Both open the matter while it is reported; the admin declines it first.
    declined = admin.post(
        f"/console/matters/{matter}/steps",
        {"action": "decline", "from_state": "reported", "reason": "重复上报"},
    )
    assert declined.status_code == 303, declined.text
    late = supervisor.post(
        f"/console/matters/{matter}/steps", {"action": "accept", "from_state": "reported"}
    )
    assert late.status_code == 409
    assert 'data-code="stale_transition"' in late.text
    admin_name = admin_display_name(api)
    # Who moved it by name, when in China time, to what: from the one refusal catalogue.
    why = refusal_shown(late.text)
    assert re.fullmatch(
        rf"事项已不是“已上报”：{admin_name}已于 \d+月\d+日 \d\d:\d\d 将其改为“不予受理”", why
    ), why
    assert "其他人已先处理了该事项" in late.text
    assert state_of(late.text) == "declined"
    assert 'id="step-accept"' not in late.text  # nothing left to do on a declined matter
    supervisor.get("/console/lang/en?next=/console/matters")
    english = supervisor.post(
        f"/console/matters/{matter}/steps", {"action": "accept", "from_state": "reported"}
    )
    assert english.status_code == 409
    why = refusal_shown(english.text)
    assert re.fullmatch(
        rf"The matter is no longer Reported: {admin_name} made it Declined on \d+ \w+ \d\d:\d\d\.",
        why,
    ), why


def admin_display_name(api: TestClient) -> str:
    with api.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        return admin.display_name or admin.username


def refusal_shown(html: str) -> str:
    found = re.search(r'<span id="step-refused-why">([^<]*)</span>', html)
    assert found is not None, html[:2000]
    return unescape(found.group(1))


def test_a_decline_without_a_reason_is_refused_and_changes_nothing(
    api: TestClient, tiny: TinyGrid, world: MatterWorld, browser: OpenConsole
) -> None:
    matter = reported(api, tiny)
    supervisor = browser("s1")
    refused = supervisor.post(
        f"/console/matters/{matter}/steps", {"action": "decline", "from_state": "reported"}
    )
    assert refused.status_code == 409 and 'data-code="invalid"' in refused.text
    assert refusal_shown(refused.text) == "执行“不予受理”须填写原因"
    assert state_of(supervisor.get(f"/console/matters/{matter}").text) == "reported"


def test_a_photo_of_a_matter_outside_the_scope_is_refused_in_the_console(
    api: TestClient, tiny: TinyGrid, world: MatterWorld, browser: OpenConsole
) -> None:
    data = noisy_jpeg(9)
    sha = hashlib.sha256(data).hexdigest()
    worker = matter_device(api, "w21")
    api.patch(
        f"/api/v1/photos/{sha}",
        content=data,
        headers={**worker.headers, "Upload-Offset": "0", "Upload-Length": str(len(data))},
    )
    reported(api, tiny, OTHER_GRID, photos=[sha])
    assert browser("s1").get(f"/console/photos/{sha}/thumb").status_code == 403
    assert browser("s2").get(f"/console/photos/{sha}/thumb").status_code == 200


def count_row(html: str, node_id: str) -> list[str]:
    """A counts row's figures: reported, open, overdue, closed on time, average rating."""
    found = re.search(rf'data-node="{node_id}">(.*?)</tr>', html, re.S)
    assert found is not None, html
    cells = re.findall(r'<td class="n[^"]*">(.*?)</td>', found.group(1), re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


def test_counts_at_every_grid_level_drill_down_to_the_grids(
    api: TestClient,
    tiny: TinyGrid,
    world: MatterWorld,
    browser: OpenConsole,
    session_factory: sessionmaker[Session],
) -> None:
    late, closed, _ = reported(api, tiny), reported(api, tiny), reported(api, tiny)
    reported(api, tiny, OTHER_GRID)
    with session_factory() as session, session.begin():
        matter = session.get_one(Matter, late)
        matter.due_at = matter.reported_at.replace(year=matter.reported_at.year - 1)
        done = session.get_one(Matter, closed)
        done.state, done.closed_at, done.rating = "closed", done.reported_at, 4
    admin = browser("admin")
    district = admin.get("/console/matters/counts").text
    # Four reported in the district; three open, one of them overdue; one closed on time, rated 4.
    assert count_row(district, tiny.nodes["T1"].id) == ["4", "3", "1", "1", "4.0"]
    street = admin.get(f"/console/matters/counts?node={tiny.nodes['T1-1-1'].id}").text
    assert count_row(street, tiny.nodes["T1-1-1-1"].id) == ["3", "2", "1", "1", "4.0"]
    assert count_row(street, tiny.nodes["T1-1-1-2"].id) == ["1", "1", "0", "0", "—"]
    assert f"/console/matters/counts?node={tiny.nodes['T1-1-1-1'].id}" in street  # drill down
    # A supervisor starts at their community and sees nothing of the other one.
    own = browser("s1").get("/console/matters/counts").text
    assert count_row(own, tiny.nodes["T1-1-1-1"].id) == ["3", "2", "1", "1", "4.0"]
    assert tiny.nodes["T1-1-1-2"].id not in own
    assert (
        browser("s1").get(f"/console/matters/counts?node={tiny.nodes['T1'].id}").status_code == 404
    )
    # The overdue list is the board's overdue filter: the late one, linked from its count.
    assert board_ids(admin.get("/console/matters?overdue=1").text) == {late}


def exported(console: Console, query: str = "") -> list[list[Any]]:
    response = console.get(f"/console/matters/export.xlsx{query}")
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_export_holds_the_filtered_board_with_timelines_masked_by_role(
    api: TestClient,
    tiny: TinyGrid,
    world: MatterWorld,
    browser: OpenConsole,
    session_factory: sessionmaker[Session],
) -> None:
    resident = a_resident_of(session_factory, tiny, GRID)
    id_number = resident.id_number
    matter = reported(
        api, tiny, resident_id=resident.id, description=f"居民{id_number}反映污水井冒水"
    )
    reported(api, tiny, source="resident_order")
    supervisor = browser("s1")
    supervisor.post(
        f"/console/matters/{matter}/steps", {"action": "accept", "from_state": "reported"}
    )
    supervisor.post(
        f"/console/matters/{matter}/steps",
        {"action": "dispatch", "from_state": "accepted", "target": f"org:{world.water_org}"},
    )
    header, *rows = exported(supervisor, "?source=door")
    assert header == [
        "网格编码", "网格", "类别", "事项描述", "地点", "来源", "紧急程度", "状态", "上报时间",
        "办结时限", "超期", "承办", "居民", "居民电话", "代报人", "结案时间", "评价", "办理过程",
    ]  # fmt: skip
    [row] = rows  # the resident's request is filtered out
    values = dict(zip(header, row, strict=True))
    assert values["网格编码"] == GRID and values["状态"] == "已派单"
    assert values["承办"] == "城关水务站" and values["居民"] == resident.name
    timeline = str(values["办理过程"]).split("\n")
    assert [line.split(" ")[2] for line in timeline] == ["立案", "派单"]
    assert "派给：城关水务站" in timeline[1]
    # A supervisor never gets an ID number or a phone whole; an admin does.
    assert resident.phone and id_number not in str(values["事项描述"])
    assert resident.phone not in str(row)
    admin_values = dict(zip(header, exported(browser("admin"), "?source=door")[1], strict=True))
    assert id_number in str(admin_values["事项描述"])
    assert admin_values["居民电话"] == resident.phone


def test_the_dispatch_form_names_only_the_matters_community_and_console_steps_show_in_history(
    api: TestClient, tiny: TinyGrid, world: MatterWorld, browser: OpenConsole
) -> None:
    matter = reported(api, tiny)
    supervisor = browser("s1")
    supervisor.post(
        f"/console/matters/{matter}/steps", {"action": "accept", "from_state": "reported"}
    )
    form = supervisor.get(f"/console/matters/{matter}").text.split('id="step-dispatch"')[1]
    form = form.split("</form>")[0]
    assert f"org:{world.water_org}" in form and f"org:{world.volunteers_org}" in form
    assert "w11" in form and "h1" in form and "h4" in form
    # The other community's organisation, handler and workers are nobody this page names.
    assert world.telecom_org not in form and "电信西门营业部" not in form
    assert "h3" not in form and "w21" not in form
    # The step the console took is in the changes and the review pages like a phone's.
    for page in ("/console/changes", "/console/review"):
        assert supervisor.get(page).status_code == 200
