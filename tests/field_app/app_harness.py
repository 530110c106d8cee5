"""The app's view-models wired to the real sync server in-process: a device store, a
`SyncService` whose client talks to the FastAPI app through Starlette's transport (which can be
cut, as a stairwell cuts the signal), and an `AppViewModel` over them. No Flet, no browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from field_app.state import AppViewModel, SyncService
from field_app.store import Store
from field_app.sync_client import SyncClient
from shared.clock import ManualClock
from tests.days import RUN_CLOCK
from tests.factories import PASSWORD
from tests.integration.harness import FlakyTransport

SERVER_URL = "http://testserver"


@dataclass
class Device:
    """One phone: its store file, its background service (driven by hand) and one window."""

    app: FastAPI
    path: Path
    clock: ManualClock = field(default_factory=lambda: ManualClock(RUN_CLOCK.now()))
    transport: FlakyTransport = field(init=False)
    service: SyncService = field(init=False)
    store: Store = field(init=False)
    vm: AppViewModel = field(init=False)
    notified: int = 0

    def __post_init__(self) -> None:
        self.transport = FlakyTransport(TestClient(self.app)._transport)
        self.service = SyncService(self.path, self.connect, poll_seconds=0, clock=self.clock)
        self.store = Store.open(self.path, clock=self.clock)
        self.vm = AppViewModel(self.store, self.service, server_url=SERVER_URL)
        self.vm.subscribe(self._count)
        # Started by hand: the tests call `work()` instead of running the worker thread.
        self.vm.service.start = lambda: None  # type: ignore[method-assign]
        self.vm.start()

    def connect(self, url: str, store: Store) -> SyncClient:
        assert url == SERVER_URL
        http = httpx.Client(transport=self.transport, base_url=url)
        return SyncClient(http, store, app_version="test")

    def _count(self) -> None:
        self.notified += 1

    def work(self, steps: int = 1) -> None:
        """Let the background worker do what is due (a queued job, or a health poll)."""
        for _ in range(steps):
            self.service.step()

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        from field_app.state import SetupScreen

        setup = self.vm.screen
        assert isinstance(setup, SetupScreen)
        setup.set_username(username)
        setup.set_password(password)
        assert setup.submit()
        self.work()

    def close(self) -> None:
        self.vm.close()
        self.store.close()
