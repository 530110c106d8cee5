"""Reporting a matter: category, what, where, who asked, urgency, photos; big targets."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel
from field_app.state.matters import SOURCES, URGENCIES, MatterReportForm
from field_app.views import theme
from field_app.views.inputs import TextInput
from field_app.views.photos import photo_button
from field_app.views.widgets import action_button, choice_buttons, field_error, padded, text


def render(screen: MatterReportForm, app: AppViewModel, t: Translator) -> list[ft.Control]:
    errors, values = screen.errors, screen.values

    def label(name: str) -> ft.Control:
        return text(t(f"matter.{name}"), size=theme.SMALL, color=theme.MUTED)

    def problem(name: str) -> list[ft.Control]:
        found = field_error(t, errors, name)
        return [text(found, color=theme.BAD, key=f"report-error-{name}")] if found else []

    controls: list[ft.Control] = []
    if not screen.editing:  # what a matter is about and whose it is stay as reported
        controls += [
            label("category"),
            choice_buttons(
                [(c.id, str(c.values.get("name") or "")) for c in screen.categories],
                values["category_id"] or None,
                lambda v: screen.set("category_id", v),
                key="report-category",
            ),
            *problem("category_id"),
        ]
    controls += [
        TextInput(
            label=t("matter.description"),
            value=values["description"],
            key="report-description",
            multiline=True,
            min_lines=2,
            max_lines=6,
            error=field_error(t, errors, "description"),
            on_change=lambda v: screen.set("description", v),
        ),
    ]
    if len(screen.grids) > 1 and not screen.editing:
        controls += [
            label("grid"),
            choice_buttons(
                [
                    (g.id, str(g.values.get("name") or g.values.get("code") or ""))
                    for g in screen.grids
                ],
                values["grid_id"] or None,
                lambda v: screen.set("grid_id", v),
                key="report-grid",
            ),
        ]
    controls += problem("grid_id")
    controls += [
        TextInput(
            label=t("matter.place"),
            value=values["place"],
            key="report-place",
            error=field_error(t, errors, "place"),
            on_change=lambda v: screen.set("place", v),
        ),
        label("urgency"),
        choice_buttons(
            [(u, t.choice("urgency", u)) for u in URGENCIES],
            values["urgency"],
            lambda v: screen.set("urgency", v),
            key="report-urgency",
        ),
    ]
    if not screen.editing:
        controls += [
            label("source"),
            choice_buttons(
                [(s, t.choice("matter_source", s)) for s in SOURCES],
                values["source"],
                lambda v: screen.set("source", v),
                key="report-source",
            ),
            TextInput(
                label=t("matter.on_behalf_of"),
                value=values["on_behalf_of"],
                key="report-on-behalf-of",
                error=field_error(t, errors, "on_behalf_of"),
                on_change=lambda v: screen.set("on_behalf_of", v),
            ),
        ]
    controls += [
        text(t("matter.photos", n=len(screen.photos)), key="report-photos"),
        *_picked(screen, t),
        photo_button(
            t("matter.add_photo"),
            screen.add_photo,
            key="report-add-photo",
            shutter=t("photo.camera"),
            cancel=t("matter.cancel"),
        ),
        *problem("photos"),
        *problem("state"),
        action_button(
            t("action.save") if screen.editing else t("matter.submit_report"),
            lambda _e: screen.save(),
            key="report-save",
            icon=ft.Icons.SAVE if screen.editing else ft.Icons.SEND,
        ),
    ]
    return [padded(*controls, key="screen-matter-report")]


PREVIEW = 96  # px: three to a row on a 390 px phone, like the matter page's thumbnails


def _picked(screen: MatterReportForm, t: Translator) -> list[ft.Control]:
    """The photos picked so far, each with a button to take it off the report before it is sent
    (a wrong picture from the gallery is easy to pick and must not reach the server)."""
    if not screen.photos:
        return []
    previews: list[ft.Control] = [
        ft.Stack(
            [
                ft.Container(
                    ft.Image(src=data, width=PREVIEW, height=PREVIEW, fit=ft.BoxFit.COVER),
                    width=PREVIEW,
                    height=PREVIEW,
                    bgcolor=ft.Colors.GREY_200,
                    border_radius=6,
                    clip_behavior=ft.ClipBehavior.HARD_EDGE,
                ),
                ft.Container(
                    ft.IconButton(
                        ft.Icons.CLOSE,
                        tooltip=t("matter.remove_photo"),
                        key=f"report-photo-remove-{index}",
                        icon_color=ft.Colors.WHITE,
                        bgcolor=ft.Colors.with_opacity(0.6, ft.Colors.BLACK),
                        on_click=lambda _e, index=index: screen.remove_photo(index),
                    ),
                    right=0,
                    top=0,
                ),
            ],
            width=PREVIEW,
            height=PREVIEW,
        )
        for index, data in enumerate(screen.photos)
    ]
    return [
        ft.Row(
            previews,
            wrap=True,
            spacing=theme.GAP // 2,
            run_spacing=theme.GAP // 2,
            key="report-picked",
        )
    ]
