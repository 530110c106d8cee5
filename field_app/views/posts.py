"""Posts: each of the community's posts with its kind, duties and places left, and a claim
button while the member may claim it."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel
from field_app.state.posts import PostsScreen
from field_app.store.posts import PostItem
from field_app.views import theme
from field_app.views.widgets import action_button, chip, padded, text


def render(screen: PostsScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    rows: list[ft.Control] = [_card(screen, item, t) for item in screen.items]
    if not screen.items:
        rows.append(padded(text(t("posts.none"), color=theme.MUTED)))
    return [ft.Column(rows, spacing=0, key="screen-posts")]


def _card(screen: PostsScreen, item: PostItem, t: Translator) -> ft.Control:
    values = item.record.values
    badge = _badge(item, t)
    head: list[ft.Control] = [
        ft.Container(
            text(str(values.get("title") or ""), size=theme.TITLE - 1, bold=True), expand=True
        )
    ]
    if badge is not None:
        head.append(badge)
    lines: list[ft.Control] = [
        ft.Row(head, vertical_alignment=ft.CrossAxisAlignment.CENTER),
        text(
            " · ".join(
                (
                    t.choice("post_kind", str(values.get("kind") or "")),
                    t("posts.places", claimed=item.claimed, capacity=item.capacity),
                )
            ),
            color=theme.MUTED,
        ),
    ]
    if values.get("duties"):
        lines.append(text(str(values["duties"])))
    if item.claim == "refused":
        code, field, reason = screen.refusal(item)
        lines.append(
            text(t("posts.refused", reason=t.rejection(code, field, reason)), color=theme.BAD)
        )
    if item.can_claim:
        lines.append(
            action_button(
                t("posts.claim"),
                lambda _e, pid=item.record.id: screen.claim(pid),
                key=f"claim-{item.record.id}",
                icon=ft.Icons.VOLUNTEER_ACTIVISM,
            )
        )
    return ft.Container(
        ft.Column(lines, spacing=6),
        key=f"post-{item.record.id}",
        padding=ft.Padding.symmetric(horizontal=theme.PAD, vertical=12),
        border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
    )


def _badge(item: PostItem, t: Translator) -> ft.Control | None:
    if item.claim == "pending":
        return chip(t("posts.pending"), theme.WARN)
    if item.claim == "claimed":
        return chip(t("posts.claimed"), theme.OK)
    if not item.open:
        return chip(t("posts.closed"), theme.MUTED)
    if item.full:
        return chip(t("posts.full"), theme.BAD)
    return None
