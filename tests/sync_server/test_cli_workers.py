"""`gridsweep server --workers N` starts N children and keeps them: none is killed and replaced.

uvicorn's parent pings each child and replaces one that does not answer in time. Children
used to answer only after re-importing the whole CLI (every server library), so on a busy
machine they were killed and respawned over and over. The log must show N children started,
none died or was terminated, and the N serving.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.e2e.harness import ROOT, free_port, wait_until

WORKERS = 2
CLI = (sys.executable, "-m", "sync_server.cli")


# uvicorn's supervisor waits on an Event with a timeout between its rounds: under libfaketime
# that wait never ends (README, "thread_waits"), so it would never answer SIGTERM.
@pytest.mark.slow
@pytest.mark.thread_waits
def test_two_workers_start_once_each(tmp_path: Path) -> None:
    import httpx

    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'server.db'}",
        "GRIDSWEEP_SECRET_KEY": TEST_SECRET,
    }
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [*CLI, "server", "--port", str(port), "--workers", str(WORKERS)],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own, so a stuck parent is stopped with its workers
        )

    def started() -> list[str]:
        return re.findall(r"Started server process \[(\d+)\]", log.read_text(errors="replace"))

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).is_success
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=120, what="the server's health")
        wait_until(lambda: len(started()) >= WORKERS, timeout=120, what="both workers")
        # Every child has started its app, so none can be late to a ping any more; one more
        # round of pings (every 0.5 s) must leave them alone.
        wait_until(
            lambda: (
                log.read_text(errors="replace").count("Application startup complete") >= WORKERS
            ),
            timeout=120,
            what="both workers' startup",
        )
        assert proc.poll() is None
        before_stop = log.read_text(errors="replace")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the parent and its workers
            proc.wait(timeout=30)
    assert len(set(started())) == WORKERS, before_stop
    for respawn in ("died", "Terminated child", "was not ready in time"):
        assert respawn not in before_stop, before_stop
