"""Building blocks shared by the screens: the status strip, the flash banner, list rows with
counts, choice buttons and sync badges. Plain functions returning Flet controls; every control a
test or a screen reader needs carries a visible text or a semantics label, and a `key`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import flet as ft

from field_app.i18n import Translator
from field_app.state.app import AppViewModel
from field_app.state.people import Brief
from field_app.state.told import Told
from field_app.store import SyncState
from field_app.views import theme
from shared.clock import china_minutes
from shared.errors import FieldError
from shared.protocol import ReviewNote

Handler = Callable[..., object]


def text(
    value: str,
    *,
    size: float = theme.BODY,
    color: str | None = None,
    bold: bool = False,
    key: str | None = None,
    selectable: bool = False,
) -> ft.Text:
    return ft.Text(
        value,
        size=size,
        color=color,
        weight=ft.FontWeight.BOLD if bold else None,
        key=key,
        selectable=selectable,
    )


def status_strip(app: AppViewModel, t: Translator) -> ft.Control:
    """Online or not, changes waiting, problems, and the sync button: on every screen."""
    status = app.status
    if status.online is None:
        dot, label = theme.OFFLINE, t("status.checking")
    elif status.online:
        dot, label = theme.ONLINE, t("status.online")
    else:
        dot, label = theme.OFFLINE, t("status.offline")
    waiting = t("status.pending", n=status.pending) if status.pending else t("status.all_synced")
    items: list[ft.Control] = [
        ft.Icon(ft.Icons.CIRCLE, color=dot, size=14),
        text(label, size=theme.SMALL, key="status-online"),
        text("·", size=theme.SMALL, color=theme.MUTED),
        text(waiting, size=theme.SMALL, key="status-pending", bold=bool(status.pending)),
    ]
    if status.problems:
        items.append(
            ft.TextButton(
                t("status.problems", n=status.problems),
                key="status-problems",
                style=ft.ButtonStyle(
                    color=theme.BAD,
                    text_style=theme.text_style(theme.SMALL),
                ),
                on_click=app.open_sync,
            )
        )
    row = ft.Row(
        [
            ft.Row(items, spacing=6, wrap=True, expand=True),
            ft.FilledTonalButton(
                t("status.syncing") if status.syncing else t("action.sync"),
                icon=ft.Icons.SYNC,
                key="sync-button",
                disabled=status.syncing,
                height=44,
                on_click=app.request_sync,
            ),
        ],
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
    )
    column: list[ft.Control] = [row]
    if status.syncing:
        column.append(progress_bar(status.done, status.total, key="sync-progress"))
        if status.phase is not None and status.total:
            column.append(
                text(
                    t(f"status.progress.{status.phase}", done=status.done, total=status.total),
                    size=theme.SMALL,
                    color=theme.MUTED,
                )
            )
    return ft.Container(
        ft.Column(column, spacing=4),
        padding=ft.Padding.symmetric(horizontal=theme.PAD, vertical=6),
        bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
        key="status-strip",
    )


def progress_bar(done: int, total: int | None, *, key: str) -> ft.ProgressBar:
    value = None if not total else min(1.0, done / total)
    return ft.ProgressBar(value=value, key=key, semantics_label=f"{done}/{total or '?'}")


def flash_banner(app: AppViewModel, t: Translator) -> ft.Control | None:
    if app.flash_message is None:
        return None
    colour = theme.BAD if app.flash_error else theme.OK
    return ft.Container(
        ft.Row(
            [
                ft.Icon(
                    ft.Icons.ERROR_OUTLINE if app.flash_error else ft.Icons.CHECK_CIRCLE,
                    color=colour,
                ),
                ft.Container(text(t.msg(app.flash_message), key="flash-text"), expand=True),
                ft.IconButton(
                    ft.Icons.CLOSE, tooltip=t("action.close"), on_click=app.dismiss_flash
                ),
            ],
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        ),
        padding=ft.Padding.symmetric(horizontal=theme.PAD, vertical=4),
        bgcolor=ft.Colors.with_opacity(0.10, colour),
        key="flash",
    )


def person_facts(person: Brief, t: Translator, *, phone: bool = True) -> str:
    """ "女 · 67岁 · 13912345678": what tells a person apart from a namesake."""
    parts = []
    if person.sex:
        parts.append(t(f"person.sex.{person.sex}"))
    if person.age is not None:
        parts.append(t("person.age", n=person.age))
    if phone and person.phone:
        parts.append(person.phone)
    return " · ".join(parts)


def shown(t: Translator, name: str, value: Any) -> str:
    """A field's value as the worker reads it: labels for choices and tags, "—" for none."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return "、".join(t.choice("tag", str(v)) for v in value)
    if name in ("relation", "residence_status"):
        return t.choice(name, str(value))
    return str(value)


