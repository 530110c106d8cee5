"""Where a matter's photo comes from: the phone's camera in the phone app, the file picker
everywhere else (web mode in a browser, a desktop, a phone's browser).

The camera is Flet's `flet-camera` extension (a `Camera` control: preview, `take_picture()` →
JPEG bytes), built into the phone app by `flet build` from the app's dependencies, with the
`camera` permission bundle of field_app/pyproject.toml. It is imported only when a phone opens
it: web mode never loads it. Plan, not verified here: there is no phone or Flutter SDK on these
machines, so the dialog below has never run on a device; what is tested is the choice
(`photo_source`, `pick_camera`), and any failure of the camera falls back to the file picker so a
worker is never left without a way to add a photo.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Sequence
from typing import Any, Literal

import flet as ft

PhotoSource = Literal["camera", "picker"]
PHONE_PLATFORMS = frozenset({"android", "ios"})


def camera_installed() -> bool:
    """Whether the `flet-camera` extension is installed (the phone build brings it)."""
    return importlib.util.find_spec("flet_camera") is not None


def photo_source(*, web: bool, platform: str | None, camera: bool) -> PhotoSource:
    """The camera for the phone app (Android or iOS, not in a browser) when `camera` (the
    extension is installed); the file picker otherwise."""
    if not web and (platform or "").lower() in PHONE_PLATFORMS and camera:
        return "camera"
    return "picker"


def page_source(page: ft.Page) -> PhotoSource:
    platform = getattr(page, "platform", None)
    name = platform.value if isinstance(platform, ft.PagePlatform) else platform
    return photo_source(
        web=bool(getattr(page, "web", True)), platform=name, camera=camera_installed()
    )


def pick_camera(cameras: Sequence[Any]) -> Any | None:
    """The camera to photograph a doorstep with: the first facing back, else the first one."""
    for camera in cameras:
        direction = getattr(camera, "lens_direction", None)
        if getattr(direction, "value", direction) == "back":
            return camera
    return cameras[0] if cameras else None


async def take_photo(page: ft.Page, *, shutter: str, cancel: str) -> bytes | None:
    """Open the camera in a dialog; the JPEG taken, or None when the worker cancelled. Raises
    whatever the camera raises (no camera, permission refused): the caller falls back to the
    file picker."""
    import flet_camera as fc  # the phone build's extension; never loaded in web mode

    camera = fc.Camera(expand=True)
    taken: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()

    async def shoot(_e: ft.Event[ft.Button]) -> None:
        data = await camera.take_picture()
        if not taken.done():
            taken.set_result(data)

    def close(_e: ft.Event[ft.TextButton]) -> None:
        if not taken.done():
            taken.set_result(None)

    dialog = ft.AlertDialog(
        modal=True,
        content=ft.Container(camera, width=360, height=480),
        actions=[
            ft.FilledButton(shutter, icon=ft.Icons.CAMERA_ALT, on_click=shoot, key="camera-shoot"),
            ft.TextButton(cancel, on_click=close, key="camera-cancel"),
        ],
    )
    page.show_dialog(dialog)
    try:
        chosen = pick_camera(await camera.get_available_cameras())
        if chosen is None:
            raise RuntimeError("this phone reports no camera")
        await camera.initialize(chosen, fc.ResolutionPreset.HIGH, enable_audio=False)
        return await taken
    finally:
        page.pop_dialog()
