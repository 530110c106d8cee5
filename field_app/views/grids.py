"""Home: the worker's grids, each with buildings, people and today's visits."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel, GridsScreen
from field_app.views import theme
from field_app.views.widgets import (
    action_button,
    chip,
    nav_row,
    padded,
    review_note_card,
    section,
    text,
    told_card,
)
from shared.schema import LEVEL_ZH


def render(screen: GridsScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    rows: list[ft.Control] = []
    if screen.notes:
        rows.append(section(t("review.title"), key="review-notes"))
        rows += [
            review_note_card(
                note,
                t,
                on_open=lambda _e, op_id=note.op_id: screen.open_note(op_id),
                on_dismiss=lambda _e, op_id=note.op_id: screen.dismiss_note(op_id),
            )
            for note in screen.notes
        ]
    if screen.told:
        rows.append(section(t("told.title"), key="told"))
        rows += [
            told_card(
                told, t, on_dismiss=lambda _e, op_id=told.notice.op_id: screen.dismiss_told(op_id)
            )
            for told in screen.told
        ]
    if app.user_name:
        rows.append(section(app.user_name, key="user-name"))
    counts = screen.matter_counts
    matter_line = (
        t("home.claim", claimable=counts.claimable, open=counts.open)
        if screen.matter_scope == "claim"
        else t("home.matters", open=counts.open, overdue=counts.overdue)
    )
    rows.append(
        nav_row(
            key="open-matters",
            title=t("screen.matters"),
            lines=[matter_line],
            badge=chip(str(counts.overdue), theme.BAD) if counts.overdue else None,
            on_click=lambda _e: screen.open_matters(),
        )
    )
    if screen.matter_scope != "claim":
        rows.append(
            nav_row(
                key="open-businesses",
                title=t("screen.businesses"),
                lines=[
                    t(
                        "home.businesses",
                        n=screen.business_counts[0],
                        campaigns=screen.business_counts[1],
                    )
                ],
                on_click=lambda _e: screen.open_businesses(),
                leading=ft.Icon(ft.Icons.STOREFRONT, color=ft.Colors.PRIMARY),
            )
        )
    for item in screen.items:
        grid, tally = item.record, item.tally
        level = (
            LEVEL_ZH.get(int(grid.values.get("level") or 5), "") if app.language == "zh-CN" else ""
        )
        rows.append(
            nav_row(
                key=f"grid-{grid.id}",
                title=str(grid.values.get("name") or grid.values.get("code") or ""),
                lines=[
                    " · ".join(p for p in (level, str(grid.values.get("code") or "")) if p),
                    " · ".join(
                        (
                            t("tally.buildings", n=tally.buildings),
                            t("tally.residents", n=tally.residents),
                            t("tally.visited", visited=tally.visited, houses=tally.houses),
                        )
                    ),
                ],
                badge=chip(t("tally.done"), theme.OK) if tally.done else None,
                on_click=lambda _e, gid=grid.id: screen.open(gid),
            )
        )
    if screen.matter_scope == "claim":
        # A handler (unit staff, a volunteer) has no grids to sweep, only orders.
        return [ft.Column(rows, spacing=0, key="screen-grids")]
    if not screen.items:
        rows.append(text(t("houses.none"), color=theme.MUTED))
    campaigns = action_button(
        t("action.campaigns"),
        lambda _e: screen.open_campaigns(),
        key="open-campaigns",
        icon=ft.Icons.CHECKLIST,
        primary=False,
    )
    rows.append(padded(campaigns))
    return [ft.Column(rows, spacing=0, key="screen-grids")]
