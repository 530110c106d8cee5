"""The field app's settings: where this device keeps its data, which server it syncs with, and
how it is served. One data directory is one device (its own store, device id and outbox), so two
app instances with two directories are two phones side by side.

The directory holds the store (`gridsweep-device.db`, its personal values sealed; SQLCipher where
it exists) and, off a phone, its key (`keys/gridsweep-device.db.key`, see `field_app/store/
keys.py`); on a phone it is the app's private storage and the key is in the platform keystore.

Read from arguments (`gridsweep-app --port --server-url --data-dir`) or the environment:

| variable | default | meaning |
| --- | --- | --- |
| `GRIDSWEEP_DATA_DIR` | `$FLET_APP_STORAGE_DATA` on a phone, else `data/device-1` | this device's directory |
| `GRIDSWEEP_SERVER_URL` | `http://127.0.0.1:8000` | the server offered on the first-run screen |
| `GRIDSWEEP_APP_PORT` | `8550` | the web UI's port (loopback only) |
| `GRIDSWEEP_POLL_SECONDS` | `5` | how often to check for the server while offline |
| `GRIDSWEEP_PUSH_DELAY_SECONDS` | `3` | while online, how long after the last edit its sync starts |
| `GRIDSWEEP_CLOCK_OFFSET` | none | run the app's clock this far ahead (seconds or ISO 8601, `P30D`) |
| `GRIDSWEEP_STORE_MODE` | by build | `sqlcipher` or `platform` (`field_app/store/modes.py`) |
| `GRIDSWEEP_KEEP_PHOTO_GPS` | off | `1` keeps photos' GPS tags (`field_app/photos/shrink.py`) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from shared.clock import OFFSET_ENV, Clock, parse_offset

APP_VERSION = "0.1.0"
STORE_FILE = "gridsweep-device.db"
ASSETS_DIR = Path(__file__).resolve().parent / "assets"


@dataclass(frozen=True)
class AppConfig:
    data_dir: Path
    server_url: str = "http://127.0.0.1:8000"
    port: int = 8550
    host: str = "127.0.0.1"
    poll_seconds: float = 5.0
    push_delay: float = 3.0
    device_name: str = "GridSweep web"
    clock_offset: timedelta = field(default=timedelta(0))

    def clock(self) -> Clock:
        """Where the app reads "now" and "today" (`shared.clock`)."""
        return Clock(self.clock_offset)

    @property
    def store_path(self) -> Path:
        return self.data_dir / STORE_FILE

    @classmethod
    def from_env(cls) -> AppConfig:
        env = os.environ
        # On Android/iOS, Flet points FLET_APP_STORAGE_DATA at the app's private storage.
        default_dir = env.get("FLET_APP_STORAGE_DATA") or "data/device-1"
        return cls(
            data_dir=Path(env.get("GRIDSWEEP_DATA_DIR") or default_dir),
            server_url=env.get("GRIDSWEEP_SERVER_URL") or "http://127.0.0.1:8000",
            port=int(env.get("GRIDSWEEP_APP_PORT") or 8550),
            poll_seconds=float(env.get("GRIDSWEEP_POLL_SECONDS") or 5.0),
            push_delay=float(env.get("GRIDSWEEP_PUSH_DELAY_SECONDS") or 3.0),
            clock_offset=parse_offset(env.get(OFFSET_ENV)),
        )
