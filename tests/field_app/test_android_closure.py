"""The field app's whole locked dependency closure exists on Android (issue 19, item 2).

`flet build apk` installs the app's dependencies with pip, binary wheels only, from PyPI and
Flet's mobile index: a pure-Python distribution installs anywhere, a native one only if the index
serves that package at that version (field_app/android-packages.toml, copied from Flet's page).
The closure is walked from uv.lock, so a dependency added anywhere in the workspace that reaches
the app, or a lock update that moves a pinned native package (pydantic-core, msgpack), fails
here, naming the package and what pulls it in, instead of at the phone build.
"""

from __future__ import annotations

import tomllib
from datetime import date

from packaging.requirements import Requirement

from tests.packaging import (
    ANDROID_PACKAGES,
    SERVER_ENVIRONMENTS,
    closure,
    lock_packages,
    normalize,
    not_on_android,
    own_dependencies,
    phone_pins,
)


def test_every_distribution_the_phone_installs_is_pure_or_served_by_flet_s_index() -> None:
    phone = list(closure("gridsweep-app"))
    assert {"flet", "pydantic-core", "sqlite-utils", "pypinyin"} <= {
        normalize(d.name) for d in phone
    }
    assert not_on_android(phone) == []


def test_the_phone_s_pillow_is_the_one_flet_s_index_serves_and_the_app_admits() -> None:
    # The lock holds the desktop's Pillow (Flet's CLI wants a newer one than the index serves);
    # the phone build pins the served one, and it still meets the app's own requirement.
    pins = phone_pins()
    assert pins["pillow"] == "11.1.0"
    assert not_on_android(closure("gridsweep-app"), pins={}) != []  # the lock's alone would fail
    app = tomllib.loads((ANDROID_PACKAGES.parent / "pyproject.toml").read_text(encoding="utf-8"))
    for name, version in pins.items():
        wanted = [Requirement(r) for r in app["project"]["dependencies"]]
        assert any(normalize(r.name) == name and r.specifier.contains(version) for r in wanted)


def test_a_native_package_the_index_does_not_serve_is_named_with_what_pulls_it_in() -> None:
    # The desktop extra (web mode on a computer) carries SQLCipher, which has no Android build.
    problems = not_on_android(closure("gridsweep-app", ["desktop"]))
    assert any(p.startswith("sqlcipher3-binary ") for p in problems)
    assert "(via gridsweep-app -> sqlcipher3-binary)" in " ".join(problems)


def test_the_phone_installs_no_server_library_and_no_sqlcipher() -> None:
    phone = {normalize(d.name) for d in closure("gridsweep-app")}
    server_only = own_dependencies("sync_server") - own_dependencies("field_app")
    assert server_only >= {"fastapi", "sqlalchemy", "alembic", "psycopg"}
    assert phone & (server_only | {"gridsweep-server", "sqlcipher3-binary"}) == set()


def test_the_server_installs_no_flet_and_no_app() -> None:
    server = {normalize(d.name) for d in closure("gridsweep-server", (), SERVER_ENVIRONMENTS)}
    assert "fastapi" in server
    assert {name for name in server if name.startswith("flet")} == set()
    assert "gridsweep-app" not in server


def test_the_android_list_says_where_and_when_it_was_copied_for_the_flet_the_app_locks() -> None:
    listed = tomllib.loads(ANDROID_PACKAGES.read_text(encoding="utf-8"))
    assert listed["source"] == "https://flet.dev/docs/reference/binary-packages-android-ios"
    assert date.fromisoformat(listed["copied"])
    assert listed["flet"] == lock_packages()["flet"]["version"]
