"""The authorization matrix: every API endpoint and console page × role × in/out of scope.

Workers reach only their grids (and never the console); supervisors read and review their
subtree; admins reach everything and alone settle conflicts, manage staff and create campaigns.
Nothing of another grid leaks through pull, lists, exports, conflicts, history or error pages.

Every route of the app must appear in CASES (or in PUBLIC): `test_every_route_has_a_decision`
fails when a route is added without saying who may use it. Each cell is its own test, e.g.
`test_matrix[supervisor-out_of_scope-GET /console/house/{house_id}]`, and asserts:

- allowed: a success status, and the answer shows the asked-for grid's data (its *evidence*);
- hidden (lists): a success status, the caller's own data, and none of the other grid's;
- refused: the route's one refusal status, and none of the asked-for grid's markers (resident
  names, ID numbers, phones, addresses, grid code, campaign and phone names) anywhere in it;
- anonymous: 401 from the API, a redirect to the sign-in page from the console.

Refused writes run on the shared database and must leave it unchanged; allowed writes run on a
fresh copy each. The world is described in `authz_world.py`.

Decided, not a leak: a push that updates another grid's record is rejected `out_of_scope`, one
that updates an id the server never issued `no_such_record`. Record ids are random UUIDs minted
by phones (122 random bits), so telling "exists elsewhere" from "never existed" needs the id, and
whoever has the id already knows the record exists; the rejection names nothing of it (the
matrix checks the push cells for every marker). The phone needs the difference: `out_of_scope`
tells the worker the household moved to another grid, `no_such_record` that it was never saved.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from openpyxl import load_workbook
from sqlalchemy import func, select
from starlette.routing import Mount

from shared.businesses import default_type_id
from shared.hlc import HLC
from shared.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync_server.config import Settings
from sync_server.main import create_app
from sync_server.models import (
    AuthToken,
    Campaign,
    Completion,
    ConflictRecord,
    Device,
    Resident,
    ReviewDecision,
    User,
    UserGrid,
)
from tests.conftest import TEST_DB, TEST_SECRET
from tests.days import iso
from tests.sync_server.authz_world import (
    USERS,
    Side,
    Store,
    World,
    app_client,
    build_world,
    console_csrf,
)

ROLES = ("worker", "supervisor", "admin")
CATERING = default_type_id("catering")


# --- the cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    method: str
    url: str
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, Any] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    headers: dict[str, str] | None = None
    content: bytes | None = None


@dataclass
class Ctx:
    """What a cell's checks may use: the client that answered, and who asked for what."""

    client: TestClient
    world: World
    side: Side
    role: str


Build = Callable[[World, Side, str], Req]
Check = Callable[[Response, Ctx], None]


@dataclass(frozen=True)
class Case:
    method: str
    route: str
    build: Build
    # scoped: in scope allowed, out of scope refused (admins: both allowed)
    # listing: in scope shown, out of scope left out of the list (admins: both shown)
    # admin_only: only admins, whichever grid; admin_any / self: no grid involved
    policy: str
    refuse: int = 404  # how an out-of-scope request is refused
    evidence: tuple[str, ...] = ()  # marker kinds of which an allowed answer shows one
    masked: tuple[str, ...] = ()  # marker kinds a non-admin never sees in full
    writes: bool = False
    ok: Check | None = None  # further checks of an allowed answer
    verdict: Callable[[Response], int] | None = None  # the effective status (push results)
    # False when an out-of-scope refusal may differ from a missing id's (and why, in the docs)
    same_as_missing: bool = True

    @property
    def console(self) -> bool:
        return self.route.startswith("/console")

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"


def get(url: str, **params: Any) -> Req:
    return Req("GET", url, params=params or None)


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def completions_file(w: World, s: Side) -> list[tuple[str, tuple[str, bytes, str]]]:
    idn = sorted(s.markers["ids"])[0]
    body = csv_bytes([["身份证号", "完成时间", "完成地点"], [idn, f"{iso(-7)} 10:00", "西门"]])
    return [("file", ("completions.csv", body, "text/csv"))]


def push_op(w: World, s: Side, role: str) -> dict[str, Any]:
    op = {
        "op_id": str(uuid.uuid4()),
        "entity": "resident",
        "record_id": s.plain_resident,
        "kind": "update",
        "base_version": s.plain_version,
        "fields": {"note": {"base": "", "new": "上门核实"}},
        "hlc": HLC(f"authz-{role}").now(),
        "device_id": w.device_id[role],
        "user_id": w.user_id[role],
    }
    return {
        "protocol_version": PROTOCOL_VERSION,
        "device_id": w.device_id[role],
        "operations": [op],
    }


def push_verdict(response: Response) -> int:
    if response.status_code != 200:
        return response.status_code
    [result] = response.json()["results"]
    if result["status"] == "rejected" and result["code"] == "out_of_scope":
        return 403
    assert result["status"] in ("applied", "merged"), result["reason"]
    return 200


def thumbs_verdict(response: Response) -> int:
    if response.status_code != 200:
        return response.status_code
    head_line, _, data = response.content.partition(b"\n")
    head = json.loads(head_line)
    if head["unavailable"]:
        assert not head["thumbs"] and not data
        return 403
    [thumb] = head["thumbs"]
    assert thumb["size"] == len(data) > 0 and data.startswith(b"\xff\xd8"), thumb
    return 200


def status_is(code: int) -> Check:
    def check(response: Response, ctx: Ctx) -> None:
        assert response.status_code == code, response.text[:500]

    return check


def redirects_to(prefix: str) -> Check:
    def check(response: Response, ctx: Ctx) -> None:
        assert response.status_code == 303, response.text[:500]
        assert response.headers["location"].startswith(prefix), response.headers["location"]

    return check


