"""Small pieces the matters' views share: a moment in the worker's time, and the photo button
(the phone's camera in the phone app, the file picker in web mode: `views.camera`; the camera is
the plan, not verified here)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import flet as ft

from field_app.views import theme
from field_app.views.camera import page_source, take_photo
from shared.clock import CHINA_TIME, parse_timestamp

log = logging.getLogger(__name__)


def when(moment: datetime | str | None) -> str:
    """ "12-07 10:15", China time: what a worker reads on a deadline or a step."""
    instant = parse_timestamp(moment) if isinstance(moment, str) else moment
    return instant.astimezone(CHINA_TIME).strftime("%m-%d %H:%M") if instant else ""


def photo_button(
    label: str,
    on_photo: Callable[[bytes], object],
    *,
    key: str,
    shutter: str = "拍照",
    cancel: str = "取消",
) -> ft.Control:
    """Take a photo (phone app) or pick pictures (web mode); each one's bytes go to `on_photo`
    (the store shrinks and keeps them). `shutter` and `cancel` label the camera's buttons."""

    async def pick(e: ft.Event[ft.OutlinedButton]) -> None:
        page = e.page
        if isinstance(page, ft.Page) and page_source(page) == "camera":
            try:
                taken = await take_photo(page, shutter=shutter, cancel=cancel)
            except Exception:  # no camera, permission refused: the picker still works
                log.warning("the camera failed; falling back to the file picker", exc_info=True)
            else:
                if taken:
                    on_photo(taken)
                return
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
