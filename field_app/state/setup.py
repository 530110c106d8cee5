"""First run (and signing in again): server address, username, password; then the device
downloads its grids with a progress bar. From then on the app works with no network at all.
"""

from __future__ import annotations

from field_app.i18n.messages import Msg
from field_app.state.base import Context, Screen
from field_app.state.sync_service import SyncFailure, SyncService


class SetupScreen(Screen):
    kind = "setup"

    def __init__(
        self,
        ctx: Context,
        service: SyncService,
        *,
        server_url: str,
        username: str = "",
        relogin: bool = False,
    ) -> None:
        super().__init__(ctx)
        self.service = service
        self.server_url = server_url
        self.username = username
        self.password = ""
        self.relogin = relogin  # signing in again: afterwards, back to where the worker was
        self.missing: set[str] = set()
        self.waiting = False  # a sign-in of ours is queued or running
        self.failure: SyncFailure | None = None

    @property
    def title(self) -> Msg:
        return Msg("screen.setup")

    @property
    def busy(self) -> bool:
        return self.waiting

    @property
    def progress(self) -> tuple[int, int | None]:
        status = self.service.status
        return status.done, status.total

    @property
    def downloading(self) -> bool:
        status = self.service.status
        return self.waiting and status.job == "sync"

    def set_server_url(self, text: str) -> None:
        self.server_url = text
        self.missing.discard("server_url")
        self.ctx.changed()

    def set_username(self, text: str) -> None:
        self.username = text
        self.missing.discard("username")
        self.ctx.changed()

    def set_password(self, text: str) -> None:
        self.password = text
        self.missing.discard("password")
        self.ctx.changed()

    def submit(self) -> bool:
        """Queue the sign-in and first download; False if a field is empty or one is running."""
        if self.waiting:
            return False
        fields = {
            "server_url": self.server_url,
            "username": self.username,
            "password": self.password,
        }
        self.missing = {name for name, value in fields.items() if not value.strip()}
        self.failure = None
        if self.missing:
            self.ctx.changed()
            return False
        self.waiting = True
        self.service.sign_in(self.server_url, self.username, self.password)
        self.password = ""  # not kept in memory longer than needed
        self.ctx.changed()
        return True

    def finished(self, failure: SyncFailure | None) -> None:
        """The service finished our sign-in (and download): called by the app."""
        self.waiting = False
        self.failure = failure
