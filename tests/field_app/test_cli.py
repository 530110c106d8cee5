"""`gridsweep-app` (`python -m field_app`): the field app's own command, which the server's
`gridsweep demo` starts by module name. Its `--help` answers without loading Flet or the store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from field_app import cli

PROBE = """
import json, runpy, sys
sys.argv = ["gridsweep-app", "--help"]
try:
    runpy.run_module("field_app", run_name="__main__")
except SystemExit:
    pass
print("\\nMODULES=" + json.dumps(sorted(sys.modules)))
"""


def test_help_names_the_options_and_loads_neither_flet_nor_the_store() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    help_text, _, modules = out.rpartition("MODULES=")
    assert "usage: gridsweep-app" in help_text
    for option in ("--port", "--server-url", "--data-dir"):
        assert option in help_text
    heavy = ("flet", "sqlite_utils", "httpx", "pypinyin", "field_app.store", "field_app.main")
    loaded = json.loads(modules)
    assert [m for m in loaded if any(m == h or m.startswith(h + ".") for h in heavy)] == []


def test_the_options_reach_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    import field_app.main

    served: dict[str, object] = {}
    monkeypatch.setattr(field_app.main, "run", lambda **kwargs: served.update(kwargs))
    monkeypatch.setenv("GRIDSWEEP_APP_PORT", "8655")
    cli.main(["--server-url", "http://127.0.0.1:8123", "--data-dir", "data/device-2"])
    assert served == {
        "port": 8655,
        "server_url": "http://127.0.0.1:8123",
        "data_dir": Path("data/device-2"),
    }
    cli.main(["--port", "8656"])
    assert served["port"] == 8656
    assert served["data_dir"] == Path("data/device-1")
