"""The buildings of a grid, with units, people and today's visits per building."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel, BuildingsScreen
from field_app.state.places import building_label
from field_app.views import theme
from field_app.views.widgets import chip, nav_row


def render(screen: BuildingsScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    rows: list[ft.Control] = []
    for item in screen.items:
        building, tally = item.record, item.tally
        counts = [t("tally.residents", n=tally.residents)]
        if tally.units:
            counts.insert(0, t("tally.units", n=tally.units))
        rows.append(
            nav_row(
                key=f"building-{building.id}",
                title=building_label(building),
                lines=[
                    " · ".join(counts),
                    t("tally.visited", visited=tally.visited, houses=tally.houses),
                ],
                badge=chip(t("tally.done"), theme.OK)
                if tally.done
                else chip(t("tally.todo", n=tally.houses - tally.visited), theme.WARN),
                on_click=lambda _e, bid=building.id: screen.open(bid),
            )
        )
    return [ft.Column(rows, spacing=0, key="screen-buildings")]
