"""Hostile input: schemathesis generates requests from the OpenAPI schema for every operation.

Whatever it sends, signed in as the admin (who may call everything), the server must answer with
a response, never a 5xx or an unhandled exception. Examples are bounded to keep this quick.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from shared.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync_server.config import Settings
from sync_server.main import create_app
from tests.factories import TinyGrid
from tests.sync_server.conftest import login

MAX_EXAMPLES = 20


@pytest.fixture
def fuzz_app(settings: Settings, tiny: TinyGrid) -> Iterator[FastAPI]:
    app = create_app(settings)
    with TestClient(app) as client:
        app.state.fuzz_headers = login(client, "admin", device=True)
    yield app
    app.state.engine.dispose()


def test_no_input_makes_the_server_fail(fuzz_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app)
    auth = fuzz_app.state.fuzz_headers["Authorization"]
    failures: list[str] = []
    answered: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith(("/auth/logout", "/me/sign-out-everywhere")):
            continue  # it would sign the fuzzer out; it takes no input anyway
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            headers = dict(case.headers or {})
            headers["Authorization"] = auth  # not the random one generated for the scheme
            headers.setdefault(PROTOCOL_HEADER, str(PROTOCOL_VERSION))
            response = case.call(headers=headers)
            answered.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.path}: {response.text[:300]}")

        call()
    assert operations >= 15
    # Signed in for real: plenty of requests got past authentication and validation.
    assert sum(1 for status in answered if status < 300) >= operations
    assert 401 not in answered or answered.count(401) < len(answered) // 4
    assert not failures, "\n".join(failures)
