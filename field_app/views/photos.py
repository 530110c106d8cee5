"""Small pieces the matters' views share: a moment in the worker's time, and the photo button
(the file picker in web mode; a phone's camera through `flet-camera` is the plan, not verified
here)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import flet as ft

from field_app.views import theme
from shared.clock import CHINA_TIME, parse_timestamp


def when(moment: datetime | str | None) -> str:
    """ "12-07 10:15", China time: what a worker reads on a deadline or a step."""
    instant = parse_timestamp(moment) if isinstance(moment, str) else moment
    return instant.astimezone(CHINA_TIME).strftime("%m-%d %H:%M") if instant else ""


def photo_button(label: str, on_photo: Callable[[bytes], object], *, key: str) -> ft.Control:
    """Pick pictures; each one's bytes go to `on_photo` (the store shrinks and keeps them)."""

    async def pick(_e: ft.Event[ft.OutlinedButton]) -> None:
        files = await ft.FilePicker().pick_files(
            file_type=ft.FilePickerFileType.IMAGE, allow_multiple=True, with_data=True
        )
        for picked in files or []:
            if picked.bytes:
                on_photo(picked.bytes)

    return ft.OutlinedButton(
        label,
        icon=ft.Icons.ADD_A_PHOTO,
        key=key,
        height=theme.TARGET,
        style=theme.button_style(),
        on_click=pick,
    )
