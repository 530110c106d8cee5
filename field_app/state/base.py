"""What every screen's view-model has: the app context it works in, a title, and `refresh()`.

A screen view-model holds the state of one screen (what is listed, what is typed, which errors
show) and its behaviour as methods; its view only draws it and forwards taps. It reads and writes
through the device `Store` it is given, never SQL or HTTP of its own, and tells the app to redraw
through `ctx.changed()`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Protocol

from field_app.i18n.messages import Msg
from field_app.store import Store
from shared.errors import FieldError


class Context(Protocol):
    """What the app offers its screens (implemented by `AppViewModel`)."""

    store: Store

    def today(self) -> date: ...

    def now(self) -> datetime: ...

    @property
    def user_id(self) -> str: ...

    def changed(self) -> None: ...

    def push(self, screen: Screen) -> None: ...

    def back(self) -> None: ...

    def flash(self, message: Msg, *, error: bool = False) -> None: ...

    def request_sync(self) -> None: ...

    def fetch_photo(self, sha256: str) -> bool:
        """Ask for a whole photo in the background; False when the device is offline (the
        screen says the photo needs a connection)."""
        ...


class Screen:
    """Base of the screens' view-models."""

    kind: ClassVar[str] = ""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def title(self) -> Msg:
        return Msg(f"screen.{self.kind}")

    def refresh(self) -> None:
        """Reload what the screen shows from the store (after a sync, or coming back to it)."""

    @property
    def unsaved(self) -> bool:
        """Whether leaving now would lose something the worker typed (the app asks first)."""
        return False


def errors_by_field(errors: list[FieldError]) -> dict[str, FieldError]:
    """The first error of each field, for showing under that field."""
    found: dict[str, FieldError] = {}
    for error in errors:
        found.setdefault(error.field, error)
    return found