def told_lines(told: Told, t: Translator) -> list[str]:
    """What became of one of the worker's changes, a sentence per field."""
    name = told.name or "—"
    if told.notice.kind == "superseded":
        key, rows = "told.superseded", told.fields
    elif told.deleted_now is not None:
        return [t("told.settled_deleted" if told.deleted_now else "told.settled_kept", name=name)]
    elif told.took_yours:
        return [t("told.settled_yours", name=name)]
    else:
        key, rows = "told.settled_field", [row for row in told.fields if row[1] != row[2]]
    return [
        t(
            key,
            name=name,
            field=t(f"field.{field}"),
            typed=shown(t, field, typed),
            now=shown(t, field, now),
        )
        for field, typed, now in rows
    ]


def told_card(told: Told, t: Translator, *, on_dismiss: Handler) -> ft.Control:
    op_id = told.notice.op_id
    return ft.Container(
        ft.Column(
            [
                *(text(line) for line in told_lines(told, t)),
                ft.OutlinedButton(
                    t("action.dismiss"),
                    key=f"told-{op_id}",
                    on_click=on_dismiss,
                    height=theme.TARGET,
                ),
            ],
            spacing=4,
        ),
        padding=ft.Padding.symmetric(horizontal=theme.PAD, vertical=8),
        bgcolor=ft.Colors.with_opacity(0.10, theme.WARN),
        key=f"told-card-{op_id}",
    )


def review_note_card(
    note: ReviewNote,
    t: Translator,
    *,
    on_dismiss: Handler,
    on_open: Handler | None = None,
) -> ft.Control:
    """A change a supervisor sent back: whose, what, why, by whom; open the person, mark read."""
    when = china_minutes(note.sent_back_at)
    kind = t(f"review.kind.{note.kind}")
    buttons: list[ft.Control] = []
    if on_open is not None and note.resident_id:
        buttons.append(
            ft.FilledTonalButton(
                t("review.open"),
                key=f"note-open-{note.op_id}",
                on_click=on_open,
                height=theme.TARGET,
            )
        )
    buttons.append(
        ft.OutlinedButton(
            t("action.dismiss"), key=f"note-{note.op_id}", on_click=on_dismiss, height=theme.TARGET
        )
    )
    return ft.Container(
        ft.Column(
            [
                text(t("review.about", name=note.name or "—", kind=kind), bold=True),
                text(t("review.note", by=note.sent_back_by, when=when, reason=note.reason)),
                ft.Row(buttons, wrap=True),
            ],
            spacing=4,
        ),
        padding=ft.Padding.symmetric(horizontal=theme.PAD, vertical=8),
        bgcolor=ft.Colors.with_opacity(0.10, theme.BAD),
        key=f"review-note-{note.op_id}",
    )


def leave_question(app: AppViewModel, t: Translator) -> ft.Control | None:
    """Asked before a screen holding unsaved typing is left: keep editing, or discard."""
    if app.leaving is None:
        return None
    return ft.Container(
        ft.Column(
            [
                ft.Row(
                    [
                        ft.Icon(ft.Icons.WARNING_AMBER, color=theme.BAD),
                        ft.Container(text(t("leave.question"), key="leave-text"), expand=True),
                    ]
                ),
                ft.Row(
                    [
                        ft.FilledButton(
                            t("leave.stay"),
                            key="leave-stay",
                            on_click=app.stay,
                            height=theme.TARGET,
                        ),
                        ft.OutlinedButton(
                            t("leave.discard"),
                            key="leave-discard",
                            on_click=app.discard,
                            height=theme.TARGET,
                        ),
                    ],
                    wrap=True,
                ),
            ],
            spacing=6,
        ),
        padding=ft.Padding.symmetric(horizontal=theme.PAD, vertical=8),
        bgcolor=ft.Colors.with_opacity(0.12, theme.BAD),
        key="leave",
    )


