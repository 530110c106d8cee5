"""A text field that never loses keystrokes when the app re-renders while the worker types.

The browser sends each keystroke twice: a property patch (the field's new text) and then the
`change` event our view-model hears. A re-render that runs between the two would send the
view-model's older text back and wipe the keystrokes in between — fast typing, or a busy page,
drops characters. So the field is rendered with the text it already holds (the latest patch,
read through a ref) while the view-model's value is the one the field itself last reported; only
when the view-model set a different value on its own (a reset, a normalised number) is that
value sent to the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft
from flet.components.hooks.use_ref import MutableRef


@ft.component
def TextInput(*, value: str, on_change: Callable[[str], object], **props: Any) -> ft.TextField:
    field: MutableRef[ft.Ref[ft.TextField]] = ft.use_ref(ft.Ref[ft.TextField])
    reported: MutableRef[str] = ft.use_ref(None)
    holder = field.current
    assert holder is not None  # created on the first render
    previous = holder.current
    shown = value
    if previous is not None and reported.current is not None and value == reported.current:
        shown = previous.value  # the model is where the field left it: keep the newer text

    def changed(event: ft.Event[ft.TextField]) -> None:
        text = event.control.value
        reported.current = text
        on_change(text)

    return ft.TextField(ref=holder, value=shown, on_change=changed, **props)
