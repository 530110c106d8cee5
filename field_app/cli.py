"""The `gridsweep-app` command (also `python -m field_app`): the field app in web mode on this
computer, one data directory being one device.

Importing this module loads the standard library and `field_app.config` only: `--help` answers
at once, and the app itself (Flet, the store) loads when it runs. On a phone there is no
command: `flet build apk` runs `field_app/main.py` (docs/field-app.md).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from field_app.config import AppConfig

DEFAULT_SERVER_URL = "http://127.0.0.1:8000"
DEFAULT_DATA_DIR = Path("data/device-1")


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="gridsweep-app",
        description="Run the GridSweep field app (网格通) in web mode; one data directory is "
        "one device.",
    )
    cli.add_argument(
        "--port",
        type=int,
        default=None,
        help="port of the app's web UI [default: GRIDSWEEP_APP_PORT, 8550]",
    )
    cli.add_argument(
        "--server-url",
        default=DEFAULT_SERVER_URL,
        help=f"sync server address [default: {DEFAULT_SERVER_URL}]",
    )
    cli.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"this device's data directory [default: {DEFAULT_DATA_DIR}]",
    )
    return cli


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    port = AppConfig.from_env().port if args.port is None else args.port
    from field_app.main import run

    run(port=port, server_url=args.server_url, data_dir=args.data_dir)


if __name__ == "__main__":
    main()
