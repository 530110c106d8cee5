"""The data behind the authorization matrix (test_authz_matrix.py), built once per module.

Three level-5 grids take part, each with the same kinds of records so every route has something
to ask for on either side of a boundary:

    A  T1-1-1-1-1  worker w11's grid, inside supervisor s1's community (everyone's "in scope")
    S  T1-1-1-1-2  w12's grid: the worker's sibling, still inside s1's community
    B  T1-1-1-2-1  w21's grid in the other community (s2's)

Each grid holds: residents (names, ID numbers, phones, addresses), a field conflict on one of
them (the two values are distinctive names), a new resident waiting for review, a campaign on
that grid alone, a named phone, and its worker. Every string that identifies a person or a place
of one grid is one of that grid's *markers*: a refused answer must contain none of them.

The world is built in a "seeded" database that nobody keeps open, so it can be copied cheaply:
once for the cells that only read or are refused, and once for every cell whose allowed request
writes (settling a conflict, approving a review...), so no cell sees another's writes.
"""

from __future__ import annotations

import hashlib
import io
import random
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.businesses import default_type_id
from shared.clock import format_timestamp
from shared.matters import default_category_id
from shared.schema import Role
from sync_server.config import Settings
from sync_server.console.deps import csrf_token
from sync_server.db import make_engine, make_sessionmaker
from sync_server.main import create_app
from sync_server.models import Binding, ChecklistItem, Device, GridNode, House, Matter, Resident
from sync_server.services.matters import create_org
from sync_server.services.users import create_user
from tests.conftest import PG_ADMIN_URL, TEST_SECRET, _pg_url, sqlite_settings
from tests.days import RUN_CLOCK, iso
from tests.factories import PASSWORD, make_id_number, make_tiny_grid, password_hash
from tests.sync_server.wire_device import WireDevice

# The people each role is played by.
USERS = {"worker": "w11", "supervisor": "s1", "admin": "admin"}
# Which grid is "in scope" and which "out of scope" for each role. Admins see everything, so
# their "out of scope" grid is simply the one outside the others' scope: they must reach it.
IN_GRID = {"worker": "A", "supervisor": "A", "admin": "A"}
OUT_GRID = {"worker": "S", "supervisor": "B", "admin": "B"}
SIDES = {"A": ("T1-1-1-1-1", "甲"), "S": ("T1-1-1-1-2", "侧"), "B": ("T1-1-1-2-1", "乙")}
ORG_NAMES = {"A": "甲社区水务站", "B": "乙社区水务站"}
WORKERS = {"A": ("w11", "w11b"), "S": ("w12", "w12b"), "B": ("w21", "w21b")}


@dataclass
class Side:
    """One grid's records, and the strings that would betray them."""

    key: str
    code: str
    node: str
    house: str
    resident: str  # the resident with a conflict (and so a history)
    plain_resident: str  # an untouched resident, for pushes
    plain_version: int
    conflict: str
    op: str  # the pending new-resident operation
    campaign: str
    device: str
    user: str
    username: str
    second_worker: str
    markers: dict[str, set[str]] = field(default_factory=dict)
    # role -> a photo (sha256) "of this side" for that role: on the side in everyone's scope,
    # one each role uploaded itself; elsewhere one the side's worker uploaded ("*"). Until
    # matters name photos, a photo is in scope for its uploader (and admins).
    photos: dict[str, str] = field(default_factory=dict)
    # role -> a matter the side's worker reported, naming the side's photos: on the side in
    # everyone's scope one per role (each role's steps move its own), elsewhere one ("*").
    matters: dict[str, str] = field(default_factory=dict)
    # the unit serving the side's community: its claim list holds an order of the side's
    # (published, named like the side's matters), and its name is one of the side's markers
    org: str = ""

    def matter(self, role: str) -> str:
        return self.matters[role] if role in self.matters else self.matters["*"]

    def photo(self, role: str) -> str:
        return self.photos[role] if role in self.photos else self.photos["*"]

    def all_markers(self) -> set[str]:
        return {m for group in self.markers.values() for m in group}


@dataclass
class World:
    sides: dict[str, Side]
    campaign_all: str  # a campaign over the whole district
    inspection_all: str  # a business inspection (排查整治) over the whole district
    api_token: dict[str, str]  # role -> a device-bound token (pull and push need a device)
    device_id: dict[str, str]  # role -> that device
    user_id: dict[str, str]  # role -> the user's id
    console_token: dict[str, str]  # role -> a browser sign-in (no device)
    checklist_item: str = ""  # an item of the catering checklist (the console's editor)

    def side(self, role: str, scope: str) -> Side:
        return self.sides[IN_GRID[role] if scope in ("in_scope", "any") else OUT_GRID[role]]


def console_csrf(token: str) -> str:
    return csrf_token(Settings(env="test", secret_key=TEST_SECRET), token)


# --- databases ------------------------------------------------------------------------------


