"""The checklist at a business's door: each item with three big buttons (合格 / 不合格 / 不适用);
a failed item opens its note and photo button; one button saves the whole check offline."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel
from field_app.state.businesses import ChecklistScreen
from field_app.views import theme
from field_app.views.inputs import TextInput
from field_app.views.photos import photo_button
from field_app.views.widgets import action_button, padded, text

# The chosen answer's colour: a worker sees at a glance which items failed.
_COLOURS = {"pass": theme.OK, "fail": theme.BAD, "na": theme.MUTED}
_ICONS = {
    "pass": ft.Icons.CHECK_CIRCLE,
    "fail": ft.Icons.CANCEL,
    "na": ft.Icons.REMOVE_CIRCLE_OUTLINE,
}


def render(screen: ChecklistScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    rows: list[ft.Control] = [
        padded(
            text(
                t(
                    "checklist.progress",
                    answered=screen.answered,
                    total=len(screen.items),
                    failed=screen.failed,
                ),
                key="checklist-progress",
            )
        )
    ]
    for number, item in enumerate(screen.items, start=1):
        rows.append(_item(screen, item.id, number, screen.text_of(item, app.language), t))
    if not screen.items:
        rows.append(padded(text(t("checklist.empty"), color=theme.MUTED)))
    whole = screen.errors.get("")
    rows.append(
        padded(
            *(
                [text(t.field_error(whole), color=theme.BAD, key="checklist-error")]
                if whole
                else []
            ),
            action_button(
                t("checklist.save"),
                lambda _e: screen.save(),
                key="checklist-save",
                icon=ft.Icons.SAVE,
            ),
        )
    )
    return [ft.Column(rows, spacing=0, key="screen-checklist")]


def _item(
    screen: ChecklistScreen, item_id: str, number: int, wording: str, t: Translator
) -> ft.Control:
    chosen = screen.results.get(item_id)
    buttons: list[ft.Control] = []
    for result in ("pass", "fail", "na"):
        picked = chosen == result
        style = ft.ButtonStyle(
            bgcolor=_COLOURS[result] if picked else None,
            color=ft.Colors.WHITE if picked else _COLOURS[result],
            text_style=theme.text_style(theme.BODY),
        )
        make = ft.FilledButton if picked else ft.OutlinedButton
        buttons.append(
            make(
                t(f"check_result.{result}"),
                icon=_ICONS[result],
                key=f"check-{item_id}-{result}",
                height=theme.TARGET,
                expand=True,
                style=style,
                on_click=lambda _e, r=result: screen.set_result(item_id, r),
            )
        )
    failed = chosen == "fail"
    error = screen.errors.get(item_id)
    photos = screen.photos.get(item_id, [])
    body: list[ft.Control] = [
        text(f"{number}. {wording}", size=theme.BODY, bold=True, key=f"check-text-{item_id}"),
        ft.Row(buttons, spacing=8),
        # Always built (shown only on a failure) so the screen's inputs keep their places.
        TextInput(
            label=t("checklist.note"),
            value=screen.notes.get(item_id, ""),
            key=f"check-note-{item_id}",
            multiline=True,
            min_lines=1,
            max_lines=4,
            visible=failed,
            error=t.field_error(error) if error else None,
            on_change=lambda v: screen.set_note(item_id, v),
        ),
    ]
    if failed:
        body += [
            text(
                t("checklist.photos", n=len(photos)),
                size=theme.SMALL,
                key=f"check-photos-{item_id}",
            ),
            photo_button(
                t("checklist.add_photo"),
                lambda data: screen.add_photo(item_id, data),
                key=f"check-photo-{item_id}",
            ),
        ]
    elif error:
        body.append(text(t.field_error(error), color=theme.BAD))
    return ft.Container(
        ft.Column(body, spacing=theme.GAP - 4, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
        padding=ft.Padding.symmetric(horizontal=theme.PAD, vertical=10),
        border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
        key=f"check-item-{item_id}",
    )
