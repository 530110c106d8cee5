"""The `gridsweep` command line, as an office administrator would run it."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sync_server.cli import app
from sync_server.config import get_settings
from sync_server.main import create_app
from tests.conftest import TEST_SECRET

runner = CliRunner()
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("GRIDSWEEP_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_db_upgrade_creates_the_database(db: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert db.exists()
    assert "up to date" in result.output


def test_seed_demo_prints_logins_and_refuses_a_second_time(db: Path) -> None:
    first = runner.invoke(app, ["seed-demo", "--scale", "small"])
    assert first.exit_code == 0, first.output
    assert "wg010101" in first.output and "gridsweep-demo" in first.output
    second = runner.invoke(app, ["seed-demo", "--scale", "small"])
    assert second.exit_code == 1
    assert "already" in second.output


def test_user_add_creates_an_account_that_can_sign_in(db: Path) -> None:
    runner.invoke(app, ["seed-demo"])
    result = runner.invoke(
        app,
        ["user", "add", "xiaoli", "--role", "worker", "--grid", "350128-01-01-01-02"],
        input="s3cret-pass\ns3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    with TestClient(create_app(get_settings())) as client:
        login = client.post(
            "/api/v1/auth/login", json={"username": "xiaoli", "password": "s3cret-pass"}
        )
        assert login.status_code == 200
        assert [g["code"] for g in login.json()["user"]["grids"]] == ["350128-01-01-01-02"]


def test_a_handler_is_added_with_their_organisation_and_serves_its_community(db: Path) -> None:
    runner.invoke(app, ["seed-demo"])
    added = runner.invoke(
        app, ["org", "add", "南门电信营业厅", "--kind", "通讯", "--grid", "350128-01-01-01"]
    )
    assert added.exit_code == 0, added.output
    assert "telecom" in added.output
    result = runner.invoke(
        app,
        ["user", "add", "xiaozhang", "--role", "handler", "--org", "南门电信营业厅"],
        input="s3cret-pass\ns3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    with TestClient(create_app(get_settings())) as client:
        login = client.post(
            "/api/v1/auth/login", json={"username": "xiaozhang", "password": "s3cret-pass"}
        )
        assert login.status_code == 200
        assert [g["code"] for g in login.json()["user"]["grids"]] == ["350128-01-01-01"]
    for args in (
        ["user", "add", "x1", "--role", "handler"],  # no organisation
        ["user", "add", "x2", "--role", "handler", "--org", "无此单位"],
    ):
        refused = runner.invoke(app, args, input="s3cret-pass\ns3cret-pass\n")
        assert refused.exit_code == 1, refused.output


def test_user_add_names_an_unknown_grid(db: Path) -> None:
    runner.invoke(app, ["db", "upgrade"])
    result = runner.invoke(
        app,
        ["user", "add", "x", "--role", "worker", "--grid", "NOPE"],
        input="s3cret-pass\ns3cret-pass\n",
    )
    assert result.exit_code == 1
    assert "NOPE" in result.output


def test_import_reports_the_bad_row_and_loads_the_rest(db: Path, tmp_path: Path) -> None:
    template = tmp_path / "base.csv"
    assert runner.invoke(app, ["import", "grid", "--template", str(template)]).exit_code == 0
    grids = tmp_path / "base_网格.csv"
    roster = tmp_path / "base_人房.csv"
    assert grids.exists() and roster.exists()
    header = grids.read_text(encoding="utf-8-sig").strip()
    grids.write_text(
        header
        + "\nQ1,区,1,\nQ1-1,片区,2,Q1\nQ1-1-1,街道,3,Q1-1\nQ1-1-1-1,社区,4,Q1-1-1\nQ1-1-1-1-1,第1网格,5,Q1-1-1-1\n",
        encoding="utf-8-sig",
    )
    columns = roster.read_text(encoding="utf-8-sig").strip().split(",")
    rows = [
        {
            "五级网格编码": "Q1-1-1-1-1",
            "道路": "西大街",
            "门牌号": "3号",
            "房号": "101",
            "姓名": "张三",
            "身份证号": "11010519491231002X",
        },
        {
            "五级网格编码": "Q1-1-1-1-1",
            "道路": "西大街",
            "门牌号": "3号",
            "房号": "102",
            "姓名": "李四",
            "身份证号": "110105194912310021",
        },
    ]
    lines = [",".join(columns)] + [",".join(r.get(c, "") for c in columns) for r in rows]
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    result = runner.invoke(app, ["import", "grid", str(grids), str(roster)])
    assert result.exit_code == 1  # there was a bad row
    assert re.search(r"第3行.*身份证号", result.output), result.output
    again = runner.invoke(app, ["import", "grid", str(grids), str(roster)])
    assert "created" in again.output
    # Each import that wrote is in the audit trail, done by the server's operator.
    with sqlite3.connect(db) as con:
        events = con.execute(
            "SELECT username, json_extract(detail, '$.via'), json_extract(detail, '$.kind') "
            "FROM audit_events WHERE action = 'import'"
        ).fetchall()
    assert len(events) == 2
    assert all(u.startswith("cli:") and (via, kind) == ("cli", "grid") for u, via, kind in events)


def test_import_prints_warnings_notes_and_ignored_columns(db: Path) -> None:
    from tests.sync_server.data.make_office_sheets import CSV, XLSX

    result = runner.invoke(app, ["import", "grid", str(XLSX), str(CSV)])
    assert result.exit_code == 1, result.output  # one ID number Excel cut: a refused row
    assert "已忽略的列（不属于导入格式）：序号、民族" in result.output
    assert "第9行是重复的表头，已跳过" in result.output
    assert "警告 / warnings (7)" in result.output
    assert re.search(r"人房 第13行 \[与户主关系\]：.*保姆.*其他", result.output), result.output
    assert re.search(r"第10行 \[身份证号码\]：身份证号被存成了数字", result.output)


def test_every_command_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")

    def name(command: typer.models.CommandInfo) -> str:
        assert command.callback is not None
        return command.name or command.callback.__name__.replace("_", "-")

    commands = [name(c) for c in app.registered_commands] + [
        f"{group.name} {name(c)}"
        for group in app.registered_groups
        if group.typer_instance is not None
        for c in group.typer_instance.registered_commands
    ]
    assert len(commands) >= 7
    for command in commands:
        assert f"gridsweep {command}" in readme, f"README does not document `gridsweep {command}`"


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDSWEEP_ENV", "production")
    monkeypatch.delenv("GRIDSWEEP_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "GRIDSWEEP_SECRET_KEY" in result.output


def test_the_server_runs_without_a_banner_or_uvicorn_s_proxy_trust(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    started: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.update(kwargs))
    result = runner.invoke(app, ["server", "--port", "8123"])
    assert result.exit_code == 0, result.output
    # The app believes proxies only when GRIDSWEEP_TRUSTED_PROXIES names them.
    assert started["proxy_headers"] is False
    assert started["server_header"] is False
    assert started["port"] == 8123


def _run_demo(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[str, dict[str, object]]:
    """`gridsweep demo` up to the point where it would serve: the server call is recorded."""
    import sync_server.cli as cli

    served: dict[str, object] = {}
    monkeypatch.setattr(cli, "server", lambda **kwargs: served.update(kwargs))
    result = runner.invoke(app, ["demo", "--app-port", "0", *args])
    assert result.exit_code == 0, result.output
    return result.output, served


def test_demo_prints_the_real_logins_every_time_it_starts(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = _run_demo(monkeypatch)
    second, _ = _run_demo(monkeypatch)
    assert "not seeding again" in second and "not seeding again" not in first
    for output in (first, second):
        for username in ("admin", "gl0101", "wg010101", "wg010109"):
            assert re.search(rf"\b{username}\b", output), output
        assert "gridsweep-demo" in output
        assert "wg<grid" not in output
    # An account whose password was changed is counted, never shown with a password.
    from sync_server.security import hash_password

    with sqlite3.connect(db) as con:
        con.execute(
            "UPDATE users SET password_hash = ? WHERE username = 'wg010102'",
            (hash_password("changed-by-its-owner"),),
        )
    third, _ = _run_demo(monkeypatch)
    assert "wg010101" in third and "wg010102" not in third
    assert "changed-by-its-owner" not in third
    assert "1 other account" in third


def test_demo_takes_its_ports_from_the_settings(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDSWEEP_PORT", "8123")
    get_settings.cache_clear()
    output, served = _run_demo(monkeypatch)
    assert served["port"] == 8123
    assert "http://127.0.0.1:8123/console/" in output
    output, served = _run_demo(monkeypatch, "--port", "8124")
    assert served["port"] == 8124


def test_demo_starts_the_app_on_the_app_port_setting(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    import sync_server.cli as cli

    started: list[list[str]] = []

    class FakeApp:
        def __init__(self, argv: list[str]) -> None:
            started.append(argv)

        def terminate(self) -> None: ...

        def wait(self, timeout: float) -> None: ...

    monkeypatch.setattr(subprocess, "Popen", FakeApp)
    monkeypatch.setattr(cli, "server", lambda **kwargs: None)
    monkeypatch.setenv("GRIDSWEEP_APP_PORT", "8651")
    monkeypatch.setenv("GRIDSWEEP_PORT", "8123")
    get_settings.cache_clear()
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    argv = started[0]
    assert argv[1:3] == ["-m", "field_app"]  # by module name: the server never imports the app
    assert argv[argv.index("--port") + 1] == "8651"
    assert argv[argv.index("--server-url") + 1] == "http://127.0.0.1:8123"
    assert "http://127.0.0.1:8651/" in result.output
    result = runner.invoke(app, ["demo", "--app-port", "8652"])
    argv = started[1]
    assert argv[argv.index("--port") + 1] == "8652"


def test_demo_without_the_app_installed_serves_the_server_alone(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util
    import subprocess

    import sync_server.cli as cli

    served: dict[str, object] = {}
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "field_app" else find_spec(name, *a),
    )
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("started an app"))
    monkeypatch.setattr(cli, "server", lambda **kwargs: served.update(kwargs))
    result = runner.invoke(app, ["demo", "--app-port", "8652"])
    assert result.exit_code == 0, result.output
    assert "field app (gridsweep-app) is not installed" in result.output
    assert "field app:" not in result.output
    assert served["host"] == "127.0.0.1"  # the server still serves


def test_the_server_gives_its_workers_time_to_answer_uvicorn_s_health_check(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    started: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.update(kwargs))
    result = runner.invoke(app, ["server", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert started["workers"] == 2
    assert started["timeout_worker_healthcheck"] == 30