class Store:
    """The seeded database and cheap copies of it, on SQLite or PostgreSQL."""

    def __init__(self, backend: str, folder: Path, template: Any) -> None:
        self.backend, self.folder, self.template = backend, folder, template
        self.made: list[str] = []

    def new_settings(self, source: Any) -> Settings:
        name = f"c{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            path = self.folder / f"{name}.db"
            shutil.copy(source, path)
            return sqlite_settings(path)
        name = f"gs_authz_{name}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        self.made.append(name)
        return Settings(
            env="test", database_url=_pg_url(name), secret_key=TEST_SECRET, data_dir=self.folder
        )

    def source_of(self, settings: Settings) -> Any:
        if self.backend == "sqlite":
            return Path(settings.database_url.removeprefix("sqlite:///"))
        return settings.database_url.rsplit("/", 1)[1]

    def drop(self, settings: Settings) -> None:
        source = self.source_of(settings)
        if self.backend == "sqlite":
            source.unlink(missing_ok=True)
            return
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{source}" WITH (FORCE)')
        self.made.remove(source)

    def drop_all(self) -> None:
        if self.backend != "postgresql":
            return
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            for name in self.made:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()


@contextmanager
def app_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    client = TestClient(app)
    try:
        yield client
    finally:
        client.close()
        app.state.engine.dispose()


# --- building the world ---------------------------------------------------------------------


def _login(client: TestClient, username: str, device_id: str | None = None) -> tuple[str, str]:
    """A token (bound to the device when one is named) and the user's id."""
    body: dict[str, Any] = {"username": username, "password": PASSWORD}
    if device_id:
        body["device_id"] = device_id
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return response.json()["access_token"], response.json()["user"]["id"]


def _newcomer(phone: WireDevice, name: str) -> tuple[str, str]:
    """A person found at the door (resident and binding): a review item. Returns (op, id no.)."""
    house_id = sorted(phone.of("house"))[0]
    person = str(uuid.uuid4())
    idn = make_id_number(random.Random(name))
    create = phone.op(
        "resident", person, "create", {"name": (None, name), "id_number": (None, idn)}
    )
    bind = phone.op(
        "binding",
        str(uuid.uuid4()),
        "create",
        {
            "resident_id": (None, person),
            "house_id": (None, house_id),
            "relation": (None, "tenant"),
            "start_date": (None, iso(-8)),
        },
    )
    results = phone.push([create, bind])
    assert [r["status"] for r in results] == ["applied", "applied"], results
    return create["op_id"], idn


