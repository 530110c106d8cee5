"""Real processes for the browser tests: a seeded sync server and a field app, each on a free
loopback port, started and stopped by the test (the server can be stopped and started again on
the same port and database, as a phone loses and finds its signal).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
DEMO_WORKER = "wg010101"
DEMO_PASSWORD = "gridsweep-demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: object, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.2)
    raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "sync_server.cli", *args]


class Process:
    """A child process with its output in a log file (shown when a test fails)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT
        )
        handle.close()

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class SyncServer(Process):
    """`gridsweep server` over a temporary SQLite database seeded with the small demo."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.db_path = workdir / "server.db"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "GRIDSWEEP_ENV": "development",
        }
        super().__init__(
            "server",
            _cli("server", "--host", "127.0.0.1", "--port", str(self.port)),
            env,
            workdir / "server.log",
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def seed(self) -> None:
        subprocess.run(
            _cli("seed-demo", "--scale", "small"),
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=300,
        )

    def start(self) -> None:
        super().start()
        wait_until(self.healthy, timeout=60, what=f"the sync server on {self.url}")

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


class FieldApp(Process):
    """`gridsweep-app` (`python -m field_app`): the Flet app in web mode, one data directory (one
    device)."""

    def __init__(
        self, workdir: Path, server_url: str, *, settings: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.data_dir = workdir / "device"
        env = {**os.environ, "GRIDSWEEP_POLL_SECONDS": "1", "FLET_WEB_NO_CDN": "1"}
        env.update(settings or {})
        super().__init__(
            "app",
            [
                sys.executable,
                "-m",
                "field_app",
                "--port",
                str(self.port),
                "--server-url",
                server_url,
                "--data-dir",
                str(self.data_dir),
            ],
            env,
            workdir / "app.log",
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        super().start()
        wait_until(self._serving, timeout=60, what=f"the field app on {self.url}")

    def _serving(self) -> bool:
        try:
            return httpx.get(self.url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        return "Debian chromium is not installed (apt-get install -y chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (uv sync)"
    return None
