"""One house at the door: residents (tap one to open), visits, add a person, record a visit."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel, HouseScreen
from field_app.views import theme
from field_app.views.widgets import action_button, chip, nav_row, padded, section, sync_badge, text
from shared.clock import china_timestamp_text
from shared.validation import mask_id_number


def render(screen: HouseScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    summary = screen.summary
    if summary is None:
        return [padded(text(t("flash.record_gone"), color=theme.MUTED), key="screen-house")]
    visited = (
        chip(t("house.visited_today"), theme.OK, key="house-visited")
        if summary.visited_today
        else chip(t("house.not_visited"), theme.MUTED, key="house-visited")
    )
    controls: list[ft.Control] = [
        padded(
            text(screen.address, size=theme.BODY, key="house-address", selectable=True),
            ft.Row([visited], wrap=True),
            ft.Row(
                [
                    action_button(
                        t("action.record_visit"),
                        lambda: screen.record_visit(),
                        key="record-visit",
                        icon=ft.Icons.HOW_TO_REG,
                    ),
                    action_button(
                        t("action.add_resident"),
                        screen.add_resident,
                        key="add-resident",
                        icon=ft.Icons.PERSON_ADD,
                        primary=False,
                    ),
                    action_button(
                        t("action.report_matter"),
                        lambda _e: screen.report_matter(),
                        key="house-report-matter",
                        icon=ft.Icons.ADD_ALERT,
                        primary=False,
                    ),
                ],
                wrap=True,
                spacing=theme.GAP,
                run_spacing=theme.GAP,
            ),
        ),
        section(t("house.residents", n=len(screen.occupants))),
    ]
    for occupant in screen.occupants:
        person, binding = occupant.resident, occupant.binding
        relation = t.choice("relation", binding.values.get("relation"))
        status = t.choice("residence_status", person.values.get("residence_status"))
        tags = " ".join(t.choice("tag", tag) for tag in person.values.get("tags") or [])
        controls.append(
            nav_row(
                key=f"occupant-{person.id}",
                title=str(person.values.get("name") or ""),
                lines=[
                    " · ".join(p for p in (relation, status) if p),
                    mask_id_number(person.values.get("id_number")),
                    tags,
                ],
                badge=sync_badge(person.sync_state, t),
                leading=ft.Icon(ft.Icons.PERSON, size=30, color=ft.Colors.PRIMARY),
                on_click=lambda _e, rid=person.id: screen.open_resident(rid),
            )
        )
    if not screen.occupants:
        controls.append(padded(text(t("house.no_residents"), color=theme.MUTED)))
    controls.append(section(t("house.visits")))
    for record in screen.visits:
        who = screen.resident_name(record.values.get("resident_id"))
        when = china_timestamp_text(str(record.values.get("visited_at") or ""))
        line = " · ".join(
            p for p in (when, t.choice("outcome", record.values.get("outcome")), who) if p
        )
        note = str(record.values.get("note") or "")
        badge = sync_badge(record.sync_state, t)
        controls.append(
            ft.Container(
                ft.Row(
                    [
                        ft.Column(
                            [
                                text(line),
                                *(
                                    [text(note, color=theme.MUTED, size=theme.SMALL)]
                                    if note
                                    else []
                                ),
                            ],
                            spacing=2,
                            expand=True,
                        ),
                        *([badge] if badge else []),
                    ]
                ),
                padding=ft.Padding.symmetric(horizontal=theme.PAD, vertical=6),
                key=f"visit-{record.id}",
            )
        )
    if not screen.visits:
        controls.append(padded(text(t("house.no_visits"), color=theme.MUTED)))
    return [ft.Column(controls, spacing=0, key="screen-house")]
