"""Schemathesis against the server's own OpenAPI document: every operation, every check.

Requests are generated from the schema for every operation, valid (positive) and invalid
(negative), signed in as the admin (who may call everything). Each answer goes through all of
Schemathesis' checks: no 5xx; status codes, content types, headers and bodies as documented
(errors as `application/problem+json` problems); valid data accepted, invalid data refused.

The request schemas refuse what the server refuses, so valid data is checked with Schemathesis'
own expectations: a campaign is a start date and a number of days, its ages a minimum and a span
(no rule joins two fields). One refusal is told to the checks (`CONFIG`): an old sync protocol
is answered 426 `protocol_outdated`, the refusal apps act on. Examples are bounded to keep this
quick.

Every operation runs on a sign-in of its own (signing out everywhere ends the admin's other
sessions), made from an address of its own (the fuzzed sign-ins lock theirs), and the positive
run fails if any valid request but a sign-in was answered 401: each operation was really
exercised signed in.
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
}


# Where the test's own sign-ins come from: not the address the fuzzed sign-ins fail from.
OWN_ADDRESS = ("192.0.2.10", 50000)


@pytest.fixture
def fuzz_app(settings: Settings, tiny: TinyGrid) -> Iterator[FastAPI]:
    app = create_app(settings)
    with TestClient(app):
        yield app
    app.state.engine.dispose()


def sign_in(app: FastAPI) -> str:
    """A new admin sign-in (a device of its own): its Authorization header."""
    return login(TestClient(app, client=OWN_ADDRESS), "admin", device=True)["Authorization"]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_as_documented(fuzz_app: FastAPI, mode: GenerationMode) -> None:
    config = SchemathesisConfig.from_dict(CONFIG)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app, config=config)
    failures: list[str] = []
    answered: list[int] = []
    signed_out: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        own_sign_in = operation.path.endswith(("/auth/logout", "/sign-out-everywhere"))
        auth = sign_in(fuzz_app)

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
            positive = mode is GenerationMode.POSITIVE
            # Signed in, unless an invalid request is one without a sign-in. Signing out ends
            # the admin's sessions: those run with a sign-in of their own. (call() runs in this
            # iteration: B023.)
            if positive or "Authorization" in headers:
                fresh = own_sign_in  # noqa: B023
                headers["Authorization"] = sign_in(fuzz_app) if fresh else auth  # noqa: B023
            headers.setdefault(PROTOCOL_HEADER, str(PROTOCOL_VERSION))
            response = case.call(headers=headers)
            answered.append(response.status_code)
            # A valid request answered 401 (but a sign-in with wrong credentials): signed out.
            if positive and response.status_code == 401 and not case.path.endswith("/login"):
                signed_out.append(f"{case.method} {case.path}: {response.text[:200]}")
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
    assert not signed_out, "\n".join(signed_out[:10])
    assert not failures, "\n\n".join(failures[:10])
