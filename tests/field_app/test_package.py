"""The field app installs alone (issue 19, items 1 and 5): its wheel, built from field_app/, in a
fresh virtualenv at the locked versions, as a phone build or a computer without the server gets
it. Nothing of the server comes with it, what it brings exists on Android, and the app starts:
its command answers and every module of it imports, on the suite's Python (3.11) and on 3.12,
the Python Flet bundles into the phone build, where this machine has one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.packaging import (
    flet_android_index,
    install_alone,
    installed,
    normalize,
    own_dependencies,
    python_of,
    run,
)

pytestmark = pytest.mark.slow

WHEEL_TAGS = """
import json, importlib.metadata as m
print(json.dumps({d.metadata["Name"]: [line.split(": ", 1)[1] for line in
    (d.read_text("WHEEL") or "").splitlines() if line.startswith("Tag: ")]
    for d in m.distributions()}))
"""


EVERY_MODULE = """
import importlib, pkgutil, field_app, shared
for package in (field_app, shared):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if module.name != "field_app.__main__":
            importlib.import_module(module.name)
print(importlib.import_module("field_app.config").ASSETS_DIR / "fonts" / "wqy-microhei-gbk.ttf")
"""


@pytest.fixture(scope="module", params=["suite", "3.12"])
def app_python(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = None
    if request.param != "suite":
        python = python_of(request.param)
        if python is None:
            pytest.skip(f"this machine has no Python {request.param}")
    return install_alone(
        tmp_path_factory.mktemp("app"), "gridsweep-app", ("shared", "field_app"), python
    )


def test_the_app_alone_brings_no_server_library(app_python: Path) -> None:
    held = installed(app_python)
    assert {"gridsweep-app", "gridsweep-shared", "flet", "sqlite-utils", "pypinyin"} <= set(held)
    server_only = own_dependencies("sync_server") - own_dependencies("field_app")
    assert set(held) & (server_only | {"gridsweep-server", "uvicorn", "starlette"}) == set()
    assert "sqlcipher3-binary" not in held  # no Android build: desktop extra only


def test_everything_the_app_alone_installed_exists_on_android(app_python: Path) -> None:
    tags = json.loads(run([str(app_python), "-c", WHEEL_TAGS], cwd=app_python.parent).stdout)
    versions = installed(app_python)
    served = flet_android_index()
    native = [
        f"{name} {versions[normalize(name)]}"
        for name, wheel_tags in tags.items()
        if not any(t.endswith("-none-any") and t.startswith("py") for t in wheel_tags)
        and versions[normalize(name)] not in served.get(normalize(name), set())
    ]
    assert native == []


def test_the_app_alone_starts(app_python: Path, tmp_path: Path) -> None:
    command = app_python.parent / "gridsweep-app"
    assert "usage: gridsweep-app" in run([str(command), "--help"]).stdout
    font = Path(run([str(app_python), "-c", EVERY_MODULE], cwd=tmp_path).stdout.strip())
    assert font.is_file() and app_python.parent.parent in font.parents  # from the wheel
