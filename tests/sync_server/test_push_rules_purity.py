"""The push's rules are one pure function over loaded data: `push_rules` imports no database
code, so a rule can only be written there by reading the view, never by querying on the side."""

from __future__ import annotations

from pathlib import Path

from sync_server.services import push_rules
from tests.shared.test_purity import foreign_imports

SOURCE = Path(push_rules.__file__).read_text(encoding="utf-8")


def test_the_rules_import_nothing_from_sqlalchemy_or_the_models() -> None:
    # Only the standard library, pydantic and `shared` (no sqlalchemy, no sync_server at all).
    assert foreign_imports(SOURCE) == []


def test_the_check_would_see_a_database_import() -> None:
    assert foreign_imports(SOURCE + "\nfrom sqlalchemy import select\n") == ["sqlalchemy"]
    assert foreign_imports(SOURCE + "\nimport sync_server.models\n") == ["sync_server.models"]
