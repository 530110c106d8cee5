"""`gridsweep import members` and `gridsweep community class`, as an administrator runs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync_server.cli import app
from sync_server.config import get_settings
from tests.conftest import TEST_SECRET
from tests.sync_server.test_members_import import write_csv

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("GRIDSWEEP_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_members_import_reports_its_rows_and_a_community_gets_its_class(
    db: Path, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["seed-demo"]).exit_code == 0
    rows = [
        ["王建国", "13912345678", "县财政局", "中共党员", "350128-01-01-01", "2026-03-01"],
        ["李秀英", "138", "县财政局", "中共党员", "350128-01-01-01", ""],
    ]
    result = runner.invoke(
        app,
        ["import", "members", str(write_csv(tmp_path / "党员报到.csv", rows))],
        input="member-pass-1\nmember-pass-1\n",
    )
    assert result.exit_code == 1, result.output  # one row refused
    assert "党员：新增 1" in result.output and "单位：新增 1" in result.output
    assert "第3行 [手机号]" in result.output

    classed = runner.invoke(app, ["community", "class", "350128-01-01-01", "老旧小区"])
    assert classed.exit_code == 0, classed.output
    assert "老旧小区 (old_estate)" in classed.output
    wrong = runner.invoke(app, ["community", "class", "350128-01-01-01-01", "old_estate"])
    assert wrong.exit_code == 1 and "level-4" in wrong.output
