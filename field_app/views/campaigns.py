"""Campaigns over the worker's grids, each with its counts; a tap opens the missed list."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel
from field_app.state.campaign import CampaignsScreen
from field_app.views import theme
from field_app.views.widgets import chip, nav_row, text


def render(screen: CampaignsScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    rows: list[ft.Control] = []
    for item in screen.items:
        values, tally = item.record.values, item.tally
        kind = item.kind_zh if app.language == "zh-CN" else str(values.get("kind") or "")
        rows.append(
            nav_row(
                key=f"campaign-{item.record.id}",
                title=item.name,
                lines=[
                    t(
                        "campaign.dates",
                        kind=kind,
                        start=values.get("start_date") or "",
                        end=values.get("end_date") or "",
                    ),
                    t(
                        "campaign.tally",
                        targets=tally.targets,
                        completed=tally.completed,
                        settled=tally.settled,
                        missed=tally.missed,
                    ),
                ],
                badge=chip(str(tally.missed), theme.WARN) if tally.missed else None,
                on_click=lambda _e, cid=item.record.id: screen.open(cid),
            )
        )
    if not screen.items:
        rows.append(text(t("campaign.none"), color=theme.MUTED))
    return [ft.Column(rows, spacing=0, key="screen-campaigns")]
