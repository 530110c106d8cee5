"""The workspace's packages as a user installs them: what the lock holds for each, what Flet's
mobile index serves, and a fresh virtualenv with one package installed from its built wheel.

Used by the package tests of the field app (tests/field_app/test_android_closure.py,
tests/field_app/test_package.py) and of the server (tests/sync_server/test_package.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "uv.lock"
ANDROID_PACKAGES = ROOT / "field_app" / "android-packages.toml"
FLET_BUILD_KEYS = ROOT / "field_app" / "flet-build-keys.toml"

# Where a phone build's markers are evaluated: Flet's Android Python (3.12, see
# field_app/pyproject.toml) on the two ABIs phones and emulators use. Python reports the
# platform as "android" from 3.13 on; a 3.12 build may still say "linux": a dependency counts if
# either would install it.
ANDROID_ENVIRONMENTS = [
    {
        "python_version": "3.12",
        "python_full_version": "3.12.13",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "sys_platform": sys_platform,
        "platform_system": platform_system,
        "platform_machine": machine,
        "platform_release": "",
        "platform_version": "",
        "implementation_version": "3.12.13",
        "extra": "",
    }
    for sys_platform, platform_system in (("android", "Android"), ("linux", "Linux"))
    for machine in ("aarch64", "x86_64")
]


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them (`pydantic_core` is `pydantic-core`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def flet_android_index() -> dict[str, set[str]]:
    """What Flet's mobile index serves for Android: normalized name -> versions."""
    data = tomllib.loads(ANDROID_PACKAGES.read_text(encoding="utf-8"))
    served: dict[str, set[str]] = {}
    for name, entry in data["packages"].items():
        if isinstance(entry, dict):
            if entry["only"] != "Android":
                continue
            entry = entry["versions"]
        served[normalize(name)] = set(entry)
    return served


def lock_packages() -> dict[str, dict[str, Any]]:
    lock = tomllib.loads(LOCK.read_text(encoding="utf-8"))
    return {normalize(p["name"]): p for p in lock["package"]}


# A server's: Linux on x86-64 with the workspace's Python.
SERVER_ENVIRONMENTS = [
    {
        **ANDROID_ENVIRONMENTS[0],
        "python_version": "3.11",
        "python_full_version": "3.11.7",
        "implementation_version": "3.11.7",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
    }
]


@dataclass(frozen=True)
class Locked:
    name: str
    version: str
    pure: bool  # the lock holds a py3-none-any wheel for it, or it is one of this workspace's
    path: tuple[str, ...]  # how the app comes to need it


def closure(
    root: str, extras: Iterable[str] = (), environments: list[dict[str, str]] = ANDROID_ENVIRONMENTS
) -> Iterator[Locked]:
    """Every distribution that installing `root` (a workspace package) pulls in, from the lock,
    with the markers of `environments` (any of them; Flet's Android Python unless told); each
    once, with a path to it."""
    packages = lock_packages()
    named: set[str] = set()
    visited: set[tuple[str, frozenset[str]]] = set()
    queue = [(normalize(root), frozenset(extras), ())]
    while queue:
        name, wanted, path = queue.pop(0)
        if (name, wanted) in visited:
            continue
        visited.add((name, wanted))
        package = packages[name]
        path = (*path, package["name"])
        if name not in named:
            named.add(name)
            yield Locked(package["name"], package["version"], _pure(package), path)
        deps = list(package.get("dependencies", []))
        for extra in sorted(wanted):
            deps += package.get("optional-dependencies", {}).get(extra, [])
        queue += [
            (normalize(dep["name"]), frozenset(dep.get("extra", [])), path)
            for dep in deps
            if "marker" not in dep
            or any(Marker(dep["marker"]).evaluate(env) for env in environments)
        ]


def _pure(package: dict[str, Any]) -> bool:
    """One of this workspace's packages (pure Python, built from its folder), or a distribution
    the lock has a py3-none-any wheel of."""
    if {"editable", "virtual", "directory"} & set(package.get("source", {})):
        return True
    wheels = [w["url"].rsplit("/", 1)[-1] for w in package.get("wheels", [])]
    return any(re.search(r"-(py2\.)?py3-none-any\.whl$", w) for w in wheels)


def phone_pins() -> dict[str, str]:
    """The exact versions the phone build pins beside the app (`[tool.flet.android]
    dependencies` in field_app/pyproject.toml, `name==version`): normalized name -> version. A
    pin stands where the one lock cannot hold the phone's version (Pillow: the desktop extra's
    Flet CLI needs a newer one than Flet's index serves)."""
    app = tomllib.loads((ROOT / "field_app" / "pyproject.toml").read_text(encoding="utf-8"))
    pins: dict[str, str] = {}
    for spec in app["tool"]["flet"]["android"]["dependencies"]:
        name, sep, version = spec.partition("==")
        if sep:
            pins[normalize(name.strip())] = version.strip()
    return pins


