"""One matter: what and where, state and deadline, the timeline (pending and stale steps
marked, refusals with the server's words), and the steps the signed-in user may take now."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel
from field_app.state.matters import MatterScreen, StepForm, matter_title
from field_app.store.matters import Step
from field_app.views import theme
from field_app.views.inputs import TextInput
from field_app.views.matter_photos import photo_sections
from field_app.views.photos import photo_button, when
from field_app.views.widgets import (
    action_button,
    chip,
    choice_buttons,
    field_error,
    padded,
    section,
    text,
)


def render(screen: MatterScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    detail = screen.detail
    if detail is None:
        return [padded(text(t("matter.gone"), color=theme.MUTED), key="screen-matter")]
    item, shown = detail.item, detail.item.shown
    facts: list[ft.Control] = [
        text(
            matter_title(item, screen.categories), size=theme.TITLE, bold=True, key="matter-title"
        ),
        ft.Row(
            [
                chip(t.choice("matter_state", item.state), theme.BAD if item.overdue else theme.OK),
                chip(t.choice("urgency", str(shown.get("urgency") or "")), theme.MUTED),
                *([chip(t("matters.overdue"), theme.BAD)] if item.overdue else []),
            ],
            wrap=True,
            key="matter-state",
        ),
        text(str(shown.get("description") or ""), selectable=True, key="matter-description"),
    ]
    if item.due_at:
        facts.append(text(t("matters.due", when=when(item.due_at)), color=theme.MUTED))
    if screen.resident_name() or shown.get("resident_name"):
        name = screen.resident_name() or str(shown.get("resident_name"))
        facts.append(text(t("matter.resident", name=name)))
    if shown.get("on_behalf_of"):
        facts.append(text(t("matter.on_behalf", name=shown["on_behalf_of"])))
    if screen.can_edit:
        facts.append(
            action_button(
                t("matter.edit"),
                lambda _e: screen.edit(),
                key="matter-edit",
                icon=ft.Icons.EDIT,
                primary=False,
            )
        )
    controls: list[ft.Control] = [padded(*facts), *photo_sections(screen, t)]

    for problem in screen.rejected:
        refusal = screen.refusal(problem)
        if refusal is not None:
            reason = screen.refusal_words(refusal, t.language)
        else:
            reason = t.rejection(problem.code, None, problem.reason)
        controls.append(
            padded(
                text(t("matter.rejected", reason=reason), color=theme.BAD),
                action_button(
                    t("action.dismiss"),
                    lambda _e, op_id=problem.op.op_id: screen.dismiss_rejected(op_id),
                    key=f"matter-rejected-{problem.op.op_id}",
                    primary=False,
                ),
            )
        )

    controls.append(section(t("matter.actions")))
    if screen.form is not None:
        controls.append(_form(screen, screen.form, t))
    elif screen.actions:
        controls.append(
            padded(
                ft.Row(
                    [
                        action_button(
                            t.choice("matter_action", a),
                            lambda _e, a=a: screen.start(a),
                            key=f"matter-action-{a}",
                        )
                        for a in screen.actions
                    ],
                    wrap=True,
                    spacing=theme.GAP,
                    run_spacing=theme.GAP,
                )
            )
        )
    else:
        controls.append(padded(text(t("matter.no_actions"), color=theme.MUTED)))

    controls.append(section(t("matter.timeline"), key="matter-timeline"))
    lines: list[ft.Control] = [text(t("matter.reported_line", when=when(shown.get("reported_at"))))]
    lines += [_step(screen, s, t) for s in detail.steps]
    controls.append(padded(*lines))
    return [ft.Column(controls, spacing=0, key="screen-matter")]


def _step(screen: MatterScreen, step: Step, t: Translator) -> ft.Control:
    values = step.record.values
    head = f"{t.choice('matter_action', step.action)} · {when(step.at)}"
    parts: list[ft.Control] = [text(head, bold=True)]
    for name in ("reason", "comment"):
        if values.get(name):
            parts.append(text(str(values[name]), size=theme.SMALL))
    if values.get("rating"):
        parts.append(text("★" * int(values["rating"]), color=theme.WARN))
    if step.refused is not None:
        message = screen.refusal_words(step.refused, t.language)
        parts.append(text(t("matter.step_stale", message=message), color=theme.BAD))
    elif step.pending:
        parts.append(chip(t("matter.step_pending"), theme.WARN))
    return ft.Column(parts, spacing=2, key=f"step-{step.record.id}")


def _form(screen: MatterScreen, form: StepForm, t: Translator) -> ft.Control:
    errors = form.errors
    controls: list[ft.Control] = [text(t.choice("matter_action", form.action), bold=True)]
    if "reason" in form.inputs:
        work_note = form.action == "apply_close"
        controls.append(
            TextInput(
                label=t("matter.work_note" if work_note else "matter.reason"),
                value=form.reason,
                key="step-reason",
                multiline=True,
                min_lines=2,
                error=field_error(t, errors, "reason"),
                on_change=screen.set_reason,
            )
        )
    if "org_id" in form.inputs:
        controls += [
            text(t("matter.org"), size=theme.SMALL, color=theme.MUTED),
            choice_buttons(
                [(o.id, str(o.values.get("name") or "")) for o in screen.orgs],
                form.org_id or None,
                screen.set_org,
                key="step-org",
            ),
        ]
        if screen.people:
            controls += [
                text(t("matter.dispatch_person"), size=theme.SMALL, color=theme.MUTED),
                choice_buttons(
                    [
                        (p.id, t("matter.person", name=p.name, role=t.choice("role", p.role)))
                        for p in screen.people
                    ],
                    form.user_id or None,
                    screen.set_person,
                    key="step-person",
                ),
            ]
    if "photos" in form.inputs:
        controls += [
            text(t("matter.photos", n=len(form.photos))),
            photo_button(
                t("matter.add_photo"),
                screen.add_photo,
                key="step-add-photo",
                shutter=t("photo.camera"),
                cancel=t("matter.cancel"),
            ),
        ]
    if "rating" in form.inputs:
        controls += [
            text(t("matter.rating"), size=theme.SMALL, color=theme.MUTED),
            choice_buttons(
                [(str(n), str(n)) for n in range(1, 6)],
                str(form.rating) if form.rating else None,
                lambda v: screen.set_rating(int(v)),
                key="step-rating",
            ),
            TextInput(
                label=t("matter.comment"),
                value=form.comment,
                key="step-comment",
                on_change=screen.set_comment,
            ),
        ]
    for name in ("org_id", "photos", "rating", "action"):
        found = field_error(t, errors, name)
        if found:
            controls.append(text(found, color=theme.BAD, key=f"step-error-{name}"))
    controls.append(
        ft.Row(
            [
                action_button(t("matter.submit"), lambda _e: screen.submit(), key="step-submit"),
                action_button(
                    t("matter.cancel"), lambda _e: screen.cancel(), key="step-cancel", primary=False
                ),
            ],
            wrap=True,
            spacing=theme.GAP,
        )
    )
    return padded(*controls, key="step-form")
