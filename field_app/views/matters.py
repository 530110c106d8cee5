"""Matters: the lists (by role), a state filter, each matter with its deadline; report one."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel
from field_app.state.matters import STATES, MattersScreen
from field_app.store.matters import MatterItem
from field_app.views import theme
from field_app.views.photos import when
from field_app.views.widgets import action_button, chip, choice_buttons, nav_row, padded, text


def render(screen: MattersScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    head: list[ft.Control] = []
    if len(screen.scopes) > 1:
        head.append(
            choice_buttons(
                [(s, t(f"matters.scope.{s}")) for s in screen.scopes],
                screen.scope,
                screen.set_scope,
                key="matters-scope",
            )
        )
    counts = screen.counts.by_state
    states = [("", t("matters.all"))] + [
        (s, f"{t.choice('matter_state', s)} {counts[s]}") for s in STATES if counts.get(s)
    ]
    head.append(
        choice_buttons(
            states, screen.state or "", lambda s: screen.set_state(s or None), key="matters-state"
        )
    )
    if screen.can_report:
        head.append(
            action_button(
                t("matters.report"),
                lambda _e: screen.report(),
                key="matters-report",
                icon=ft.Icons.ADD_ALERT,
            )
        )
    rows: list[ft.Control] = [padded(*head)]
    rows += [_row(screen, item, t) for item in screen.items]
    if not screen.items:
        rows.append(padded(text(t("matters.none"), color=theme.MUTED)))
    return [ft.Column(rows, spacing=0, key="screen-matters")]


def _row(screen: MattersScreen, item: MatterItem, t: Translator) -> ft.Control:
    lines = [
        " · ".join(
            p
            for p in (
                t.choice("matter_state", item.state),
                t.choice("urgency", str(item.shown.get("urgency") or "")),
                t("matters.due", when=when(item.due_at)) if item.due_at else "",
            )
            if p
        ),
        str(item.shown.get("description") or ""),
    ]
    if item.pending_steps:
        lines.append(t("matters.pending", n=item.pending_steps))
    if item.refused_steps:
        lines.append(t("matters.stale", n=item.refused_steps))
    badge = chip(t("matters.overdue"), theme.BAD) if item.overdue else None
    return nav_row(
        key=f"matter-{item.id}",
        title=screen.title_of(item),
        lines=lines,
        badge=badge,
        on_click=lambda _e, mid=item.id: screen.open(mid),
    )
