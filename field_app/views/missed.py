"""A campaign's missed list in walking order (building → unit → house, with counts), and the
outcome dialog: what the worker found at the door, with the detail it needs."""

from __future__ import annotations

from functools import partial

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel
from field_app.state.campaign import MissedScreen, OutcomeDialog
from field_app.views import theme
from field_app.views.inputs import TextInput
from field_app.views.widgets import (
    action_button,
    choice_buttons,
    field_error,
    padded,
    person_facts,
    section,
    text,
)

_DETAIL_LABEL = {
    "place": "missed.place",
    "reason": "missed.reason",
    "revisit_date": "missed.revisit_date",
}


def render(screen: MissedScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    tally = screen.tally
    rows: list[ft.Control] = [
        text(
            t(
                "campaign.tally",
                targets=tally.targets,
                completed=tally.completed,
                settled=tally.settled,
                missed=tally.missed,
            ),
            key="missed-tally",
        )
    ]
    open_for = screen.dialog.resident_id if screen.dialog is not None else None
    for building in screen.groups:
        label = building.building or building.building_id[:8]
        rows.append(section(t("missed.count", label=label, n=building.count)))
        for unit in building.units:
            if unit.unit:
                rows.append(text(t("missed.count", label=unit.unit, n=unit.count), bold=True))
            for house in unit.houses:
                rows.append(
                    text(t("missed.count", label=house.room, n=house.count), color=theme.MUTED)
                )
                for rid in house.resident_ids:
                    rows.append(person(screen, rid, t))
                    if rid == open_for and screen.dialog is not None:
                        # Right under the row tapped, where the worker is looking.
                        rows.append(dialog(screen, screen.dialog, t))
    if not screen.groups:
        rows.append(text(t("missed.none"), color=theme.MUTED, key="missed-none"))
    return [padded(*rows, key="screen-missed")]


def person(screen: MissedScreen, resident_id: str, t: Translator) -> ft.Control:
    lines: list[ft.Control] = [text(screen.names.get(resident_id, ""), bold=True)]
    known = screen.people.get(resident_id)
    facts = person_facts(known, t) if known is not None else ""
    if facts:
        lines.append(text(facts, size=theme.SMALL, key=f"missed-facts-{resident_id}"))
    last = screen.last_outcome(resident_id)
    if last is not None:
        label = t(f"campaign_outcome.{last.outcome}")
        line = (
            t("missed.last_revisit", outcome=label, date=last.revisit_date)
            if last.revisit_date
            else t("missed.last", outcome=label)
        )
        lines.append(text(line, size=theme.SMALL, color=theme.MUTED))
    buttons: list[ft.Control] = []
    dial = known.dial if known is not None else None
    if dial is not None:
        # Opens the phone's dialer (on a phone; in a desktop browser, whatever handles tel:).
        buttons.append(
            ft.OutlinedButton(
                t("missed.call"),
                icon=ft.Icons.CALL,
                url=dial,
                key=f"call-{resident_id}",
                height=theme.TARGET,
            )
        )
    buttons.append(
        ft.OutlinedButton(
            t("missed.record"),
            key=f"record-{resident_id}",
            on_click=lambda _e, rid=resident_id: screen.start_outcome(rid),
            height=theme.TARGET,
        )
    )
    return ft.Container(
        ft.Column([*lines, ft.Row(buttons, wrap=True)], spacing=4),
        padding=ft.Padding.symmetric(vertical=6),
        key=f"missed-{resident_id}",
    )


def dialog(screen: MissedScreen, d: OutcomeDialog, t: Translator) -> ft.Control:
    errors = dict(d.errors)
    controls: list[ft.Control] = [
        text(t("missed.dialog", name=d.name), bold=True),
        choice_buttons(
            [(o, t(f"campaign_outcome.{o}")) for o, _zh in d.choices],
            d.outcome,
            screen.choose,
            key="outcome-choice",
        ),
    ]
    problem = field_error(t, errors, "outcome")
    if problem:
        controls.append(text(problem, color=theme.BAD, key="outcome-error"))
    needed = d.needs
    if needed is not None:
        controls.append(
            TextInput(
                label=t(_DETAIL_LABEL[needed]),
                value=str(getattr(d, needed)),
                key=f"outcome-{needed}",
                error=field_error(t, errors, needed),
                on_change=partial(screen.set_detail, needed),
            )
        )
    controls += [
        action_button(
            t("action.save"), screen.save_outcome, key="outcome-save", icon=ft.Icons.SAVE
        ),
        action_button(
            t("missed.cancel"), screen.cancel_outcome, key="outcome-cancel", primary=False
        ),
    ]
    return ft.Container(
        ft.Column(controls, spacing=theme.GAP),
        border=ft.Border.all(1, ft.Colors.PRIMARY),
        border_radius=8,
        padding=12,
        key="outcome-dialog",
    )
