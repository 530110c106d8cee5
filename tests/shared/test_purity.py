"""`shared` stays pure: every module imports only the standard library, pydantic or `shared`.

Both the field app and the sync server import `shared`; a stray import of a server or UI library
here would drag it onto phones (or the UI onto the server) and let the two sides drift apart.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import shared

ALLOWED = frozenset(sys.stdlib_module_names) | {"pydantic", "shared"}
SHARED_DIR = Path(shared.__file__).parent
MODULES = sorted(SHARED_DIR.rglob("*.py"))


def foreign_imports(source: str) -> list[str]:
    """Top-level names of the non-allowed modules that `source` imports, in order of appearance."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # a relative import stays inside `shared`
                continue
            names = [node.module or ""]
        else:
            continue
        found.extend(name for name in names if name.partition(".")[0] not in ALLOWED)
    return found


def test_the_shared_package_has_modules_to_check() -> None:
    assert SHARED_DIR / "merge.py" in MODULES
    assert SHARED_DIR / "hlc.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SHARED_DIR)))
def test_module_imports_only_stdlib_pydantic_or_shared(path: Path) -> None:
    assert foreign_imports(path.read_text(encoding="utf-8")) == [], (
        f"{path.name} imports a module outside the standard library, pydantic and shared"
    )


def test_the_check_catches_foreign_imports_wherever_they_hide() -> None:
    source = """
import json, sqlalchemy.orm
from pydantic import BaseModel
from shared.schema import ENTITIES
from . import hlc
from fastapi import FastAPI

def later() -> None:
    import flet
"""
    assert foreign_imports(source) == ["sqlalchemy.orm", "fastapi", "flet"]
