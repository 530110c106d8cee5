"""The server installs alone (issue 19, item 1): its wheel, built from sync_server/, in a fresh
virtualenv at the locked versions, as on a server machine. No Flet and no field app come with it,
`gridsweep` answers, and the console's CJK fonts are served from the server's own wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging import install_alone, installed, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_alone(
        tmp_path_factory.mktemp("server"), "gridsweep-server", ("shared", "sync_server")
    )


def test_the_server_alone_brings_no_flet_and_no_app(server_python: Path) -> None:
    held = installed(server_python)
    assert {"gridsweep-server", "gridsweep-shared", "fastapi", "sqlalchemy"} <= set(held)
    assert {name for name in held if name.startswith("flet")} == set()
    assert "gridsweep-app" not in held


def test_the_server_alone_answers_and_serves_its_font(server_python: Path, tmp_path: Path) -> None:
    command = server_python.parent / "gridsweep"
    assert "Usage" in run([str(command), "--help"], cwd=tmp_path).stdout
    probe = (
        "import importlib.util\n"
        "from sync_server.console import fonts\n"
        "print(importlib.util.find_spec('field_app') is None, fonts.FONT_FILE, fonts.FALLBACK_FILE)"
    )
    no_app, *files = run([str(server_python), "-c", probe], cwd=tmp_path).stdout.split()
    assert no_app == "True"
    for font in files:  # the GBK font and the fall-back for rarer characters
        assert Path(font).is_file() and server_python.parent.parent in Path(font).parents
