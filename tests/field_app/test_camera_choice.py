"""Where a photo comes from (field_app/views/camera.py): the camera in the phone app, the file
picker in web mode and on computers, decided without Flutter. The camera dialog itself needs a
phone and is not run here (plan, not verified)."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import flet as ft
import pytest

from field_app.views import camera


@pytest.mark.parametrize(
    ("web", "platform", "installed", "expected"),
    [
        (False, "android", True, "camera"),
        (False, "ios", True, "camera"),
        (True, "android", True, "picker"),  # a phone's browser on the web app
        (False, "linux", True, "picker"),  # a desktop window
        (False, "android", False, "picker"),  # a build without the extension
        (True, None, True, "picker"),
    ],
)
def test_the_phone_app_takes_photos_with_the_camera_and_web_mode_picks_files(
    web: bool, platform: str | None, installed: bool, expected: str
) -> None:
    assert camera.photo_source(web=web, platform=platform, camera=installed) == expected


def test_a_page_is_judged_by_its_platform_and_whether_it_is_a_browser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(camera, "camera_installed", lambda: True)
    phone = SimpleNamespace(web=False, platform=ft.PagePlatform.ANDROID)
    browser = SimpleNamespace(web=True, platform=ft.PagePlatform.ANDROID)
    assert camera.page_source(phone) == "camera"  # type: ignore[arg-type]
    assert camera.page_source(browser) == "picker"  # type: ignore[arg-type]


def test_the_back_camera_is_chosen_for_a_doorstep() -> None:
    front = SimpleNamespace(name="1", lens_direction=SimpleNamespace(value="front"))
    back = SimpleNamespace(name="0", lens_direction=SimpleNamespace(value="back"))
    assert camera.pick_camera([front, back]) is back
    assert camera.pick_camera([front]) is front
    assert camera.pick_camera([]) is None


def test_the_pinned_extension_has_what_the_dialog_calls() -> None:
    import flet_camera

    assert camera.camera_installed()
    for method in ("get_available_cameras", "initialize", "take_picture"):
        assert inspect.iscoroutinefunction(getattr(flet_camera.Camera, method)), method
    assert "resolution_preset" in inspect.signature(flet_camera.Camera.initialize).parameters
    assert flet_camera.ResolutionPreset.HIGH.value == "high"
