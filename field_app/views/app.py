"""The root component: the app bar, the status strip, the flash banner and the current screen.

It re-renders whenever the `AppViewModel` notifies; each screen's module only maps its
view-model to controls (`SCREENS`). Flet diffs the new tree against the old one, so typed text,
focus and scroll position survive a redraw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel, Screen
from field_app.views import (
    buildings,
    business_form,
    businesses,
    campaigns,
    checklist,
    grids,
    house,
    houses,
    matter,
    matter_report,
    matters,
    missed,
    move,
    resident,
    resident_form,
    search,
    setup,
    sync,
    theme,
    units,
    visit,
)
from field_app.views.hooks import use_observable
from field_app.views.widgets import flash_banner, leave_question, status_strip

Render = Callable[[Any, AppViewModel, Translator], list[ft.Control]]

SCREENS: dict[str, Render] = {
    "setup": setup.render,
    "grids": grids.render,
    "buildings": buildings.render,
    "units": units.render,
    "houses": houses.render,
    "house": house.render,
    "resident": resident.render,
    "resident_form": resident_form.render,
    "move": move.render,
    "visit": visit.render,
    "search": search.render,
    "sync": sync.render,
    "campaigns": campaigns.render,
    "missed": missed.render,
    "matters": matters.render,
    "matter": matter.render,
    "matter_report": matter_report.render,
    "businesses": businesses.render,
    "business": businesses.render_business,
    "to_check": businesses.render_to_check,
    "business_form": business_form.render,
    "checklist": checklist.render,
}


def app_bar(app: AppViewModel, screen: Screen, t: Translator) -> ft.AppBar:
    actions: list[ft.Control] = []
    if app.ready and screen.kind != "setup":
        actions += [
            ft.IconButton(
                ft.Icons.SEARCH,
                tooltip=t("action.search"),
                key="open-search",
                on_click=app.open_search,
                icon_size=28,
            ),
            ft.IconButton(
                ft.Icons.HOME_OUTLINED,
                tooltip=t("action.home"),
                key="go-home",
                on_click=app.home,
                icon_size=28,
            ),
        ]
    actions.append(
        ft.TextButton(
            t("action.switch_language"), key="switch-language", on_click=app.toggle_language
        )
    )
    leading = (
        ft.IconButton(ft.Icons.ARROW_BACK, tooltip=t("action.back"), key="back", on_click=app.back)
        if app.can_go_back
        else None
    )
    return ft.AppBar(
        title=ft.Text(t.msg(screen.title) or t("app.title"), size=theme.TITLE, key="title"),
        leading=leading,
        automatically_imply_leading=False,
        actions=actions,
        bgcolor=ft.Colors.PRIMARY_CONTAINER,
    )


@ft.component
def App(app: AppViewModel) -> list[ft.View]:
    use_observable(app)
    t = Translator(app.language)
    screen = app.screen
    body = SCREENS[screen.kind](screen, app, t)
    top: list[ft.Control] = []
    if screen.kind != "setup":
        top.append(status_strip(app, t))
    for banner in (leave_question(app, t), flash_banner(app, t)):
        if banner is not None:
            top.append(banner)
    # The status strip and banners stay put; only the screen's own content scrolls.
    return [
        ft.View(
            route="/",
            appbar=app_bar(app, screen, t),
            controls=[*top, ft.Column(body, spacing=0, scroll=ft.ScrollMode.AUTO, expand=True)],
            padding=0,
            spacing=0,
        )
    ]
