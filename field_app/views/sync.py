"""The sync screen: the last result, and every change waiting for an admin or rejected."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel, SyncScreen
from field_app.state.sync_service import SyncStatus
from field_app.views import theme
from field_app.views.resident import problem_card
from field_app.views.widgets import action_button, padded, review_note_card, section, text


def _photo_lines(status: SyncStatus, t: Translator) -> list[ft.Control]:
    """The photo upload that follows each sync: running, or what the last one did."""
    if status.uploading:
        return [text(t("sync.photos_sending"), key="sync-photos")]
    photos = status.photos
    if photos is None:
        return []
    if photos.failed:
        return [
            text(t("sync.photos_failed", n=len(photos.failed)), color=theme.BAD, key="sync-photos")
        ]
    if photos.done:
        return [text(t("sync.photos_sent", n=photos.done), key="sync-photos")]
    return []


def render(screen: SyncScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    status = app.service.status
    report = status.report
    lines: list[ft.Control] = []
    if report is not None:
        lines.append(
            text(
                t(
                    "sync.last",
                    sent=report.sent,
                    received=report.received,
                    merged=report.merged,
                    conflicts=report.conflicts,
                    rejected=report.rejected,
                ),
                key="sync-last",
            )
        )
    else:
        lines.append(text(t("sync.never"), color=theme.MUTED, key="sync-last"))
    if status.failure is not None:
        lines.append(text(t(f"failure.{status.failure.kind}"), color=theme.BAD, key="sync-failure"))
        if status.failure.kind == "sign_in":
            lines.append(
                action_button(
                    t("action.sign_in_again"), app.sign_in_again, key="sign-in-again", primary=False
                )
            )
    pending = app.status.pending
    if pending:
        lines.append(text(t("sync.waiting", n=pending), bold=True))
    lines += _photo_lines(status, t)
    lines.append(action_button(t("action.sync"), screen.sync, key="sync-now", icon=ft.Icons.SYNC))
    controls: list[ft.Control] = [padded(*lines)]
    if screen.review_notes:
        controls.append(section(t("review.title"), key="review-notes"))
    for note in screen.review_notes:
        controls.append(
            review_note_card(
                note, t, on_dismiss=lambda _e, op_id=note.op_id: screen.dismiss_note(op_id)
            )
        )
    controls.append(section(t("sync.problems")))
    for problem in screen.problems:
        controls.append(problem_card(problem, t, screen.dismiss, screen.subject(problem)))
    if not screen.problems:
        controls.append(padded(text(t("sync.no_problems"), color=theme.MUTED)))
    return [ft.Column(controls, spacing=0, key="screen-sync")]
