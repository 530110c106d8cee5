"""Editing a resident or adding one at the door: inline errors under each field as it is typed."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel, ResidentForm
from field_app.state.forms import RELATIONS, RESIDENCE_STATUSES, TAGS
from field_app.views import theme
from field_app.views.inputs import TextInput
from field_app.views.widgets import action_button, choice_buttons, field_error, padded, text


def render(form: ResidentForm, app: AppViewModel, t: Translator) -> list[ft.Control]:
    errors = dict(form.errors)

    def field(name: str, **extra: object) -> ft.Control:
        return TextInput(
            label=t(f"field.{name}"),
            value=form.values[name],
            key=f"form-{name}",
            error=field_error(t, errors, name),
            text_size=theme.BODY + 1,
            on_change=lambda text: form.set_value(name, text),
            **extra,
        )

    controls: list[ft.Control] = [field("name")]
    if form.id_revealed:
        controls.append(
            field("id_number", max_length=18, capitalization=ft.TextCapitalization.CHARACTERS)
        )
    else:
        controls.append(
            ft.Row(
                [
                    ft.Column(
                        [
                            text(t("field.id_number"), size=theme.SMALL, color=theme.MUTED),
                            text(form.masked_id, size=theme.BODY + 1, key="form-id-masked"),
                        ],
                        spacing=0,
                        expand=True,
                    ),
                    ft.OutlinedButton(
                        t("action.change_id"), key="form-reveal-id", on_click=form.reveal_id
                    ),
                ]
            )
        )
    controls += [
        field("phone", keyboard_type=ft.KeyboardType.PHONE),
        text(t("field.residence_status"), size=theme.SMALL, color=theme.MUTED),
        choice_buttons(
            [(s, t.choice("residence_status", s)) for s in RESIDENCE_STATUSES],
            form.values["residence_status"],
            lambda v: form.set_value("residence_status", v),
            key="form-status",
        ),
    ]
    if form.is_new:
        controls += [
            text(t("field.relation"), size=theme.SMALL, color=theme.MUTED),
            choice_buttons(
                [(r, t.choice("relation", r)) for r in RELATIONS],
                form.values["relation"],
                lambda v: form.set_value("relation", v),
                key="form-relation",
            ),
            field("start_date"),
        ]
    controls += [
        text(t("field.tags"), size=theme.SMALL, color=theme.MUTED),
        ft.Row(
            [
                (ft.FilledButton if tag in form.tags else ft.OutlinedButton)(
                    t.choice("tag", tag),
                    icon=ft.Icons.CHECK if tag in form.tags else None,
                    key=f"form-tag-{tag}",
                    height=theme.TARGET - 4,
                    on_click=lambda _e, tg=tag: form.toggle_tag(tg),
                )
                for tag in TAGS
            ],
            wrap=True,
            spacing=8,
            run_spacing=8,
        ),
        field("note", multiline=True, min_lines=2, max_lines=5),
    ]
    other = [n for n in errors if n not in form.values]
    for name in other:
        controls.append(text(field_error(t, errors, name) or "", color=theme.BAD))
    controls.append(action_button(t("action.save"), form.save, key="form-save", icon=ft.Icons.SAVE))
    return [padded(*controls, key="screen-resident-form")]