def api_headers(w: World, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {w.api_token[role]}", PROTOCOL_HEADER: str(PROTOCOL_VERSION)}


def conflict_settled(ctx: Ctx) -> None:
    shown = ctx.client.get(
        f"/api/v1/conflicts/{ctx.side.conflict}", headers=api_headers(ctx.world, "admin")
    )
    assert shown.json()["status"] == "resolved", shown.text


def logged_out_api(response: Response, ctx: Ctx) -> None:
    assert response.status_code == 204
    after = ctx.client.get("/api/v1/me", headers=api_headers(ctx.world, ctx.role))
    assert after.status_code == 401  # the token is dead


def logged_out_console(response: Response, ctx: Ctx) -> None:
    redirects_to("/console/login")(response, ctx)
    ctx.client.cookies.clear()
    after = ctx.client.get(
        "/console",
        headers={"Cookie": f"gs_console={ctx.world.console_token[ctx.role]}"},
        follow_redirects=False,
    )
    assert after.status_code == 303 and after.headers["location"].startswith("/console/login")


def pulled_everything(response: Response, ctx: Ctx) -> None:
    assert response.status_code == 200, response.text[:500]
    assert response.json()["has_more"] is False


def admin_check(*steps: Check) -> Check:
    def check(response: Response, ctx: Ctx) -> None:
        for step in steps:
            step(response, ctx)

    return check


def settled_check(response: Response, ctx: Ctx) -> None:
    assert response.status_code in (200, 303), response.text[:500]
    conflict_settled(ctx)


def signed_out_api(response: Response, ctx: Ctx) -> None:
    assert response.status_code == 200, response.text
    assert response.json()["ended"] >= 1
    after = ctx.client.get("/api/v1/me", headers=api_headers(ctx.world, ctx.role))
    assert after.status_code == 401  # every token of the account is dead, this one too


def signed_out_user(response: Response, ctx: Ctx) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": ctx.side.user, "ended": response.json()["ended"]}


def deactivated(response: Response, ctx: Ctx) -> None:
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False


def _is_image(response: Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/")


def _took_photo_chunk(response: Response) -> None:
    # The photo is complete on the server already: nothing is taken, the whole is held.
    assert response.status_code == 204, response.text
    assert response.headers["Upload-Offset"] == response.headers["Upload-Length"]


def me_check(response: Response, ctx: Ctx) -> None:
    assert response.status_code == 200
    assert response.json()["username"] == USERS[ctx.role]


def bulk_resolved(response: Response, ctx: Ctx) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {"resolved": [ctx.side.conflict], "failed": []}


def dry_run_read(response: Response, ctx: Ctx) -> None:
    assert response.status_code == 200, response.text
    assert response.json()["rows_read"] == 1


def decided(status: str) -> Check:
    def check(response: Response, ctx: Ctx) -> None:
        redirects_to("/console/review?msg=")(response, ctx)
        sessions = ctx.client.app.state.sessionmaker  # type: ignore[attr-defined]
        with sessions() as session:
            decision = session.get(ReviewDecision, ctx.side.op)
            assert decision is not None and decision.status == status

    return check


CONSOLE_FORM_DATES = {"start_date": iso(-8), "end_date": iso(2), "kind": "testing"}

CASES: list[Case] = [
    # --- API ---------------------------------------------------------------------------------
    # Photos: "in scope" is the caller's own upload until matters name photos (issue 20: then
    # whoever may see a matter naming it); another's is refused 403 `out_of_scope`, while a
    # name nobody uploaded is 404: knowing a photo's sha256 means holding the photo already.
    Case(
        "GET",
        "/api/v1/photos/{sha256}",
        lambda w, s, r: get(f"/api/v1/photos/{s.photo(r)}"),
        "scoped",
        refuse=403,
        same_as_missing=False,
        ok=lambda response, ctx: _is_image(response),
    ),
    Case(
        "GET",
        "/api/v1/photos/{sha256}/thumb",
        lambda w, s, r: get(f"/api/v1/photos/{s.photo(r)}/thumb"),
        "scoped",
        refuse=403,
        same_as_missing=False,
        ok=lambda response, ctx: _is_image(response),
    ),
    # A batch of thumbnails: an out-of-scope photo comes back `unavailable`, as a photo not yet
    # uploaded would (the verdict reads it as the refusal).
    Case(
        "POST",
        "/api/v1/photos/thumbs",
        lambda w, s, r: Req("POST", "/api/v1/photos/thumbs", json={"sha256": [s.photo(r)]}),
        "scoped",
        refuse=403,
        same_as_missing=False,
        verdict=thumbs_verdict,
    ),
    # Any signed-in device may send a photo (content-addressed: a complete one takes nothing).
    Case(
        "PATCH",
        "/api/v1/photos/{sha256}",
        lambda w, s, r: Req(
            "PATCH",
            f"/api/v1/photos/{s.photo(r)}",
            headers={"Upload-Offset": "0", "Upload-Length": "4"},
            content=b"\xff\xd8\xff\xe0",
        ),
        "self",
        writes=True,
        ok=lambda response, ctx: _took_photo_chunk(response),
    ),
    Case(
        "POST",
        "/api/v1/auth/logout",
        lambda w, s, r: Req("POST", "/api/v1/auth/logout"),
        "self",
        writes=True,
        ok=logged_out_api,
    ),
    Case("GET", "/api/v1/me", lambda w, s, r: get("/api/v1/me"), "self", ok=me_check),
    Case(
        "POST",
        "/api/v1/me/sign-out-everywhere",
        lambda w, s, r: Req("POST", "/api/v1/me/sign-out-everywhere"),
        "self",
        writes=True,
        ok=signed_out_api,
    ),
    Case(
        "POST",
        "/api/v1/users/{user_id}/sign-out-everywhere",
        lambda w, s, r: Req("POST", f"/api/v1/users/{s.user}/sign-out-everywhere"),
        "admin_only",
        writes=True,
        ok=signed_out_user,
    ),
    Case(
        "POST",
        "/api/v1/users/{user_id}/active",
        lambda w, s, r: Req("POST", f"/api/v1/users/{s.user}/active", json={"active": False}),
        "admin_only",
        writes=True,
        ok=deactivated,
    ),
    Case(
        "GET",
        "/api/v1/grid/tree",
        lambda w, s, r: get("/api/v1/grid/tree"),
        "listing",
        evidence=("code",),
    ),
    Case(
        "GET",
        "/api/v1/grid/nodes/{node_id}",
        lambda w, s, r: get(f"/api/v1/grid/nodes/{s.node}"),
        "scoped",
        # Documented (docs/sync-protocol.md): 403 out_of_scope. Grids are the public skeleton of
        # the district, not personal data; the refusal names no grid and shows no counts.
        refuse=403,
        evidence=("code",),
        same_as_missing=False,
    ),
    Case(
        "POST",
        "/api/v1/sync/push",
        lambda w, s, r: Req("POST", "/api/v1/sync/push", json=push_op(w, s, r)),
        "scoped",
        refuse=403,
        writes=True,
        verdict=push_verdict,
        same_as_missing=False,  # see test_push_out_of_scope_is_told_apart_from_missing
    ),
    Case(
        "POST",
        "/api/v1/sync/pull",
        lambda w, s, r: Req(
            "POST",
            "/api/v1/sync/pull",
            json={
                "protocol_version": PROTOCOL_VERSION,
                "device_id": w.device_id[r],
                "cursor": None,
                "limit": 5000,
                "campaigns": True,
            },
        ),
        "listing",
        evidence=("names",),
        ok=pulled_everything,
    ),
    Case(
        "GET",
        "/api/v1/conflicts",
        lambda w, s, r: get("/api/v1/conflicts"),
        "admin_only",
        evidence=("names",),
    ),
    Case(
        "GET",
        "/api/v1/conflicts/{conflict_id}",
        lambda w, s, r: get(f"/api/v1/conflicts/{s.conflict}"),
        "admin_only",
        evidence=("names",),
    ),
    Case(
        "POST",
        "/api/v1/conflicts/{conflict_id}/resolve",
        lambda w, s, r: Req(
            "POST", f"/api/v1/conflicts/{s.conflict}/resolve", json={"choice": "device"}
        ),
        "admin_only",
        writes=True,
        evidence=("names",),
        ok=settled_check,
    ),
    Case(
        "POST",
        "/api/v1/conflicts/resolve",
        lambda w, s, r: Req(
            "POST", "/api/v1/conflicts/resolve", json={"choice": "device", "ids": [s.conflict]}
        ),
        "admin_only",
        writes=True,
        ok=bulk_resolved,
    ),
    Case(
        "POST",
        "/api/v1/campaigns",
        lambda w, s, r: Req(
            "POST",
            "/api/v1/campaigns",
            json={
                "start_date": iso(-8),
                "days": 11,
                "kind": "testing",
                "name": "新一轮核酸",
                "rule": {"grid_id": s.code},
            },
        ),
        "admin_only",
        writes=True,
        evidence=("code",),
        ok=status_is(201),
    ),
    Case(
        "GET",
        "/api/v1/campaigns",
        lambda w, s, r: get("/api/v1/campaigns"),
        "listing",
        evidence=("campaign",),
    ),
    Case(
        "GET",
        "/api/v1/campaigns/{campaign_id}",
        lambda w, s, r: get(f"/api/v1/campaigns/{s.campaign}"),
        "scoped",
        refuse=404,
        evidence=("campaign",),
    ),
    Case(
        "POST",
        "/api/v1/campaigns/{campaign_id}/completions",
        lambda w, s, r: Req(
            "POST",
            f"/api/v1/campaigns/{s.campaign}/completions",
            params={"dry_run": "true"},
            files=completions_file(w, s),
        ),
        "admin_only",
        ok=dry_run_read,
    ),
    Case(
        "GET",
        "/api/v1/campaigns/{campaign_id}/progress",
        lambda w, s, r: get(f"/api/v1/campaigns/{w.campaign_all}/progress", node=s.node),
        "scoped",
        # Documented (docs/campaigns.md): nodes outside the caller's grids are 403 out_of_scope.
        refuse=403,
        evidence=("code",),
        same_as_missing=False,
    ),
    Case(
        "GET",
        "/api/v1/campaigns/{campaign_id}/missed.xlsx",
        lambda w, s, r: get(f"/api/v1/campaigns/{w.campaign_all}/missed.xlsx", node=s.node),
        "scoped",
        refuse=403,
        evidence=("names",),
        masked=("ids",),
        same_as_missing=False,
    ),
    Case(
        "GET",
        "/api/v1/campaigns/{campaign_id}/missed.csv",
        lambda w, s, r: get(f"/api/v1/campaigns/{w.campaign_all}/missed.csv", node=s.node),
        "scoped",
        refuse=403,
        evidence=("names",),
        masked=("ids",),
        same_as_missing=False,
    ),
    # --- console -----------------------------------------------------------------------------
    Case(
        "POST",
        "/console/logout",
        lambda w, s, r: Req("POST", "/console/logout", data={}),
        "self",
        writes=True,
        ok=logged_out_console,
    ),
    Case("GET", "/console", lambda w, s, r: get("/console"), "listing", evidence=("campaign",)),
    Case(
        "GET",
        "/console/grid/{node_id}",
        lambda w, s, r: get(f"/console/grid/{s.node}"),
        "scoped",
        evidence=("addresses",),
    ),
    Case(
        "GET",
        "/console/house/{house_id}",
        lambda w, s, r: get(f"/console/house/{s.house}"),
        "scoped",
        evidence=("names",),
        masked=("ids",),
    ),
    Case(
        "GET",
        "/console/fleet",
        lambda w, s, r: get("/console/fleet"),
        "listing",
        evidence=("device",),
    ),
    Case(
        "GET",
        "/console/changes",
        lambda w, s, r: get("/console/changes"),
        "listing",
        evidence=("names",),
    ),
    Case(
        "GET",
        "/console/history/{entity}/{record_id}",
        lambda w, s, r: get(f"/console/history/resident/{s.resident}"),
        "scoped",
        evidence=("names",),
        masked=("ids",),
    ),
    Case(
        "GET",
        "/console/review",
        lambda w, s, r: get("/console/review"),
        "listing",
        evidence=("names",),
    ),
    # The audit trail: admins everything, supervisors their subtree's events, workers nothing.
    Case(
        "GET",
        "/console/audit",
        lambda w, s, r: get("/console/audit"),
        "listing",
        evidence=("names",),
    ),
    Case(
        "POST",
        "/console/review/approve",
        lambda w, s, r: Req("POST", "/console/review/approve", data={"op_ids": [s.op]}),
        "scoped",
        writes=True,
        ok=decided("approved"),
    ),
    Case(
        "POST",
        "/console/review/{op_id}/approve",
        lambda w, s, r: Req("POST", f"/console/review/{s.op}/approve", data={}),
        "scoped",
        writes=True,
        ok=decided("approved"),
    ),
    Case(
        "POST",
        "/console/review/{op_id}/send-back",
        lambda w, s, r: Req("POST", f"/console/review/{s.op}/send-back", data={"reason": "请核实"}),
        "scoped",
        writes=True,
        ok=decided("sent_back"),
    ),
    Case(
        "GET",
        "/console/conflicts",
        lambda w, s, r: get("/console/conflicts"),
        "admin_only",
        evidence=("names",),
    ),
    Case(
        "GET",
        "/console/conflicts/{conflict_id}",
        lambda w, s, r: get(f"/console/conflicts/{s.conflict}"),
        "admin_only",
        evidence=("names",),
    ),
    Case(
        "POST",
        "/console/conflicts/{conflict_id}/settle",
        lambda w, s, r: Req(
            "POST", f"/console/conflicts/{s.conflict}/settle", data={"pick.name": "device"}
        ),
        "admin_only",
        writes=True,
        ok=admin_check(redirects_to("/console/conflicts?msg=settled"), settled_check),
    ),
    Case(
        "POST",
        "/console/conflicts/settle",
        lambda w, s, r: Req(
            "POST", "/console/conflicts/settle", data={"choice": "device", "ids": [s.conflict]}
        ),
        "admin_only",
        writes=True,
        ok=settled_check,
    ),
    Case("GET", "/console/manage/users", lambda w, s, r: get("/console/manage/users"), "admin_any"),
    Case(
        "POST",
        "/console/manage/users",
        lambda w, s, r: Req(
            "POST",
            "/console/manage/users",
            data={
                "username": f"w_new_{s.key}",
                "password": "a-long-password",
                "role": "worker",
                "grids": s.code,
            },
        ),
        "admin_only",
        writes=True,
        ok=redirects_to("/console/manage/users/"),
    ),
    Case(
        "GET",
        "/console/manage/users/{user_id}",
        lambda w, s, r: get(f"/console/manage/users/{s.user}"),
        "admin_only",
        evidence=("device",),
    ),
    Case(
        "POST",
        "/console/manage/users/{user_id}/active",
        lambda w, s, r: Req(
            "POST", f"/console/manage/users/{s.user}/active", data={"active": "false"}
        ),
        "admin_only",
        writes=True,
        ok=redirects_to("/console/manage/users/"),
    ),
    Case(
        "POST",
        "/console/manage/users/{user_id}/sign-out",
        lambda w, s, r: Req("POST", f"/console/manage/users/{s.user}/sign-out", data={}),
        "admin_only",
        writes=True,
        ok=redirects_to("/console/manage/users/"),
    ),
    Case(
        "POST",
        "/console/manage/users/{user_id}/grids",
        lambda w, s, r: Req(
            "POST", f"/console/manage/users/{s.user}/grids", data={"grids": s.code}
        ),
        "admin_only",
        writes=True,
        ok=redirects_to("/console/manage/users/"),
    ),
    Case(
        "POST",
        "/console/manage/devices/{device_id}/revoke",
        lambda w, s, r: Req("POST", f"/console/manage/devices/{s.device}/revoke", data={}),
        "admin_only",
        writes=True,
        ok=redirects_to("/console/manage/users/"),
    ),
    Case(
        "POST",
        "/console/manage/grids/{grid_id}/give",
        lambda w, s, r: Req(
            "POST", f"/console/manage/grids/{s.node}/give", data={"username": s.second_worker}
        ),
        "admin_only",
        writes=True,
        ok=redirects_to("/console/grid/"),
    ),
    Case(
        "GET", "/console/manage/import", lambda w, s, r: get("/console/manage/import"), "admin_any"
    ),
    Case(
        "GET",
        "/console/manage/import/template.xlsx",
        lambda w, s, r: get("/console/manage/import/template.xlsx"),
        "admin_any",
    ),
    Case(
        "POST",
        "/console/manage/import",
        lambda w, s, r: Req(
            "POST",
            "/console/manage/import",
            data={"dry_run": "true"},
            files=[("files", ("grid.csv", csv_bytes([["网格编码"]]), "text/csv"))],
        ),
        "admin_any",
    ),
    Case(
        "GET",
        "/console/campaigns",
        lambda w, s, r: get("/console/campaigns"),
        "listing",
        evidence=("campaign",),
    ),
    Case(
        "GET",
        "/console/campaigns/{campaign_id}/bar",
        lambda w, s, r: get(f"/console/campaigns/{s.campaign}/bar"),
        "scoped",
    ),
    Case(
        "POST",
        "/console/campaigns",
        lambda w, s, r: Req(
            "POST",
            "/console/campaigns",
            data={**CONSOLE_FORM_DATES, "name": "新一轮核酸", "grid_code": s.code},
        ),
        "admin_only",
        writes=True,
        ok=redirects_to("/console/campaigns/"),
    ),
    Case(
        "GET",
        "/console/campaigns/{campaign_id}",
        lambda w, s, r: get(f"/console/campaigns/{s.campaign}"),
        "scoped",
        evidence=("campaign",),
    ),
    Case(
        "POST",
        "/console/campaigns/{campaign_id}/completions",
        lambda w, s, r: Req(
            "POST",
            f"/console/campaigns/{s.campaign}/completions",
            data={},
            files=completions_file(w, s),
        ),
        "admin_only",
        writes=True,
        evidence=("campaign",),
        ok=status_is(200),
    ),
    # A business inspection's progress and problem list: the caller's part of it, a node
    # outside their grids refused as if it did not exist.
    Case(
        "GET",
        "/console/inspections/{campaign_id}",
        lambda w, s, r: get(f"/console/inspections/{w.inspection_all}", node=s.node),
        "scoped",
        evidence=("code",),
    ),
    Case(
        "GET",
        "/console/inspections/{campaign_id}/problems.{format}",
        lambda w, s, r: get(f"/console/inspections/{w.inspection_all}/problems.xlsx", node=s.node),
        "scoped",
        ok=status_is(200),
    ),
    # Businesses: the list of a node's subtree (a node outside the caller's grids refused as if
    # it did not exist); without a node, the caller's grids.
    Case(
        "GET",
        "/console/businesses",
        lambda w, s, r: get("/console/businesses", node=s.node),
        "scoped",
        evidence=("code",),
    ),
    # Business types and their checklists: admins only, no grid involved.
    Case(
        "GET",
        "/console/manage/business-types",
        lambda w, s, r: get("/console/manage/business-types"),
        "admin_any",
    ),
    Case(
        "POST",
        "/console/manage/business-types",
        lambda w, s, r: Req(
            "POST", "/console/manage/business-types", data={"code": "bath", "name": "洗浴"}
        ),
        "admin_any",
        writes=True,
        ok=redirects_to("/console/manage/business-types/"),
    ),
    Case(
        "GET",
        "/console/manage/business-types/{type_id}",
        lambda w, s, r: get(f"/console/manage/business-types/{CATERING}"),
        "admin_any",
    ),
    Case(
        "POST",
        "/console/manage/business-types/{type_id}",
        lambda w, s, r: Req(
            "POST",
            f"/console/manage/business-types/{CATERING}",
            data={"code": "catering", "name": "餐饮店"},
        ),
        "admin_any",
        writes=True,
        ok=redirects_to("/console/manage/business-types/"),
    ),
    Case(
        "POST",
        "/console/manage/business-types/{type_id}/items",
        lambda w, s, r: Req(
            "POST",
            f"/console/manage/business-types/{CATERING}/items",
            data={"code": "exit", "text": "安全出口畅通"},
        ),
        "admin_any",
        writes=True,
        ok=redirects_to("/console/manage/business-types/"),
    ),
    Case(
        "POST",
        "/console/manage/business-types/{type_id}/items/{item_id}",
        lambda w, s, r: Req(
            "POST",
            f"/console/manage/business-types/{CATERING}/items/{w.checklist_item}",
            data={"code": "fire", "text": "灭火器摆放到位"},
        ),
        "admin_any",
        writes=True,
        ok=redirects_to("/console/manage/business-types/"),
    ),
    Case(
        "POST",
        "/console/manage/business-types/{type_id}/items/{item_id}/move",
        lambda w, s, r: Req(
            "POST",
            f"/console/manage/business-types/{CATERING}/items/{w.checklist_item}/move",
            data={"direction": "up"},
        ),
        "admin_any",
        writes=True,
        ok=redirects_to("/console/manage/business-types/"),
    ),
    Case(
        "GET",
        "/console/manage/businesses/import",
        lambda w, s, r: get("/console/manage/businesses/import"),
        "admin_any",
    ),
    Case(
        "POST",
        "/console/manage/businesses/import",
        lambda w, s, r: Req(
            "POST",
            "/console/manage/businesses/import",
            data={"dry_run": "true"},
            files=[("files", ("商户.csv", csv_bytes([["网格编码", "商户名称"]]), "text/csv"))],
        ),
        "admin_any",
    ),
    # Matters: the board lists the caller's; a matter's page, its steps and its photos are the
    # matter's scope's (a photo: whoever may see a matter naming it, or its uploader).
    Case(
        "GET",
        "/console/matters",
        lambda w, s, r: get("/console/matters"),
        "listing",
        evidence=("matter",),
    ),
    Case(
        "GET",
        "/console/matters/counts",
        lambda w, s, r: get("/console/matters/counts", node=s.node),
        "scoped",
        evidence=("code",),
    ),
    Case(
        "GET",
        "/console/matters/export.{format}",
        lambda w, s, r: get("/console/matters/export.xlsx", node=s.node),
        "scoped",
        evidence=("matter",),
    ),
    Case(
        "GET",
        "/console/matters/{matter_id}",
        lambda w, s, r: get(f"/console/matters/{s.matter(r)}"),
        "scoped",
        evidence=("matter",),
    ),
    Case(
        "POST",
        "/console/matters/{matter_id}/steps",
        lambda w, s, r: Req(
            "POST",
            f"/console/matters/{s.matter(r)}/steps",
            data={"action": "accept", "from_state": "reported"},
        ),
        "scoped",
        writes=True,
        ok=redirects_to("/console/matters/"),
    ),
    # Units and their claim lists: a supervisor's are the units serving their subtree.
    Case(
        "GET",
        "/console/units",
        lambda w, s, r: get("/console/units"),
        "listing",
        evidence=("org",),
    ),
    Case(
        "GET",
        "/console/units/{org_id}/claims",
        lambda w, s, r: get(f"/console/units/{s.org}/claims"),
        "scoped",
        evidence=("matter",),
    ),
    Case(
        "GET",
        "/console/posts",
        lambda w, s, r: get("/console/posts", node=s.node),
        "scoped",
        evidence=("code",),
    ),
    Case(
        "POST",
        "/console/posts",
        lambda w, s, r: Req(
            "POST",
            "/console/posts",
            data={"node": s.node, "kind": "care", "title": "爱心岗", "capacity": "3"},
        ),
        "scoped",
        writes=True,
        ok=redirects_to("/console/posts"),
    ),
    Case(
        "GET",
        "/console/photos/{sha256}",
        lambda w, s, r: get(f"/console/photos/{s.photo(r)}"),
        "scoped",
        refuse=403,
        same_as_missing=False,
        ok=lambda response, ctx: _is_image(response),
    ),
    Case(
        "GET",
        "/console/photos/{sha256}/thumb",
        lambda w, s, r: get(f"/console/photos/{s.photo(r)}/thumb"),
        "scoped",
        refuse=403,
        same_as_missing=False,
        ok=lambda response, ctx: _is_image(response),
    ),
    Case(
        "GET",
        "/console/export/residents",
        lambda w, s, r: get("/console/export/residents", node=s.node, format="csv"),
        "scoped",
        evidence=("names",),
        masked=("ids", "phones"),
    ),
    Case(
        "GET",
        "/console/export/missed",
        lambda w, s, r: get(
            "/console/export/missed", node=s.node, campaign=w.campaign_all, format="csv"
        ),
        "scoped",
        evidence=("names",),
        masked=("ids",),
    ),
]

# Routes anyone may use: signing in, health, the API's own documentation, the console's static
# files, its web font (the sign-in page needs it) and its language switch (a cookie, no data).
PUBLIC = {
    "GET /api/v1/health",
    "POST /api/v1/auth/login",
    "GET /api/v1/openapi.json",
    "GET /api/v1/docs",
    "MOUNT /api/v1/docs/static",
    "GET /console/login",
    "POST /console/login",
    "GET /console/lang/{lang}",
    "MOUNT /console/static",
    "GET /console/fonts/{name}",
}


def app_routes() -> set[str]:
    app = create_app(Settings(env="test", database_url="sqlite://", secret_key=TEST_SECRET))
    found = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            found.add(f"MOUNT {route.path}")
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.add(f"{method} {route.path}")
    app.state.engine.dispose()
    return found


def test_every_route_has_a_decision() -> None:
    routes = app_routes()
    decided = {c.key for c in CASES}
    assert len(decided) == len(CASES), "a route appears twice in CASES"
    undecided = sorted(routes - decided - PUBLIC)
    assert not undecided, f"add these routes to the authorization matrix: {undecided}"
    stale = sorted((decided | PUBLIC) - routes)
    assert not stale, f"these routes no longer exist: {stale}"


# --- the expected outcome of a cell ---------------------------------------------------------


def scopes_of(case: Case) -> tuple[str, ...]:
    return ("any",) if case.policy in ("self", "admin_any") else ("in_scope", "out_of_scope")


def expected(case: Case, role: str, scope: str) -> tuple[str, int]:
    """("allow" | "hide" | "deny", the refusal status)."""
    if case.console and role == "worker":
        return "deny", 403  # workers sweep with the app; the console is not theirs
    if case.policy == "self":
        return "allow", 0
    if case.policy in ("admin_only", "admin_any"):
        return ("allow", 0) if role == "admin" else ("deny", 403)
    if role == "admin" or scope == "in_scope":
        return "allow", 0
    if case.policy == "listing":
        return "hide", 0
    return "deny", case.refuse


CELLS = [
    pytest.param(case, role, scope, id=f"{role}-{scope}-{case.key}")
    for case in CASES
    for role in ROLES
    for scope in scopes_of(case)
] + [pytest.param(case, "anonymous", "any", id=f"anonymous-any-{case.key}") for case in CASES]


# --- running a cell -------------------------------------------------------------------------


@dataclass
class Shared:
    world: World
    store: Store
    seeded: Any
    client: TestClient
    # One fresh copy per writing route, shared by that route's allowed cells (which write to
    # different records: grid A's or B's, or each role its own token) and then dropped.
    writer: tuple[str, Settings, TestClient] | None = None

    def write_client(self, key: str) -> TestClient:
        if self.writer is not None and self.writer[0] == key:
            return self.writer[2]
        self.close_writer()
        settings = self.store.new_settings(self.seeded)
        client = TestClient(create_app(settings))
        self.writer = (key, settings, client)
        return client

    def close_writer(self) -> None:
        if self.writer is None:
            return
        _, settings, client = self.writer
        client.close()
        client.app.state.engine.dispose()  # type: ignore[attr-defined]
        self.store.drop(settings)
        self.writer = None


@pytest.fixture(scope="module")
def shared(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Shared]:
    folder = tmp_path_factory.mktemp("authz")
    if TEST_DB == "postgresql":
        store = Store("postgresql", folder, None)
        source: Any = request.getfixturevalue("pg_template")
    else:
        store = Store("sqlite", folder, None)
        source = request.getfixturevalue("migrated_template")
    try:
        seeded_settings = store.new_settings(source)
        world = build_world(seeded_settings)
        seeded = store.source_of(seeded_settings)
        with app_client(store.new_settings(seeded)) as client:
            found = Shared(world=world, store=store, seeded=seeded, client=client)
            yield found
            found.close_writer()
    finally:
        store.drop_all()


def text_of(response: Response) -> str:
    """Everything a user could read in the answer: body (Excel cells too) and file name."""
    kind = response.headers.get("content-type", "")
    if "spreadsheetml" in kind and response.status_code == 200:
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        body = "\n".join(
            "\t".join("" if v is None else str(v) for v in row)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    elif "json" in kind and response.content:
        body = json.dumps(response.json(), ensure_ascii=False)
    else:
        body = response.content.decode("utf-8", errors="replace")
    headers = " ".join(
        unquote(response.headers.get(h, "")) for h in ("content-disposition", "location")
    )
    return body + "\n" + headers


def send(client: TestClient, world: World, case: Case, role: str, req: Req) -> Response:
    client.cookies.clear()
    headers: dict[str, str] = dict(req.headers or {})
    data = dict(req.data) if req.data is not None else None
    if role != "anonymous":
        if case.console:
            token = world.console_token[role]
            headers["Cookie"] = f"gs_console={token}"
            if req.method == "POST":
                data = {"csrf": console_csrf(token), **(data or {})}
        else:
            headers.update(api_headers(world, role))
    elif not case.console:
        headers[PROTOCOL_HEADER] = str(PROTOCOL_VERSION)
    return client.request(
        req.method,
        req.url,
        params=req.params,
        json=req.json,
        data=data,
        files=req.files,
        content=req.content,
        headers=headers,
        follow_redirects=False,
    )


def fingerprint(client: TestClient) -> dict[str, Any]:
    """What a refused write must not change."""
    sessions = client.app.state.sessionmaker  # type: ignore[attr-defined]
    with sessions() as session:
        return {
            "open_conflicts": sorted(
                session.scalars(select(ConflictRecord.id).where(ConflictRecord.status == "open"))
            ),
            "decisions": session.scalar(select(func.count()).select_from(ReviewDecision)),
            "campaigns": session.scalar(select(func.count()).select_from(Campaign)),
            "completions": session.scalar(select(func.count()).select_from(Completion)),
            "users": sorted(session.execute(select(User.username, User.active)).all()),
            "assignments": sorted(
                session.execute(select(UserGrid.user_id, UserGrid.grid_id)).all()
            ),
            "revoked_devices": session.scalar(
                select(func.count()).where(Device.revoked_at.is_not(None))
            ),
            "revoked_tokens": session.scalar(
                select(func.count()).where(AuthToken.revoked_at.is_not(None))
            ),
            "resident_versions": session.scalar(select(func.sum(Resident.version))),
        }


def leaked(body: str, side: Side) -> list[str]:
    return sorted(m for m in side.all_markers() if m in body)


def shows(body: str, side: Side, kinds: tuple[str, ...]) -> bool:
    return any(m in body for kind in kinds for m in side.markers.get(kind, ()))


@pytest.mark.parametrize(("case", "role", "scope"), CELLS)
def test_matrix(shared: Shared, case: Case, role: str, scope: str) -> None:
    world = shared.world
    side = world.side("supervisor" if role == "anonymous" else role, scope)
    req = case.build(world, side, "admin" if role == "anonymous" else role)
    outcome, refusal = ("deny", 0) if role == "anonymous" else expected(case, role, scope)

    if outcome == "allow" and case.writes:
        client = shared.write_client(case.key)
        response = send(client, world, case, role, req)
        check_allowed(case, response, Ctx(client, world, side, role))
        return

    client = shared.client
    before = fingerprint(client) if case.writes else None
    response = send(client, world, case, role, req)
    body = text_of(response)
    if role == "anonymous":
        if case.console:
            assert response.status_code == 303, body[:500]
            assert response.headers["location"].startswith("/console/login")
        else:
            assert response.status_code == 401, body[:500]
        assert not leaked(body, side)
    elif outcome == "allow":
        check_allowed(case, response, Ctx(client, world, side, role))
    elif outcome == "hide":
        assert response.status_code == 200, body[:500]
        if case.ok is not None:
            case.ok(response, Ctx(client, world, side, role))
        assert not leaked(body, side), f"{role} sees another grid's data"
        own = world.side(role, "in_scope")
        assert shows(body, own, case.evidence), f"{role} does not see their own data"
    else:
        status = case.verdict(response) if case.verdict else response.status_code
        assert status == refusal, body[:500]
        assert not leaked(body, side), "a refusal shows the data it refused"
    if before is not None:
        assert fingerprint(client) == before, "a refused request changed the database"


def check_allowed(case: Case, response: Response, ctx: Ctx) -> None:
    body = text_of(response)
    if case.ok is not None:
        case.ok(response, ctx)
    elif case.verdict is not None:
        assert case.verdict(response) == 200
    else:
        assert response.status_code == 200, body[:500]
    if case.evidence:
        assert shows(body, ctx.side, case.evidence), (
            f"the answer lacks {case.evidence}: {body[:300]}"
        )
    if ctx.role != "admin":
        for kind in case.masked:
            shown = sorted(m for m in ctx.side.markers[kind] if m in body)
            assert not shown, f"{ctx.role} sees full {kind}: {shown}"
    elif case.masked and case.evidence:
        # Admins need the whole ID number (and phone) to act on a record.
        assert shows(body, ctx.side, case.masked)


# --- out of scope must look like missing ----------------------------------------------------


MISSING_CELLS = [
    pytest.param(case, role, id=f"{role}-{case.key}")
    for case in CASES
    for role in ("worker", "supervisor")
    if case.policy == "scoped"
    and case.same_as_missing
    and expected(case, role, "out_of_scope")[0] == "deny"
    and not (case.console and role == "worker")
]


@pytest.mark.parametrize(("case", "role"), MISSING_CELLS)
def test_out_of_scope_looks_like_missing(shared: Shared, case: Case, role: str) -> None:
    """A refused id gets the very answer a never-issued id gets: existence is not confirmed."""
    world = shared.world
    side = world.side(role, "out_of_scope")
    ids = ("node", "house", "resident", "conflict", "op", "campaign", "device", "user")
    fresh: dict[str, Any] = {name: str(uuid.uuid4()) for name in ids}
    fake = dataclasses.replace(side, **fresh)
    answers = []
    for s in (side, fake):
        response = send(shared.client, world, case, role, case.build(world, s, role))
        body = text_of(response)
        for name in ids:
            body = body.replace(getattr(s, name), "<id>")
        answers.append((response.status_code, body))
    assert answers[0] == answers[1]


# --- the same routes, asked sideways --------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A request mixing what the caller may see with what they may not (a visible campaign with
    another grid's node, a list filtered by another grid's worker...)."""

    name: str
    role: str
    build: Callable[[World], Req]
    status: int
    hidden: tuple[str, ...]  # the sides none of whose markers may appear
    console: bool = True


PROBES = [
    Probe(
        "visible campaign, other community's node",
        "supervisor",
        lambda w: get(f"/console/campaigns/{w.campaign_all}", node=w.sides["B"].node),
        404,
        ("B",),
    ),
    Probe(
        "own grid page, other grid's campaign",
        "supervisor",
        lambda w: get(f"/console/grid/{w.sides['A'].node}", campaign=w.sides["B"].campaign),
        200,
        ("B",),
    ),
    Probe(
        # All but the last character: the page repeats the search, which is no leak.
        "own grid page searched for another grid's resident",
        "supervisor",
        lambda w: get(
            f"/console/grid/{w.sides['A'].node}", q=sorted(w.sides["B"].markers["names"])[0][:-1]
        ),
        200,
        ("B",),
    ),
    Probe(
        "own grid page searched for another grid's address, a page past the last",
        "supervisor",
        lambda w: get(
            f"/console/grid/{w.sides['A'].node}",
            q=sorted(w.sides["B"].markers["addresses"])[0][:-1],
            page=99_999,
        ),
        200,
        ("B",),
    ),
    Probe(
        "another community's grid page, searched and paged",
        "supervisor",
        lambda w: get(f"/console/grid/{w.sides['B'].node}", q="%", page=2),
        404,
        ("B",),
    ),
    Probe(
        "missed export of own node for another grid's campaign",
        "supervisor",
        lambda w: get(
            "/console/export/missed",
            node=w.sides["A"].node,
            campaign=w.sides["B"].campaign,
            format="csv",
        ),
        404,
        ("B",),
    ),
    Probe(
        "history of another community's house",
        "supervisor",
        lambda w: get(f"/console/history/house/{w.sides['B'].house}"),
        404,
        ("B",),
    ),
    Probe(
        "history of another community's grid",
        "supervisor",
        lambda w: get(f"/console/history/grid_node/{w.sides['B'].node}"),
        404,
        ("B",),
    ),
    Probe(
        "audit trail filtered by another community's worker",
        "supervisor",
        lambda w: get("/console/audit", user=w.sides["B"].username),
        200,
        ("B",),
    ),
    Probe(
        "approving own and another community's new residents at once",
        "supervisor",
        lambda w: Req(
            "POST", "/console/review/approve", data={"op_ids": [w.sides["A"].op, w.sides["B"].op]}
        ),
        404,
        ("B",),
    ),
    Probe(
        "district campaign's progress, default node, every level",
        "supervisor",
        lambda w: get(f"/api/v1/campaigns/{w.campaign_all}/progress", depth=4),
        200,
        ("B",),
        console=False,
    ),
    Probe(
        "district campaign's progress, default node",
        "worker",
        lambda w: get(f"/api/v1/campaigns/{w.campaign_all}/progress", depth=4),
        200,
        ("S", "B"),
        console=False,
    ),
    Probe(
        "district campaign's missed list, default node",
        "worker",
        lambda w: get(f"/api/v1/campaigns/{w.campaign_all}/missed.csv"),
        200,
        ("S", "B"),
        console=False,
    ),
    Probe(
        "district campaign's missed list, default node",
        "supervisor",
        lambda w: get(f"/api/v1/campaigns/{w.campaign_all}/missed.csv"),
        200,
        ("B",),
        console=False,
    ),
]


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: f"{p.role}-{p.name}")
def test_probe(shared: Shared, probe: Probe) -> None:
    world = shared.world
    req = probe.build(world)
    route = "/console/x" if probe.console else "/api/v1/x"
    case = Case(req.method, route, lambda w, s, r: req, "scoped")
    before = fingerprint(shared.client)
    response = send(shared.client, world, case, probe.role, req)
    body = text_of(response)
    assert response.status_code == probe.status, body[:500]
    for key in probe.hidden:
        assert not leaked(body, world.sides[key]), f"grid {key} leaks"
    assert fingerprint(shared.client) == before  # a refused batch approves nothing


def test_worker_pull_holds_only_their_grid(shared: Shared) -> None:
    """The phone's bootstrap: w11's grid, its ancestors' names, and no one from any other grid."""
    world = shared.world
    case = next(c for c in CASES if c.key == "POST /api/v1/sync/pull")
    response = send(
        shared.client, world, case, "worker", case.build(world, world.sides["A"], "worker")
    )
    records = response.json()["records"]
    grids = {r["values"].get("grid_id") for r in records if r["entity"] in ("house", "building")}
    assert grids == {world.sides["A"].node}
    body = text_of(response)
    for key in ("S", "B"):
        assert not leaked(body, world.sides[key])
