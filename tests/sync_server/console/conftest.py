"""Console test fixtures: browser-like clients signed in through the login form, and devices.

Every console and every device talks to one app (one database), each with its own cookies, as a
supervisor's browser and a worker's phone would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from tests.factories import PASSWORD
from tests.sync_server.wire_device import WireDevice

CSRF_FIELD = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


class Console:
    """One person's browser: its own cookie jar, signed in through the login form."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, username: str, password: str = PASSWORD) -> Response:
        response = self.client.post(
            "/console/login",
            data={"username": username, "password": password, "next": "/console"},
            follow_redirects=False,
        )
        if response.status_code == 303:
            home = self.client.get("/console")
            assert home.status_code == 200, home.text
            found = CSRF_FIELD.search(home.text)
            assert found is not None
            self.csrf = found.group(1)
        return response

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Response:
        """A form POST carrying the CSRF token, as the console's forms do."""
        body = {"csrf": self.csrf, **(data or {})}
        return self.client.post(url, data=body, follow_redirects=False, **kwargs)


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    """The HTTP client devices use."""
    with TestClient(app) as client:
        yield client


OpenConsole = Callable[..., Console]


@pytest.fixture
def browser(app: FastAPI) -> Iterator[OpenConsole]:
    """`browser("s1")`: a new browser signed in as s1; `browser()` one not signed in."""
    clients: list[TestClient] = []

    def open_console(username: str | None = None) -> Console:
        client = TestClient(app)
        clients.append(client)
        console = Console(client)
        if username is not None:
            response = console.login(username)
            assert response.status_code == 303, response.text
        return console

    yield open_console
    for client in clients:
        client.close()


@pytest.fixture
def device(api: TestClient) -> Callable[[str], WireDevice]:
    """`device("w11")`: a bootstrapped phone of that worker."""

    def make(username: str) -> WireDevice:
        phone = WireDevice(api, username)
        phone.pull()
        return phone

    return make
