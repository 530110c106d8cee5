"""Redrawing a component when a view-model changes, from whatever thread it changed on.

Flet's update scheduler lives on the page's event loop and is not thread-safe; a view-model may
notify from the sync worker's thread. The listener therefore only schedules, with
`page.run_task`, a state bump on the loop; the re-render happens there.
"""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from field_app.state.observable import Observable


def use_observable(observable: Observable) -> None:
    """Re-render the calling component after each `observable.notify()`."""
    page = ft.context.page
    _, set_version = ft.use_state(0)

    def subscribe() -> Callable[[], None]:
        async def bump() -> None:
            set_version(lambda n: n + 1)

        def listener() -> None:
            page.run_task(bump)

        return observable.subscribe(listener)

    ft.use_effect(subscribe, [observable])