def nav_row(
    *,
    key: str,
    title: str,
    lines: Sequence[str],
    on_click: Handler,
    badge: ft.Control | None = None,
    leading: ft.Control | None = None,
) -> ft.Control:
    """A tappable row of a list (a grid, a building, a house, a person): big and obvious."""
    body: list[ft.Control] = [text(title, size=theme.TITLE - 1, bold=True)]
    body += [text(line, size=theme.SMALL, color=theme.MUTED) for line in lines if line]
    trailing: list[ft.Control] = [badge] if badge is not None else []
    trailing.append(ft.Icon(ft.Icons.CHEVRON_RIGHT, color=theme.MUTED))
    parts: list[ft.Control] = [leading] if leading is not None else []
    parts += [ft.Column(body, spacing=2, expand=True), *trailing]
    return ft.Container(
        ft.Row(parts, vertical_alignment=ft.CrossAxisAlignment.CENTER, spacing=theme.GAP),
        key=key,
        padding=ft.Padding.symmetric(horizontal=theme.PAD, vertical=12),
        border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
        ink=True,
        on_click=on_click,
    )


def chip(label: str, colour: str, *, key: str | None = None) -> ft.Control:
    return ft.Container(
        text(label, size=theme.SMALL - 1, color=colour, bold=True),
        padding=ft.Padding.symmetric(horizontal=8, vertical=3),
        border=ft.Border.all(1, colour),
        border_radius=12,
        key=key,
    )


def sync_badge(state: SyncState, t: Translator, *, key: str | None = None) -> ft.Control | None:
    """Pending, conflict or rejected: shown on every record that is not simply synced."""
    if state == "synced":
        return None
    colour = {"pending": theme.WARN, "conflict": theme.BAD, "rejected": theme.BAD}[state]
    return chip(t(f"state.{state}"), colour, key=key)


def choice_buttons(
    options: Sequence[tuple[str, str]],
    selected: str | None,
    on_choose: Callable[[str], object],
    *,
    key: str,
) -> ft.Control:
    """One big button per option (no drop-down menus to aim at with a thumb)."""
    buttons: list[ft.Control] = []
    for value, label in options:
        chosen = value == selected
        make = ft.FilledButton if chosen else ft.OutlinedButton
        buttons.append(
            make(
                label,
                icon=ft.Icons.CHECK if chosen else None,
                key=f"{key}-{value}",
                height=theme.TARGET - 4,
                style=theme.button_style(),
                on_click=lambda _e, v=value: on_choose(v),
            )
        )
    return ft.Row(buttons, wrap=True, spacing=8, run_spacing=8, key=key)


def section(title: str, *, key: str | None = None) -> ft.Control:
    return ft.Container(
        text(title, size=theme.BODY, bold=True, color=ft.Colors.PRIMARY),
        padding=ft.Padding.only(left=theme.PAD, right=theme.PAD, top=theme.PAD, bottom=4),
        key=key,
    )


def padded(*controls: ft.Control, key: str | None = None) -> ft.Control:
    # Stretched: fields and the main button span the phone's width (easy to hit with a thumb).
    return ft.Container(
        ft.Column(
            list(controls), spacing=theme.GAP, horizontal_alignment=ft.CrossAxisAlignment.STRETCH
        ),
        padding=ft.Padding.symmetric(horizontal=theme.PAD, vertical=12),
        key=key,
    )


def action_button(
    label: str,
    on_click: Handler,
    *,
    key: str,
    icon: ft.IconData | None = None,
    primary: bool = True,
) -> ft.Control:
    make = ft.FilledButton if primary else ft.OutlinedButton
    return make(
        label,
        icon=icon,
        key=key,
        height=theme.TARGET,
        style=theme.button_style(),
        on_click=on_click,
    )


def field_error(t: Translator, errors: Mapping[str, FieldError], name: str) -> str | None:
    error = errors.get(name)
    return t.field_error(error) if error is not None else None
