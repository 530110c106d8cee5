"""First run: server address, username and password, then the download with its progress."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel, SetupScreen
from field_app.views import theme
from field_app.views.inputs import TextInput
from field_app.views.widgets import action_button, padded, progress_bar, text


def render(screen: SetupScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    def field(
        name: str, label: str, value: str, on_change: Callable[[str], object], **extra: object
    ) -> ft.Control:
        return TextInput(
            label=label,
            value=value,
            key=f"setup-{name}",
            error=t("setup.required") if name in screen.missing else None,
            on_change=on_change,
            disabled=screen.busy,
            text_size=theme.BODY + 1,
            **extra,
        )

    controls: list[ft.Control] = [
        text(t("setup.intro"), color=theme.MUTED),
        field(
            "server_url",
            t("setup.server_url"),
            screen.server_url,
            screen.set_server_url,
            keyboard_type=ft.KeyboardType.URL,
        ),
        field(
            "username",
            t("setup.username"),
            screen.username,
            screen.set_username,
            autocorrect=False,
        ),
        field(
            "password",
            t("setup.password"),
            screen.password,
            screen.set_password,
            password=True,
            can_reveal_password=True,
            on_submit=lambda _e: screen.submit(),
        ),
    ]
    if screen.failure is not None:
        controls.append(
            text(t(f"failure.{screen.failure.kind}"), color=theme.BAD, key="setup-failure")
        )
    if screen.busy:
        done, total = screen.progress
        if screen.downloading:
            label = (
                t("setup.downloading", done=done, total=total)
                if total
                else t("setup.downloading_unknown", done=done)
            )
        else:
            label = t("setup.signing_in")
        controls += [progress_bar(done, total, key="setup-progress"), text(label, key="setup-busy")]
    else:
        controls.append(
            action_button(t("setup.submit"), screen.submit, key="setup-submit", icon=ft.Icons.LOGIN)
        )
    return [padded(*controls, key="screen-setup")]
