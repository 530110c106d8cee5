"""The doors of a building or unit: room, how many live there, visited today or not."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel, HousesScreen
from field_app.views import theme
from field_app.views.widgets import chip, nav_row, sync_badge, text


def render(screen: HousesScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    header = ft.Container(
        ft.Row(
            [
                text(
                    t("tally.visited", visited=screen.visited, houses=len(screen.all_items)),
                    bold=True,
                    key="houses-tally",
                ),
                ft.Switch(
                    label=t("houses.only_unvisited"),
                    value=screen.only_unvisited,
                    key="only-unvisited",
                    on_change=lambda _e: screen.toggle_unvisited(),
                ),
            ],
            alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
            wrap=True,
        ),
        padding=ft.Padding.symmetric(horizontal=theme.PAD, vertical=8),
    )
    rows: list[ft.Control] = [header]
    for item in screen.items:
        house = item.house
        status = (
            chip(t("house.visited_today"), theme.OK)
            if item.visited_today
            else chip(t("house.not_visited"), theme.MUTED)
        )
        badge = sync_badge(house.sync_state, t)
        rows.append(
            nav_row(
                key=f"house-{house.id}",
                title=str(house.values.get("room") or ""),
                lines=[t("house.occupants", n=item.residents)],
                badge=ft.Column(
                    [c for c in (status, badge) if c is not None],
                    spacing=4,
                    horizontal_alignment=ft.CrossAxisAlignment.END,
                ),
                leading=ft.Icon(
                    ft.Icons.CHECK_CIRCLE
                    if item.visited_today
                    else ft.Icons.DOOR_FRONT_DOOR_OUTLINED,
                    color=theme.OK if item.visited_today else theme.MUTED,
                    size=30,
                ),
                on_click=lambda _e, hid=house.id: screen.open(hid),
            )
        )
    if not screen.items:
        rows.append(ft.Container(text(t("houses.none"), color=theme.MUTED), padding=theme.PAD))
    return [ft.Column(rows, spacing=0, key="screen-houses")]
