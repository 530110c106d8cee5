"""The units (单元) of a building, and the houses that belong to none."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel, UnitsScreen
from field_app.views import theme
from field_app.views.widgets import chip, nav_row, section


def render(screen: UnitsScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    whole = screen.tally
    rows: list[ft.Control] = [
        section(
            " · ".join(
                (
                    t("tally.residents", n=whole.residents),
                    t("tally.visited", visited=whole.visited, houses=whole.houses),
                )
            )
        )
    ]
    for item in screen.items:
        unit, tally = item.record, item.tally
        rows.append(
            nav_row(
                key=f"unit-{unit.id}",
                title=str(unit.values.get("name") or ""),
                lines=[
                    " · ".join(
                        (
                            t("tally.residents", n=tally.residents),
                            t("tally.visited", visited=tally.visited, houses=tally.houses),
                        )
                    )
                ],
                badge=chip(t("tally.done"), theme.OK) if tally.done else None,
                on_click=lambda _e, uid=unit.id: screen.open(uid),
            )
        )
    if screen.houses_without_unit > 0:
        rows.append(
            nav_row(
                key="unit-none",
                title=t("units.no_unit"),
                lines=[t("tally.houses", n=screen.houses_without_unit)],
                on_click=lambda _e: screen.open(None),
            )
        )
    return [ft.Column(rows, spacing=0, key="screen-units")]