def _upload_photo(client: TestClient, token: str, label: str) -> str:
    """Upload a small picture of its own (`label` drawn into it) as the token's device."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), tuple(hashlib.sha256(label.encode()).digest()[:3])).save(out, "PNG")
    data = out.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    headers = {
        "Authorization": f"Bearer {token}",
        "Upload-Offset": "0",
        "Upload-Length": str(len(data)),
    }
    answer = client.patch(f"/api/v1/photos/{sha}", content=data, headers=headers)
    assert answer.status_code == 204, answer.text
    return sha


def _report_matter(
    client: TestClient, username: str, grid_id: str, description: str, photos: dict[str, str]
) -> str:
    """The side's worker reports a matter in their grid, naming the side's photos."""
    phone = WireDevice(client, username)
    matter_id = str(uuid.uuid4())
    fields = {
        "category_id": default_category_id("环境卫生"),
        "grid_id": grid_id,
        "description": description,
        "source": "door",
        "urgency": "normal",
        "photos": sorted(set(photos.values())),
        "reported_at": format_timestamp(RUN_CLOCK.now()),
    }
    op = phone.op("matter", matter_id, "create", {k: (None, v) for k, v in fields.items()})
    [result] = phone.push([op])
    assert result["status"] == "applied", result
    return matter_id


def build_world(settings: Settings) -> World:
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        tiny = make_tiny_grid(session)
        for key, (_, helper) in WORKERS.items():
            create_user(
                session=session,
                username=helper,
                password_hash=password_hash(),
                role=Role.WORKER,
                grids=[tiny.nodes[SIDES[key][0]]],
            )
        node_ids = {code: n.id for code, n in tiny.nodes.items()}
        org_ids: dict[str, str] = {}
        for key in ("A", "B"):
            grid = tiny.nodes[SIDES[key][0]]
            community = session.get_one(GridNode, grid.parent_id)
            org_ids[key] = create_org(
                session=session, name=ORG_NAMES[key], kind="water", grid=community
            ).id
        houses = {code: [h.id for h in hs] for code, hs in tiny.houses.items()}
        user_ids = {name: u.id for name, u in tiny.users.items()}
    engine.dispose()

    partial: dict[str, dict[str, Any]] = {}
    with app_client(settings) as client:
        for key, (code, zh) in SIDES.items():
            first, second = (WireDevice(client, u) for u in WORKERS[key])
            first.pull()
            second.pull()
            rid = sorted(first.of("resident"))[0]
            assert first.push([first.edit("resident", rid, name=f"{zh}冲突一")])[0]["status"] == (
                "applied"
            )
            [clash] = second.push([second.edit("resident", rid, name=f"{zh}冲突二")])
            assert clash["status"] == "conflict", clash
            op, newcomer_idn = _newcomer(first, f"{zh}新来")
            partial[key] = {
                "code": code,
                "resident": rid,
                "conflict": clash["conflict_id"],
                "op": op,
                "device": first.device_id,
                "extra_names": {f"{zh}冲突一", f"{zh}冲突二", f"{zh}新来"},
                "extra_ids": {newcomer_idn},
            }
        api_token: dict[str, str] = {}
        device_id: dict[str, str] = {}
        user_id: dict[str, str] = {}
        for role, username in USERS.items():
            phone = str(uuid.uuid4())
            api_token[role], user_id[role] = _login(client, username, phone)
            device_id[role] = phone
        console_token = {role: _login(client, username)[0] for role, username in USERS.items()}
        for key, info in partial.items():
            if key == IN_GRID["worker"]:
                info["photos"] = {
                    role: _upload_photo(client, api_token[role], f"{key}-{role}") for role in USERS
                }
            else:
                token, _ = _login(client, WORKERS[key][0], str(uuid.uuid4()))
                info["photos"] = {"*": _upload_photo(client, token, key)}
        for key, (code, zh) in SIDES.items():
            partial[key]["matters"] = {
                role: _report_matter(
                    client, WORKERS[key][0], node_ids[code], f"{zh}污水冒溢", partial[key]["photos"]
                )
                for role in (USERS if key == IN_GRID["worker"] else ("*",))
            }
        for key in ("A", "B"):
            code, zh = SIDES[key]
            partial[key]["claimable"] = _report_matter(
                client, WORKERS[key][0], node_ids[code], f"{zh}污水冒溢", partial[key]["photos"]
            )
        admin = {"Authorization": f"Bearer {api_token['admin']}"}

        def campaign(grid: str, name: str, kind: str = "testing") -> str:
            body = {
                "name": name,
                "kind": kind,
                "start_date": iso(-8),
                "days": 11,
                "rule": {"grid_id": grid},
            }
            response = client.post("/api/v1/campaigns", json=body, headers=admin)
            assert response.status_code == 201, response.text
            created: str = response.json()["id"]
            return created

        campaign_all = campaign("T1", "全区核酸")
        inspection_all = campaign("T1", "全区商户排查整治", "business_inspection")
        for key, (code, zh) in SIDES.items():
            partial[key]["campaign"] = campaign(code, f"{zh}网格核酸")

    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    sides: dict[str, Side] = {}
    with sessions() as session, session.begin():
        for key, (_, zh) in SIDES.items():
            info = partial[key]
            device = session.get_one(Device, info["device"])
            device.name = f"{zh}手机"
            sides[key] = _side(session, key, zh, info, node_ids, houses, user_ids)
            if key in org_ids:
                # On the unit's claim list (the steps that put it there are the matters
                # tests' business; here only who may look at the list is).
                matter = session.get_one(Matter, info["claimable"])
                matter.state = "published"
                sides[key].org = org_ids[key]
                sides[key].markers["org"] = {ORG_NAMES[key]}
        # The worker's sibling grid shares A's community, and so its unit.
        sides["S"].org = org_ids["A"]
        item = ChecklistItem(
            business_type_id=default_type_id("catering"), code="fire", text="灭火器在有效期内"
        )
        session.add(item)
        session.flush()
        checklist_item = item.id
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return World(
        sides=sides,
        campaign_all=campaign_all,
        inspection_all=inspection_all,
        api_token=api_token,
        device_id=device_id,
        user_id=user_id,
        console_token=console_token,
        checklist_item=checklist_item,
    )


def _side(
    session: Session,
    key: str,
    zh: str,
    info: dict[str, Any],
    node_ids: dict[str, str],
    houses: dict[str, list[str]],
    user_ids: dict[str, str],
) -> Side:
    code = info["code"]
    people = session.execute(
        select(Resident, House)
        .join(Binding, Binding.resident_id == Resident.id)
        .join(House, House.id == Binding.house_id)
        .where(House.grid_id == node_ids[code])
    ).all()
    plain = next(r for r, _ in sorted(people, key=lambda p: p[0].id) if r.id != info["resident"])
    markers = {
        "names": {r.name for r, _ in people} | info["extra_names"],
        "ids": {r.id_number for r, _ in people} | info["extra_ids"],
        "phones": {r.phone for r, _ in people if r.phone},
        "addresses": {h.address for _, h in people},
        "code": {code},
        "campaign": {f"{zh}网格核酸"},
        "device": {f"{zh}手机"},
        "matter": {f"{zh}污水冒溢"},
    }
    community = session.get_one(GridNode, session.get_one(GridNode, node_ids[code]).parent_id)
    if key == "B":  # the other community: its own name and code betray it too
        markers["community"] = {community.name, community.code}
    first, second = WORKERS[key]
    return Side(
        key=key,
        code=code,
        node=node_ids[code],
        house=houses[code][2],
        resident=info["resident"],
        plain_resident=plain.id,
        plain_version=plain.version,
        conflict=info["conflict"],
        op=info["op"],
        campaign=info["campaign"],
        device=info["device"],
        user=user_ids[first],
        username=first,
        second_worker=second,
        markers=markers,
        photos=info["photos"],
        matters=info["matters"],
    )
