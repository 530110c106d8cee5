"""Importing the CLI loads no server, app or data library until a command needs it.

`gridsweep --help` (and every `--help`) must answer without SQLAlchemy, FastAPI, Flet or the
spreadsheet readers: they are what made it take seconds. The same import is what each
`gridsweep server --workers N` child does first (multiprocessing's spawn runs the parent's main
module again) before it can answer uvicorn's health check. (pydantic itself may load: typer
uses it to read a command's options.)
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "flet",
    "openpyxl",
    "psycopg",
    "pydantic_settings",
    "argon2",
    "httpx",
    "pypinyin",
    "sqlite_utils",
    "jinja2",
    "field_app",
    "sync_server.models",
    "sync_server.db",
    "sync_server.config",
    "sync_server.main",
    "sync_server.services",
    "sync_server.queries",
    "sync_server.importer",
    "sync_server.seed",
)

PROBE = """
import json, sys
from sync_server.cli import main
sys.argv = ["gridsweep", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print("\\nMODULES=" + json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["server", "--help"],
        ["demo", "--help"],
        ["import", "grid", "--help"],
        ["seed-demo", "--help"],
    ],
    ids=" ".join,
)
def test_help_loads_no_server_app_or_data_library(argv: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    help_text, _, modules = out.rpartition("MODULES=")
    assert "Usage" in help_text
    loaded = json.loads(modules)
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == []
