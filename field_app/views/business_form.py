"""Adding or correcting a business at the door: name, type, building or address, licence,
contact, status; big buttons for every choice."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel
from field_app.state.businesses import STATUSES, BusinessForm
from field_app.views import theme
from field_app.views.inputs import TextInput
from field_app.views.widgets import action_button, choice_buttons, field_error, padded, text
from shared.campaigns import building_label


def render(screen: BusinessForm, app: AppViewModel, t: Translator) -> list[ft.Control]:
    errors, values = screen.errors, screen.values

    def label(name: str) -> ft.Control:
        return text(t(f"business.{name}"), size=theme.SMALL, color=theme.MUTED)

    def problem(name: str) -> list[ft.Control]:
        found = field_error(t, errors, name)
        return [text(found, color=theme.BAD, key=f"business-error-{name}")] if found else []

    def field(name: str, label_key: str, **props: object) -> ft.Control:
        return TextInput(
            label=t(f"business.{label_key}"),
            value=values[name],
            key=f"business-{name.replace('_', '-')}",
            error=field_error(t, errors, name),
            on_change=lambda v: screen.set(name, v),
            **props,
        )

    def type_name(record_values: dict[str, object]) -> str:
        english = str(record_values.get("name_en") or "")
        return english if app.language == "en" and english else str(record_values.get("name") or "")

    controls: list[ft.Control] = [
        field("name", "name"),
        label("type"),
        choice_buttons(
            [(k.id, type_name(k.values)) for k in screen.types],
            values["business_type_id"] or None,
            lambda v: screen.set("business_type_id", v),
            key="business-type",
        ),
        *problem("business_type_id"),
        label("building"),
        choice_buttons(
            [
                (
                    b.id,
                    building_label(
                        b.values.get("road"),
                        b.values.get("lane"),
                        b.values.get("number"),
                        b.values.get("name"),
                    ),
                )
                for b in screen.buildings
            ],
            values["building_id"] or None,
            lambda v: screen.set("building_id", v),
            key="business-building",
        ),
        *problem("building_id"),
        field("address", "address"),
        field("licence_number", "licence", capitalization=ft.TextCapitalization.CHARACTERS),
        field("contact_name", "contact_name"),
        field("contact_phone", "contact_phone", keyboard_type=ft.KeyboardType.PHONE),
        label("status"),
        choice_buttons(
            [(s, t.choice("business_status", s)) for s in STATUSES],
            values["status"],
            lambda v: screen.set("status", v),
            key="business-status",
        ),
        *problem("status"),
        *problem("grid_id"),
        action_button(
            t("action.save"), lambda _e: screen.save(), key="business-save", icon=ft.Icons.SAVE
        ),
    ]
    return [padded(*controls, key="screen-business-form")]
