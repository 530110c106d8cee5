"""Schemathesis against the server's own OpenAPI document: every operation, every check.

Requests are generated from the schema for every operation, valid (positive) and invalid
(negative), signed in as the admin (who may call everything). Each answer goes through all of
Schemathesis' checks: no 5xx; status codes, content types, headers and bodies as documented
(errors as `application/problem+json` problems); valid data accepted, invalid data refused.

Two rules no JSON Schema can state are told to the checks instead (`CONFIG`): a campaign's end
date may not come before its start (422), and an old sync protocol is answered 426
`protocol_outdated`, the refusal apps act on. Examples are bounded to keep this quick.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from shared.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync_server.config import Settings
from sync_server.main import create_app
from tests.factories import TinyGrid
from tests.sync_server.conftest import login

MAX_EXAMPLES = 20
DEFAULT_REJECTIONS = [400, 401, 403, 404, 405, 406, 409, 415, 422, 428, 429, "5xx"]
CONFIG: dict[str, Any] = {
    "checks": {"negative_data_rejection": {"expected-statuses": [*DEFAULT_REJECTIONS, 426]}},
    "operations": [
        {
            "include-path": "/api/v1/campaigns",
            "include-method": "POST",
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", 401, 403, 404, 409, 422, 429, "5xx"]
                }
            },
        }
    ],
}


@pytest.fixture
def fuzz_app(settings: Settings, tiny: TinyGrid) -> Iterator[FastAPI]:
    app = create_app(settings)
    with TestClient(app) as client:
        app.state.fuzz_headers = login(client, "admin", device=True)
    yield app
    app.state.engine.dispose()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_as_documented(fuzz_app: FastAPI, mode: GenerationMode) -> None:
    config = SchemathesisConfig.from_dict(CONFIG)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app, config=config)
    auth = fuzz_app.state.fuzz_headers["Authorization"]
    failures: list[str] = []
    answered: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        own_sign_in = operation.path.endswith(("/auth/logout", "/sign-out-everywhere"))

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            headers = dict(case.headers or {})
            # Signing out ends the admin's sessions: those run with a sign-in of their own.
            fresh = own_sign_in  # noqa: B023 (call() runs in this iteration)
            token = login(TestClient(fuzz_app), "admin", device=True) if fresh else None
            headers["Authorization"] = token["Authorization"] if token else auth
            headers.setdefault(PROTOCOL_HEADER, str(PROTOCOL_VERSION))
            response = case.call(headers=headers)
            answered.append(response.status_code)
            try:
                case.validate_response(response, headers=headers)
            except BaseException as exc:  # schemathesis' FailureGroup
                failures.append(f"{case.method} {case.path}: {exc}"[:1500])

        try:
            call()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing to make invalid (no parameters)
    assert operations >= 20
    if mode is GenerationMode.POSITIVE:
        # Signed in for real: plenty of requests got past authentication and validation.
        assert sum(1 for status in answered if status < 300) >= operations
    assert not failures, "\n\n".join(failures[:10])
