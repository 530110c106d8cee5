"""Around the sync core: sign-in that does not tell who has an account, no proxy trusted unless
named, production settings that refuse weak ones, docs off in production and never from a CDN."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from sync_server import security
from sync_server.config import Settings, weak_secret
from sync_server.errors import NotAuthenticated
from sync_server.main import create_app
from sync_server.services.auth import check_password
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, TinyGrid


class _CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__()
        self.checked: list[Any] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.checked.append(extract_parameters(hash if isinstance(hash, str) else hash.decode()))
        return super().verify(hash, password)


def test_an_unknown_user_costs_the_same_argon2_work_as_a_wrong_password(
    session_factory: sessionmaker[Session], tiny: TinyGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = _CountingHasher()
    monkeypatch.setattr(security, "_hasher", hasher)
    security._unknown_user_hash.cache_clear()
    with session_factory() as session:
        for username in ("w11", "nobody-here"):
            with pytest.raises(NotAuthenticated) as refused:
                check_password(session=session, username=username, password="wrong-password")
            assert refused.value.code == "invalid_credentials"
        assert check_password(session=session, username="w11", password=PASSWORD).username == "w11"
    wrong, unknown, right = hasher.checked
    assert wrong == unknown == right, "an unknown username must be checked with the same cost"
    security._unknown_user_hash.cache_clear()


def test_the_unknown_user_hash_never_matches(session_factory: sessionmaker[Session]) -> None:
    assert not security.verify_password(None, "")
    assert not security.verify_password(None, "anything")


def _login_ip(client: TestClient, forwarded: str) -> int:
    response = client.post(
        "/api/v1/auth/login",
        json={"username": "ghost", "password": "nope"},
        headers={"X-Forwarded-For": forwarded},
    )
    return response.status_code


def test_no_proxy_is_trusted_by_default(settings: Settings, tiny: TinyGrid) -> None:
    # A guesser naming a new address in every attempt is still one address.
    app = create_app(settings.model_copy(update={"login_max_failures_per_ip": 3}))
    with TestClient(app) as client:
        codes = [_login_ip(client, f"203.0.113.{i}") for i in range(1, 5)]
    app.state.engine.dispose()
    assert codes == [401, 401, 401, 429]


def test_a_named_proxy_is_believed(settings: Settings, tiny: TinyGrid) -> None:
    app = create_app(
        settings.model_copy(
            update={"login_max_failures_per_ip": 3, "trusted_proxies": "testclient"}
        )
    )
    with TestClient(app) as client:
        codes = [_login_ip(client, f"203.0.113.{i}") for i in range(1, 5)]
    app.state.engine.dispose()
    assert codes == [401, 401, 401, 401], "each forwarded address counts on its own"


@pytest.mark.parametrize(
    "secret",
    [" " * 32, "a" * 32, "ab" * 20, "password" * 5, "dev-insecure-secret-change-me", "0" * 31],
)
def test_production_refuses_a_weak_secret(secret: str) -> None:
    assert weak_secret(secret) is not None
    with pytest.raises(ValueError, match="GRIDSWEEP_SECRET_KEY"):
        Settings(env="production", secret_key=secret, database_url="sqlite://")


def test_production_takes_a_random_secret() -> None:
    import secrets

    for _ in range(20):
        assert weak_secret(secrets.token_urlsafe(48)) is None
        assert weak_secret(secrets.token_hex(16)) is None


def _production(tmp_path: Any, **extra: Any) -> Settings:
    return Settings(
        env="production",
        secret_key=TEST_SECRET,
        database_url=f"sqlite:///{tmp_path}/prod.db",
        **extra,
    )


def test_production_has_no_api_docs_unless_asked(tmp_path: Any) -> None:
    app = create_app(_production(tmp_path))
    with TestClient(app) as client:
        assert client.get("/api/v1/docs").status_code == 404
        assert client.get("/api/v1/openapi.json").status_code == 404
    app.state.engine.dispose()


def test_the_docs_page_loads_nothing_from_a_cdn(tmp_path: Any) -> None:
    app = create_app(_production(tmp_path, api_docs=True))
    with TestClient(app) as client:
        page = client.get("/api/v1/docs")
        assert page.status_code == 200
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        assert client.get("/api/v1/docs/static/swagger-ui-bundle.js").status_code == 200
        assert client.get("/api/v1/openapi.json").status_code == 200
    app.state.engine.dispose()


def test_the_console_cookie_is_secure_in_production_even_over_plain_http(
    tmp_path: Any, session_factory: sessionmaker[Session]
) -> None:
    from sync_server.db import make_engine, make_sessionmaker, transaction
    from sync_server.migrate import upgrade
    from tests.factories import make_tiny_grid

    settings = _production(tmp_path)
    engine = make_engine(settings)
    upgrade(settings, engine)
    with transaction(make_sessionmaker(engine)) as session:
        make_tiny_grid(session)
    engine.dispose()
    app = create_app(settings)
    with TestClient(app) as client:
        response = client.post(
            "/console/login",
            data={"username": "admin", "password": PASSWORD, "next": "/console"},
            follow_redirects=False,
        )
    app.state.engine.dispose()
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie


def test_a_wrong_method_is_405_with_allow_as_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/auth/login")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "method_not_allowed"


def test_every_error_an_operation_gives_is_a_documented_problem(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert "Problem" in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "default" not in responses, f"{method} {path}"
            errors = {code: r for code, r in responses.items() if code.startswith(("4", "5"))}
            if path != "/api/v1/health":
                assert errors, f"{method} {path} documents no error"
            for code, answer in errors.items():
                assert list(answer["content"]) == ["application/problem+json"], (path, code)
