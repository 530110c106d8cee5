"""The one mechanism by which view-models tell views to redraw: a list of listeners.

Plain Python on purpose (no Flet): tests subscribe a counter; the Flet views subscribe a callback
that schedules a re-render on the page's event loop.
"""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[[], None]


class Observable:
    """Something whose state changes; `notify()` calls every subscribed listener."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` after each change; returns the function that unsubscribes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def notify(self) -> None:
        # A copy: a listener may unsubscribe itself while we iterate.
        for listener in list(self._listeners):
            listener()
