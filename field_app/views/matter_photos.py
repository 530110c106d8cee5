"""A matter's photos on its page: before (the report's) and after (the applications to close) as
thumbnails, and the photo the worker opened, whole when the phone holds it, with what is
happening otherwise (downloading, or: the full photo needs a connection)."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state.matters import MatterScreen
from field_app.views import theme
from field_app.views.widgets import action_button, padded, text

THUMB = 96  # px on the page: three to a row on a 390 px phone


def photo_sections(screen: MatterScreen, t: Translator) -> list[ft.Control]:
    """The opened photo (if any), then the two rows of thumbnails (those that have photos)."""
    controls: list[ft.Control] = []
    if screen.viewing is not None:
        controls.append(_viewer(screen, t))
    for key, names in (("before", screen.photos_before), ("after", screen.photos_after)):
        if names:
            controls.append(
                padded(
                    text(t(f"matter.photos_{key}"), bold=True),
                    ft.Row(
                        [_thumb(screen, sha, t) for sha in names],
                        wrap=True,
                        spacing=theme.GAP // 2,
                        run_spacing=theme.GAP // 2,
                    ),
                    key=f"matter-photos-{key}",
                )
            )
    return controls


def _thumb(screen: MatterScreen, sha256: str, t: Translator) -> ft.Control:
    picture = screen.picture(sha256)
    inner: ft.Control
    if picture is None:
        inner = ft.Container(
            text(t("photo.not_here"), size=theme.SMALL - 3, color=theme.MUTED),
            alignment=ft.Alignment.CENTER,
            padding=4,
        )
    else:
        inner = ft.Image(src=picture, width=THUMB, height=THUMB, fit=ft.BoxFit.COVER)
    return ft.Container(
        inner,
        width=THUMB,
        height=THUMB,
        bgcolor=ft.Colors.GREY_200,
        border_radius=6,
        clip_behavior=ft.ClipBehavior.HARD_EDGE,
        tooltip=t("photo.open"),
        on_click=lambda _e: screen.open_photo(sha256),
        key=f"photo-{sha256[:16]}",
    )


def _viewer(screen: MatterScreen, t: Translator) -> ft.Control:
    picture = screen.viewed()
    parts: list[ft.Control] = []
    if picture is not None:
        parts.append(ft.Image(src=picture, fit=ft.BoxFit.CONTAIN, width=358))
    note = {
        "loading": ("photo.loading", theme.MUTED),
        "offline": ("photo.needs_connection", theme.BAD),
        "failed": ("photo.failed", theme.BAD),
    }.get(screen.viewing_shown)
    if note is not None:
        parts.append(text(t(note[0]), color=note[1], key="photo-note"))
    parts.append(
        action_button(
            t("photo.close"), lambda _e: screen.close_photo(), key="photo-close", primary=False
        )
    )
    return padded(*parts, key="photo-viewer")
