"""One resident: details with the ID masked unless opened, where they live, special-group tags
(tap to set or clear), sync problems that stay until settled, and the actions of the door.
"""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel, ResidentScreen
from field_app.state.forms import TAGS
from field_app.store import OutboxProblem
from field_app.views import theme
from field_app.views.widgets import (
    action_button,
    padded,
    review_note_card,
    section,
    shown,
    sync_badge,
    text,
    told_card,
)


def render(screen: ResidentScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    person = screen.resident
    if screen.gone or person is None:
        return [padded(text(t("resident.gone"), color=theme.MUTED), key="screen-resident")]
    values = person.values
    badge = sync_badge(person.sync_state, t, key="resident-state")
    facts: list[ft.Control] = [
        ft.Row(
            [
                text(
                    str(values.get("name") or ""),
                    size=theme.TITLE + 4,
                    bold=True,
                    key="resident-name",
                ),
                *([badge] if badge else []),
            ],
            wrap=True,
        ),
        _fact(t("field.id_number"), screen.shown_id, key="resident-id"),
        ft.TextButton(
            t("action.hide_id") if screen.id_revealed else t("action.show_id"),
            icon=ft.Icons.VISIBILITY_OFF if screen.id_revealed else ft.Icons.VISIBILITY,
            key="toggle-id",
            on_click=screen.toggle_id,
        ),
        _fact(t("field.phone"), str(values.get("phone") or "—"), key="resident-phone"),
        _fact(
            t("field.residence_status"),
            t.choice("residence_status", values.get("residence_status")) or "—",
            key="resident-status",
        ),
    ]
    if values.get("note"):
        facts.append(_fact(t("field.note"), str(values["note"]), key="resident-note"))
    controls: list[ft.Control] = [
        review_note_card(
            note, t, on_dismiss=lambda _e, op_id=note.op_id: screen.dismiss_note(op_id)
        )
        for note in screen.notes
    ]
    controls += [
        told_card(
            told, t, on_dismiss=lambda _e, op_id=told.notice.op_id: screen.dismiss_told(op_id)
        )
        for told in screen.told
    ]
    controls.append(padded(*facts))

    controls.append(section(t("resident.lives_at")))
    homes: list[ft.Control] = []
    for home in screen.homes:
        relation = t.choice("relation", home.binding.values.get("relation"))
        since = str(home.binding.values.get("start_date") or "")
        homes.append(
            ft.Container(
                ft.Column(
                    [
                        text(home.address, bold=True),
                        text(
                            t("resident.since", relation=relation, date=since),
                            color=theme.MUTED,
                            size=theme.SMALL,
                        ),
                    ],
                    spacing=2,
                ),
                key=f"home-{home.binding.id}",
                ink=True,
                on_click=lambda _e, hid=home.binding.values.get("house_id"): screen.open_house(hid),
            )
        )
    if not homes:
        homes.append(text(t("resident.no_home"), color=theme.MUTED, key="no-home"))
    controls.append(padded(*homes))

    controls.append(section(t("field.tags")))
    tag_buttons: list[ft.Control] = []
    for tag in TAGS:
        on = tag in screen.tags
        make = ft.FilledButton if on else ft.OutlinedButton
        tag_buttons.append(
            make(
                t.choice("tag", tag),
                icon=ft.Icons.CHECK if on else None,
                key=f"tag-{tag}",
                height=theme.TARGET - 4,
                style=theme.button_style(),
                on_click=lambda _e, tg=tag: screen.toggle_tag(tg),
            )
        )
    controls.append(padded(ft.Row(tag_buttons, wrap=True, spacing=8, run_spacing=8)))

    if screen.problems:
        controls.append(section(t("resident.problems"), key="resident-problems"))
        controls += [problem_card(p, t, screen.dismiss) for p in screen.problems]

    actions = [
        action_button(t("action.edit"), screen.edit, key="edit-resident", icon=ft.Icons.EDIT),
        action_button(
            t("action.move"), screen.move, key="move-resident", icon=ft.Icons.MOVING, primary=False
        ),
    ]
    if screen.homes:
        actions.append(
            action_button(
                t("action.record_visit"),
                screen.record_visit,
                key="visit-resident",
                icon=ft.Icons.HOW_TO_REG,
                primary=False,
            )
        )
    actions.append(
        action_button(
            t("action.report_matter"),
            lambda _e: screen.report_matter(),
            key="resident-report-matter",
            icon=ft.Icons.ADD_ALERT,
            primary=False,
        )
    )
    controls.append(padded(ft.Row(actions, wrap=True, spacing=theme.GAP, run_spacing=theme.GAP)))
    return [ft.Column(controls, spacing=0, key="screen-resident")]


def _fact(label: str, value: str, *, key: str) -> ft.Control:
    return ft.Column(
        [
            text(label, size=theme.SMALL, color=theme.MUTED),
            text(value, size=theme.BODY + 1, key=key),
        ],
        spacing=0,
    )


def problem_card(
    problem: OutboxProblem, t: Translator, dismiss: object, subject: str = ""
) -> ft.Control:
    """A conflict (awaiting an admin) or a rejection (with the server's reason)."""
    op = problem.op
    heading = t(
        "problem.subject",
        kind=t(f"kind.{op.kind}"),
        entity=t(f"entity.{op.entity}"),
        subject=subject or ", ".join(t(f"field.{name}") for name in op.fields)[:60],
    )
    clashes = [
        t(
            "problem.clash",
            field=t(f"field.{c.field}"),
            server=shown(t, c.field, c.server),
            device=shown(t, c.field, c.device),
        )
        for c in problem.clashes
    ]
    if problem.status == "conflict":
        detail = t("problem.conflict")
    else:
        detail = t(
            "problem.rejected", reason=t.rejection(problem.code, problem.field, problem.reason)
        )
    body: list[ft.Control] = [
        text(heading, bold=True),
        text(detail, color=theme.BAD, key=f"problem-detail-{op.op_id}"),
        *(text(line, key=f"problem-clash-{op.op_id}-{n}") for n, line in enumerate(clashes)),
    ]
    if problem.status == "rejected" and callable(dismiss):
        body.append(
            ft.TextButton(
                t("action.dismiss"),
                key=f"dismiss-{op.op_id}",
                on_click=lambda _e, oid=op.op_id: dismiss(oid),
            )
        )
    return ft.Container(
        ft.Column(body, spacing=4),
        padding=theme.PAD,
        margin=ft.Margin.symmetric(horizontal=theme.PAD, vertical=4),
        border=ft.Border.all(1, theme.BAD),
        border_radius=8,
        key=f"problem-{op.op_id}",
    )
