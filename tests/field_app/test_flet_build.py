"""`flet build apk` in field_app/ is the whole phone build (issue 19, item 5): what can be checked
short of Flutter itself.

Flet reads the build from field_app/pyproject.toml and ignores a key it does not know, so each
`[tool.flet]` key must be one its documentation defines (field_app/flet-build-keys.toml, copied
from the Flet 1.x docs); the settings the phone needs are there; the Python Flet will bundle is
one the app's pinned native wheels were built for; the folder Flet zips as the app holds the
entry and the assets, and the packages it installs from this repository exist.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.packaging import FLET_BUILD_KEYS, ROOT

APP = ROOT / "field_app"
PLATFORMS = ("android", "ios", "web", "macos", "windows", "linux")


def _pyproject(folder: Path) -> dict[str, Any]:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))


def _documented() -> tuple[set[str], set[str], dict[str, Any]]:
    docs = tomllib.loads(FLET_BUILD_KEYS.read_text(encoding="utf-8"))

    def expand(paths: list[str]) -> set[str]:
        return {p.replace("<PLATFORM>", platform) for p in paths for platform in PLATFORMS}

    return expand(docs["keys"]), expand(docs["tables"]), docs


def _undocumented(settings: dict[str, Any], keys: set[str], tables: set[str]) -> list[str]:
    """The dotted paths under tool.flet that Flet's documentation does not define."""
    found: list[str] = []

    def walk(table: dict[str, Any], prefix: str) -> None:
        for key, value in table.items():
            path = f"{prefix}{key}"
            if path in keys or path in tables:
                continue
            if isinstance(value, dict):
                walk(value, f"{path}.")
            else:
                found.append(path)

    walk(settings, "")
    return found


FLET = _pyproject(APP)["tool"]["flet"]


def test_every_flet_setting_of_the_app_is_one_flet_documents() -> None:
    keys, tables, _ = _documented()
    assert _undocumented(FLET, keys, tables) == []


def test_a_misspelt_setting_is_named() -> None:
    keys, tables, _ = _documented()
    misspelt = {**FLET, "android": {**FLET["android"], "extract_package": ["pypinyin"]}}
    assert _undocumented(misspelt, keys, tables) == ["android.extract_package"]


def test_the_phone_app_is_named_and_allowed_what_it_uses() -> None:
    _, _, docs = _documented()
    assert FLET["product"] == "网格通"
    assert FLET["org"] == "cn.gridsweep"
    assert FLET["bundle_id"].startswith(FLET["org"] + ".")
    assert "camera" in FLET["permissions"]  # photographs for the matters feature
    assert set(FLET["permissions"]) <= set(docs["permission_bundles"])
    assert FLET["android"]["permission"]["android.permission.INTERNET"] is True
    # pypinyin opens its dictionaries beside its __file__: inside the zip that fails.
    assert "pypinyin" in FLET["android"]["extract_packages"]


def test_flet_bundles_python_3_12_and_the_app_still_runs_on_3_11() -> None:
    _, _, docs = _documented()
    admitted = SpecifierSet(_pyproject(APP)["project"]["requires-python"])
    bundled = max((Version(v) for v in docs["pythons"] if Version(v) in admitted), default=None)
    assert bundled is not None and (bundled.major, bundled.minor) == (3, 12)
    assert Version("3.11.7") in admitted  # development machines: web mode


def test_the_folder_flet_zips_holds_the_entry_and_the_assets_only() -> None:
    app = FLET.get("app", {})
    folder = APP / app.get("path", ".")
    assert (folder / f"{app.get('module', 'main')}.py").is_file()
    assert (folder / "assets" / "fonts" / "wqy-microhei-gbk.ttf").is_file()
    shipped = {
        p.name
        for p in folder.iterdir()
        if p.name not in {"__pycache__", "build", "dist"} and p.name not in app["exclude"]
    }
    # The rest of field_app is installed into site-packages (dev_packages), whence main.py
    # imports it: a second copy in the zip would only weigh.
    assert shipped == {"main.py", "assets"}


def test_the_packages_built_from_this_repository_are_its_own() -> None:
    app = _pyproject(APP)["project"]
    local = FLET["dev_packages"]
    for name, path in local.items():
        assert _pyproject(APP / path)["project"]["name"] == name
    # What the phone installs: the app's dependencies, then Android's, and the app itself.
    wanted = [*app["dependencies"], *FLET["android"]["dependencies"]]
    assert {"gridsweep-app", "gridsweep-shared"} <= set(wanted)
    assert set(local) <= set(wanted)
