"""The grid tree: scope per role, 403 outside the assignment, counts equal a brute-force count."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import Binding, GridNode, House, Resident
from tests.factories import TinyGrid
from tests.sync_server.conftest import login


def _walk(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for n in nodes:
        out.append(n)
        out.extend(_walk(n["children"]))
    return out


def test_worker_sees_only_their_grid(client: TestClient, tiny: TinyGrid) -> None:
    tree = client.get("/api/v1/grid/tree", headers=login(client, "w11")).json()
    assert [n["code"] for n in _walk(tree["roots"])] == ["T1-1-1-1-1"]


def test_supervisor_sees_their_community_subtree(client: TestClient, tiny: TinyGrid) -> None:
    tree = client.get("/api/v1/grid/tree", headers=login(client, "s2")).json()
    codes = sorted(n["code"] for n in _walk(tree["roots"]))
    assert codes == ["T1-1-1-2", "T1-1-1-2-1", "T1-1-1-2-2"]


def test_admin_sees_all_five_levels(client: TestClient, tiny: TinyGrid) -> None:
    tree = client.get("/api/v1/grid/tree", headers=login(client, "admin")).json()
    nodes = _walk(tree["roots"])
    assert len(nodes) == 3 + 2 + 4
    assert {n["level"] for n in nodes} == {1, 2, 3, 4, 5}


def test_worker_asking_for_another_grid_gets_403(client: TestClient, tiny: TinyGrid) -> None:
    headers = login(client, "w11")
    other = tiny.nodes["T1-1-1-1-2"]
    response = client.get(f"/api/v1/grid/nodes/{other.id}", headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "out_of_scope"
    parent = tiny.nodes["T1-1-1-1"]
    assert client.get(f"/api/v1/grid/nodes/{parent.id}", headers=headers).status_code == 403
    own = tiny.nodes["T1-1-1-1-1"]
    assert client.get(f"/api/v1/grid/nodes/{own.id}", headers=headers).status_code == 200


def test_unknown_node_is_404(client: TestClient, tiny: TinyGrid) -> None:
    response = client.get("/api/v1/grid/nodes/nope", headers=login(client, "admin"))
    assert response.status_code == 404


def _brute_force(session: Session, node: GridNode) -> tuple[int, int, int]:
    houses = households = residents = 0
    for house in session.scalars(select(House)):
        grid = session.get(GridNode, house.grid_id)
        assert grid is not None
        if house.deleted or not grid.path.startswith(node.path):
            continue
        houses += 1
        bound = [
            b
            for b in session.scalars(select(Binding).where(Binding.house_id == house.id))
            if b.end_date is None
            and not b.deleted
            and not session.get(Resident, b.resident_id).deleted  # type: ignore[union-attr]
        ]
        households += 1 if bound else 0
        residents += len({b.resident_id for b in bound})
    return houses, households, residents


def test_counts_at_every_level_equal_a_brute_force_count(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    # Move one resident out of a two-person house (closed binding): counts must ignore history.
    house = tiny.houses["T1-1-1-1-1"][2]
    with session_factory() as session, session.begin():
        binding = session.scalars(select(Binding).where(Binding.house_id == house.id)).first()
        assert binding is not None
        binding.end_date = binding.start_date.replace(year=2024)
    tree = client.get("/api/v1/grid/tree", headers=login(client, "admin")).json()
    with session_factory() as session:
        for node in _walk(tree["roots"]):
            expected = _brute_force(session, session.get_one(GridNode, node["id"]))
            assert (node["houses"], node["households"], node["residents"]) == expected
    root = tree["roots"][0]
    assert root["residents"] == 4 * (0 + 1 + 2) - 1
    assert root["households"] == 4 * 2


def test_a_nul_byte_in_a_path_is_a_clear_4xx(client: TestClient, tiny: TinyGrid) -> None:
    response = client.get("/api/v1/grid/nodes/ab%00cd", headers=login(client, "admin"))
    assert response.status_code in (404, 422)
    assert response.json()["code"] in ("not_found", "invalid_value")
