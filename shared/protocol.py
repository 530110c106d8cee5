"""Wire models of the GridSweep HTTP API, shared by the sync server and the field app.

Every request and response body that crosses the wire is declared here, so a client written
against these models cannot drift from the server. `PROTOCOL_VERSION` is bumped when a change
would break older clients; see docs/sync-protocol.md.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(WireModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    device_id: str | None = Field(
        default=None,
        description="UUID the app generated for itself; binds the token to this device",
        pattern=r"^[0-9a-fA-F-]{36}$",
    )
    device_name: str = Field(default="", max_length=100)
    app_version: str = Field(default="", max_length=40)


class GridRef(WireModel):
    id: str
    code: str
    name: str
    level: int


class UserInfo(WireModel):
    id: str
    username: str
    display_name: str
    role: str
    grids: list[GridRef]


class TokenResponse(WireModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: UserInfo


class GridTreeNode(WireModel):
    id: str
    code: str
    name: str
    level: int
    parent_id: str | None
    houses: int = Field(description="houses in the subtree")
    households: int = Field(description="occupied houses (with at least one person bound)")
    residents: int = Field(description="residents currently bound to a house in the subtree")
    children: list[GridTreeNode] = []


class GridTree(WireModel):
    roots: list[GridTreeNode]


class Health(WireModel):
    status: str
    database: str
    protocol_version: int
    version: str


class Problem(BaseModel):
    """RFC 9457 problem details; `code` is stable and what clients should switch on."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, object]] | None = None
