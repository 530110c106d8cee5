"""Moving a resident out of their house, or to another house, on a given day."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel, MoveScreen
from field_app.views import theme
from field_app.views.inputs import TextInput
from field_app.views.widgets import action_button, choice_buttons, field_error, padded, text


def render(screen: MoveScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    errors = dict(screen.errors)
    controls: list[ft.Control] = []
    for binding in screen.current:
        house = app.store.get("house", binding.values.get("house_id") or "")
        address = str((house.values.get("address") or house.values.get("room")) if house else "")
        controls.append(text(t("move.current", address=address), key="move-current"))
    controls += [
        choice_buttons(
            [("out", t("move.out")), ("to", t("move.to"))],
            screen.mode,
            lambda v: screen.set_mode("to" if v == "to" else "out"),
            key="move-mode",
        ),
        TextInput(
            label=t("field.date"),
            value=screen.day,
            key="move-date",
            error=field_error(t, errors, "date"),
            on_change=screen.set_day,
        ),
    ]
    if screen.mode == "to":
        controls += [
            TextInput(
                label=t("move.find_house"),
                value=screen.query,
                key="move-search",
                prefix_icon=ft.Icons.SEARCH,
                error=field_error(t, errors, "house_id"),
                on_change=screen.search,
            ),
        ]
        if screen.target is not None:
            chosen = screen.target.values.get("address") or screen.target.values.get("room")
            controls.append(text(t("move.chosen", address=chosen), bold=True, key="move-chosen"))
        for house in screen.houses[:15]:
            controls.append(
                ft.OutlinedButton(
                    str(house.values.get("address") or house.values.get("room") or ""),
                    key=f"move-house-{house.id}",
                    on_click=lambda _e, hid=house.id: screen.choose(hid),
                )
            )
        if screen.query.strip() and not screen.houses:
            controls.append(text(t("move.no_houses"), color=theme.MUTED))
        controls += [
            text(t("field.relation"), size=theme.SMALL, color=theme.MUTED),
            choice_buttons(
                [(r, t.choice("relation", r)) for r in screen.relations],
                screen.relation,
                screen.set_relation,
                key="move-relation",
            ),
        ]
    controls.append(
        action_button(t("action.save"), screen.save, key="move-save", icon=ft.Icons.SAVE)
    )
    return [padded(*controls, key="screen-move")]