def _apply_pins(requirements: Path, pins: Mapping[str, str]) -> None:
    """Rewrite `name==version` lines of an exported requirements file to the pinned versions."""
    lines = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        name, sep, rest = line.partition("==")
        _version, marker_sep, marker = rest.partition(" ;")
        pinned = pins.get(normalize(name.strip())) if sep else None
        lines.append(f"{name}=={pinned}{marker_sep}{marker}" if pinned else line)
    requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")


def not_on_android(closure: Iterable[Locked], pins: Mapping[str, str] | None = None) -> list[str]:
    """The distributions neither pure Python nor served by Flet's index, each named with the
    version the phone gets (the phone build's pin, `phone_pins`, else the lock's) and the path
    that pulls it in."""
    served = flet_android_index()
    pinned = phone_pins() if pins is None else pins
    found = []
    for d in closure:
        version = pinned.get(normalize(d.name), d.version)
        if not d.pure and version not in served.get(normalize(d.name), set()):
            found.append(f"{d.name} {version} (via {' -> '.join(d.path)})")
    return found


def uv() -> list[str]:
    """The uv command (`make env` installs it beside the system Python when missing)."""
    found = shutil.which("uv")
    if found:
        return [found]
    base = Path(sys.base_prefix) / "bin" / "python3"
    if subprocess.run([base, "-m", "uv", "--version"], capture_output=True).returncode == 0:
        return [str(base), "-m", "uv"]
    pytest.skip("uv is not installed")


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}"
    return done


def run_uv(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """A uv command from uv's cache alone first (fast, and the only way under the suite's
    faketime pass, where no registry's certificate is valid yet); from the registry when the
    cache lacks something."""
    offline = subprocess.run(
        [*uv(), *args, "--offline"], capture_output=True, text=True, timeout=600, **kwargs
    )
    return offline if offline.returncode == 0 else run([*uv(), *args], **kwargs)


def build_wheels(out: Path, *folders: str) -> list[Path]:
    """Wheels of the workspace packages in `folders` (shared, sync_server, field_app)."""
    for folder in folders:
        run_uv(["build", "--wheel", "--quiet", "--out-dir", str(out), str(ROOT / folder)])
    return sorted(out.glob("*.whl"))


def python_of(version: str) -> Path | None:
    """This machine's Python `version` (3.12, say), on PATH or among pyenv's, if it has one."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = [shutil.which(f"python{version}")]
    candidates += [str(p) for p in sorted(pyenv.glob(f"versions/{version}.*/bin/python{version}"))]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return Path(candidate)
    return None


def install_alone(
    tmp: Path, package: str, folders: tuple[str, ...], python: Path | None = None
) -> Path:
    """A fresh virtualenv of `python` (the suite's unless told) holding `package` installed from
    its wheel (and the workspace wheels it needs) at the versions uv.lock pins. Its Python."""
    wheels = build_wheels(tmp / "dist", *folders)
    pins = tmp / "pins.txt"
    run_uv(
        [
            "export", "--frozen", "--quiet", "--package", package, "--no-dev", "--no-hashes",
            "--no-emit-workspace", "--output-file", str(pins),
        ],
        cwd=ROOT,
    )  # fmt: skip
    if package == "gridsweep-app":
        _apply_pins(pins, phone_pins())  # what the phone build installs, not the desktop's lock
    venv = tmp / "venv"
    run_uv(["venv", "--quiet", "--python", str(python or sys.executable), str(venv)])
    inside = venv / "bin" / "python"
    run_uv(
        ["pip", "install", "--quiet", "--python", str(inside), "-c", str(pins), *map(str, wheels)]
    )
    return inside


def installed(python: Path) -> dict[str, str]:
    """What a virtualenv holds: normalized distribution name -> version."""
    probe = (
        "import json, importlib.metadata as m\n"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    listed = json.loads(run([str(python), "-c", probe], cwd=python.parent).stdout)
    return {normalize(name): version for name, version in listed.items()}


def own_dependencies(folder: str) -> set[str]:
    """The names a workspace package's pyproject.toml depends on directly."""
    project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text(encoding="utf-8"))
    deps = project["project"]["dependencies"]
    return {normalize(re.split(r"[\s\[<>=!~;]", dep, maxsplit=1)[0]) for dep in deps}
