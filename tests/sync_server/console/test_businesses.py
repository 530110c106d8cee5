"""The console's business pages: the list per grid subtree (supervisors see their subtree with
phones masked), and the admins' business types, checklist editor and business import."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import Business
from tests.factories import TinyGrid
from tests.sync_server.business_helpers import CATERING, GRID, LODGING, OTHER_GRID
from tests.sync_server.console.conftest import OpenConsole


def add_business(
    session_factory: sessionmaker[Session],
    grid_id: str,
    name: str,
    *,
    type_id: str = CATERING,
    status: str = "open",
    phone: str = "13905910001",
) -> str:
    with session_factory() as session, session.begin():
        business = Business(
            grid_id=grid_id,
            business_type_id=type_id,
            name=name,
            contact_name="王建国",
            contact_phone=phone,
            address="西大街11号",
            status=status,
        )
        session.add(business)
        session.flush()
        return business.id


def names(page: str) -> list[str]:
    return re.findall(r'<tr data-business="[^"]+">\s*<td>([^<]+)</td>', page)


def test_a_supervisor_lists_their_subtree_with_phones_masked(
    browser: OpenConsole, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    mine = tiny.nodes[GRID].id
    add_business(session_factory, mine, "老王沙县小吃", phone="13905910001")
    add_business(session_factory, mine, "海滨宾馆", type_id=LODGING, phone="13905910002")
    add_business(session_factory, mine, "停业面馆", status="suspended")
    add_business(session_factory, tiny.nodes[OTHER_GRID].id, "乙社区烧烤", phone="13905919999")

    page = browser("s1").get("/console/businesses")
    assert page.status_code == 200
    assert sorted(names(page.text)) == sorted(["老王沙县小吃", "海滨宾馆", "停业面馆"])
    assert "139****0001" in page.text and "13905910001" not in page.text
    assert "乙社区烧烤" not in page.text and "13905919999" not in page.text

    admin = browser("admin")
    everything = admin.get("/console/businesses").text
    assert "乙社区烧烤" in everything and "13905910001" in everything  # admins see phones whole
    under = admin.get("/console/businesses", params={"node": tiny.nodes[OTHER_GRID].id}).text
    assert names(under) == ["乙社区烧烤"]


def test_the_list_filters_by_type_and_status_and_pages(
    browser: OpenConsole, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    mine = tiny.nodes[GRID].id
    for n in range(101):
        add_business(session_factory, mine, f"小吃店{n:03d}")
    add_business(session_factory, mine, "海滨宾馆", type_id=LODGING)
    add_business(session_factory, mine, "停业宾馆", type_id=LODGING, status="suspended")
    console = browser("s1")

    lodging = console.get("/console/businesses", params={"type": LODGING}).text
    assert sorted(names(lodging)) == ["停业宾馆", "海滨宾馆"]
    suspended = console.get("/console/businesses", params={"type": LODGING, "status": "suspended"})
    assert names(suspended.text) == ["停业宾馆"] and "停业" in suspended.text

    first = console.get("/console/businesses", params={"type": CATERING}).text
    assert len(names(first)) == 100 and "下一页" in first
    second = console.get("/console/businesses", params={"type": CATERING, "page": 2}).text
    assert names(second) == ["小吃店100"]


def test_a_node_outside_the_supervisors_subtree_does_not_exist(
    browser: OpenConsole, tiny: TinyGrid
) -> None:
    page = browser("s1").get("/console/businesses", params={"node": tiny.nodes[OTHER_GRID].id})
    assert page.status_code == 404
    assert tiny.nodes[OTHER_GRID].code not in page.text
