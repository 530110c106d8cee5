"""Recording a visit: what the worker found at the door, and a note."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel, VisitScreen
from field_app.views import theme
from field_app.views.inputs import TextInput
from field_app.views.widgets import action_button, choice_buttons, field_error, padded, text


def render(screen: VisitScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    errors = dict(screen.errors)
    controls: list[ft.Control] = [text(t("visit.place", place=screen.place), key="visit-place")]
    if screen.person:
        controls.append(text(t("visit.person", name=screen.person), bold=True))
    controls += [
        text(t("field.outcome"), size=theme.SMALL, color=theme.MUTED),
        choice_buttons(
            [(o, t.choice("outcome", o)) for o in screen.outcomes],
            screen.outcome,
            screen.choose,
            key="visit-outcome",
        ),
    ]
    problem = field_error(t, errors, "outcome")
    if problem:
        controls.append(text(problem, color=theme.BAD, key="visit-error"))
    controls += [
        TextInput(
            label=t("visit.note"),
            value=screen.note,
            key="visit-note",
            multiline=True,
            min_lines=2,
            max_lines=5,
            error=field_error(t, errors, "note"),
            on_change=screen.set_note,
        ),
        action_button(t("action.save"), screen.save, key="visit-save", icon=ft.Icons.SAVE),
    ]
    return [padded(*controls, key="screen-visit")]
