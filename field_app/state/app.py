"""The app as a whole, for one open window: the stack of screens, the language, the status line
(online or not, changes waiting, problems, sync progress) and the flash message.

It implements the `Context` the screens work in. Sync results arrive from the background
`SyncService` on its worker thread; `dispatch` (given by the view layer: "run this on the UI's
event loop") brings them over before any store is touched. Tests pass a `dispatch` that calls at
once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from field_app.i18n.catalogue import DEFAULT_LANGUAGE, LANGUAGES
from field_app.i18n.messages import Msg
from field_app.state.base import Screen
from field_app.state.matters import MatterScreen
from field_app.state.observable import Observable
from field_app.state.places import GridsScreen
from field_app.state.problems import SyncScreen
from field_app.state.search import SearchScreen
from field_app.state.setup import SetupScreen
from field_app.state.sync_service import SyncFailure, SyncService
from field_app.store import Store

LANGUAGE_KEY = "ui_language"
# Flet's app lifecycle states (ft.AppLifecycleState values) → in the foreground or not. "inactive"
# (a phone call, a system dialog over the app) changes nothing: the app is still on screen.
FOREGROUND_STATES = {
    "show": True,
    "resume": True,
    "restart": True,
    "hide": False,
    "pause": False,
    "detach": False,
}
Dispatch = Callable[[Callable[[], None]], None]


def call_now(fn: Callable[[], None]) -> None:
    fn()


@dataclass(frozen=True)
class StatusLine:
    """What the always-visible status strip shows."""

    online: bool | None
    pending: int
    conflicts: int
    rejected: int
    syncing: bool
    phase: str | None
    done: int
    total: int | None
    failure: SyncFailure | None
    sent_back: int = 0  # changes a supervisor sent back, not yet read
    told: int = 0  # notices of outranked values and settled conflicts, not yet read

    @property
    def problems(self) -> int:
        return self.conflicts + self.rejected + self.sent_back + self.told


class AppViewModel(Observable):
    """Navigation and app-wide state of one window over one device store."""

    def __init__(
        self,
        store: Store,
        service: SyncService,
        *,
        server_url: str,
        dispatch: Dispatch = call_now,
    ) -> None:
        super().__init__()
        self.store = store
        self.service = service
        self.default_server_url = server_url
        self._dispatch = dispatch
        saved = store.meta.get(LANGUAGE_KEY)
        self.language: str = saved if saved in LANGUAGES else DEFAULT_LANGUAGE
        self.stack: list[Screen] = []
        self.flash_message: Msg | None = None
        self.flash_error = False
        self._seen_finished = service.status.finished
        self._seen_fetched = service.status.fetched
        self._unsubscribe: Callable[[], None] | None = None
        self._sync_asked = False  # the worker tapped "sync": report even a sync with no news
        self._edits_seen = store.edits
        # Set while the worker is asked whether to drop what they typed: where they were going.
        self.leaving: Literal["back", "home"] | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Show the first screen and follow the sync service."""
        self._unsubscribe = self.service.subscribe(lambda: self._dispatch(self._on_service))
        self.stack = [self._home() if self.ready else self._setup()]
        self.service.start()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def app_lifecycle(self, state: str) -> None:
        """The phone moved the app to the background or back (`page.on_app_lifecycle_state_change`):
        the sync worker sleeps in the background and syncs on coming back (plan, not verified
        here: only a phone sends these)."""
        shown = FOREGROUND_STATES.get(state)
        if shown is not None:
            self.service.foreground(shown)

    @property
    def ready(self) -> bool:
        """Signed in and the worker's grids downloaded once: the app works offline from here."""
        return self.store.meta.token is not None and self.store.meta.last_sync_at is not None

    # --- Context (what screens use) ------------------------------------------------------------

    def today(self) -> date:
        return self.store.clock.today()

    def now(self) -> datetime:
        return self.store.clock.now()

    @property
    def user_id(self) -> str:
        return self.store.meta.user_id or ""

    @property
    def user_name(self) -> str:
        user: dict[str, Any] = self.store.meta.user or {}
        return str(user.get("display_name") or user.get("username") or "")

    def changed(self) -> None:
        self.notify()

    def notify(self) -> None:
        # Every screen redraws through here after it saved something: a new local change is
        # handed to the sync service, which pushes it shortly if the device is online.
        if self.store.edits != self._edits_seen:
            self._edits_seen = self.store.edits
            self.service.edited()
        super().notify()

    def push(self, screen: Screen) -> None:
        self.leaving = None
        self.stack.append(screen)
        self.flash_message = None
        self.notify()

    def back(self) -> None:
        """Leave the top screen; the one below is reloaded (its counts may have changed). A
        screen holding something typed and not saved asks first (`leaving`); going back again
        while asked leaves, as a second tap on a phone's back button does."""
        if not self._asks_before("back"):
            self._leave("back")

    def home(self) -> None:
        if self.ready and not self._asks_before("home"):
            self._leave("home")

    def stay(self) -> None:
        """Keep editing: the question "discard what you typed?" is answered no."""
        self.leaving = None
        self.notify()

    def discard(self) -> None:
        """Leave anyway, dropping what was typed and not saved."""
        where, self.leaving = self.leaving, None
        if where is not None:
            self._leave(where)

    def _asks_before(self, where: Literal["back", "home"]) -> bool:
        if self.stack and self.screen.unsaved and self.leaving is None:
            self.leaving = where
            self.notify()
            return True
        self.leaving = None
        return False

    def _leave(self, where: Literal["back", "home"]) -> None:
        if where == "home":
            self.stack = [self._home()]
            self.flash_message = None
        elif len(self.stack) > 1:
            self.stack.pop()
            self.stack[-1].refresh()
        self.notify()

    def flash(self, message: Msg, *, error: bool = False) -> None:
        self.flash_message = message
        self.flash_error = error
        self.notify()

    def dismiss_flash(self) -> None:
        self.flash_message = None
        self.notify()

    def request_sync(self) -> None:
        if not self.service.request_sync():
            self.flash(Msg("flash.sync_running"))
        else:
            self._sync_asked = True
            self.notify()

    def fetch_photo(self, sha256: str) -> bool:
        if self.service.status.online is False:
            return False
        self.service.fetch_photo(sha256)
        return True

    # --- app-wide actions ----------------------------------------------------------------------

    @property
    def screen(self) -> Screen:
        return self.stack[-1]

    @property
    def can_go_back(self) -> bool:
        return len(self.stack) > 1

    def set_language(self, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"{language!r} is not one of {', '.join(LANGUAGES)}.")
        self.language = language
        with self.store.transaction():
            self.store.meta.set(LANGUAGE_KEY, language)
        self.notify()

    def toggle_language(self) -> None:
        self.set_language(LANGUAGES[(LANGUAGES.index(self.language) + 1) % len(LANGUAGES)])

    def open_search(self) -> None:
        if not isinstance(self.screen, SearchScreen):
            self.push(SearchScreen(self))

    def open_sync(self) -> None:
        if not isinstance(self.screen, SyncScreen):
            self.push(SyncScreen(self))

    def sign_in_again(self) -> None:
        user: dict[str, Any] = self.store.meta.user or {}
        self.push(self._setup(username=str(user.get("username") or ""), relogin=True))

    @property
    def status(self) -> StatusLine:
        counts = self.store.counts()
        service = self.service.status
        return StatusLine(
            online=service.online,
            pending=self.store.pending_changes() if counts.pending else 0,
            conflicts=counts.conflict,
            rejected=counts.rejected,
            syncing=service.running,
            phase=service.phase,
            done=service.done,
            total=service.total,
            failure=service.failure,
            sent_back=len(self.store.review_notes()),
            told=len(self.store.notices()),
        )

    # --- sync results (on the UI's thread, via dispatch) ---------------------------------------

    def _on_service(self) -> None:
        status = self.service.status
        if status.fetched != self._seen_fetched:
            # Thumbnails or a whole photo arrived (or did not): the screens show them.
            self._seen_fetched = status.fetched
            for screen in self.stack:
                if isinstance(screen, MatterScreen):
                    screen.photo_fetched(status.photo)
        if status.finished != self._seen_finished:
            self._seen_finished = status.finished
            top = self.screen if self.stack else None
            if isinstance(top, SetupScreen) and top.waiting:
                top.finished(status.failure)
                if status.failure is None:
                    self._signed_in(top)
            elif status.failure is None and status.report is not None:
                report = status.report
                asked, self._sync_asked = self._sync_asked, False
                if not (asked or report.sent or report.received or report.removed):
                    # A background sync that found nothing to do is not news.
                    for screen in self.stack:
                        screen.refresh()
                    self.notify()
                    return
                self.flash_message = Msg.of(
                    "sync.done",
                    sent=report.sent,
                    received=report.received,
                    merged=report.merged,
                    conflicts=report.conflicts,
                    rejected=report.rejected,
                )
                self.flash_error = bool(report.conflicts or report.rejected)
            elif status.failure is not None:
                self.flash_message = Msg(f"failure.{status.failure.kind}")
                self.flash_error = True
            for screen in self.stack:
                screen.refresh()  # pulled changes, settled conflicts, moved records
        self.notify()

    def _signed_in(self, setup: SetupScreen) -> None:
        if setup.relogin and len(self.stack) > 1:
            self.stack.pop()
        else:
            self.stack = [self._home()]
        self.flash_message = Msg("flash.ready")
        self.flash_error = False

    def _home(self) -> Screen:
        return GridsScreen(self)

    def _setup(self, *, username: str = "", relogin: bool = False) -> SetupScreen:
        url = self.store.meta.server_url or self.default_server_url
        return SetupScreen(self, self.service, server_url=url, username=username, relogin=relogin)
