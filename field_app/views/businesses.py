"""Businesses: a grid's list by building with a search box, one business with its checks, and a
business inspection campaign's to-check list."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Translator
from field_app.state import AppViewModel
from field_app.state.businesses import BusinessesScreen, BusinessScreen, ToCheckScreen
from field_app.store.businesses import BusinessItem
from field_app.views import theme
from field_app.views.inputs import TextInput
from field_app.views.photos import when
from field_app.views.widgets import (
    action_button,
    chip,
    choice_buttons,
    nav_row,
    padded,
    section,
    sync_badge,
    text,
)


def render(screen: BusinessesScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    head: list[ft.Control] = []
    if len(screen.grids) > 1:
        head.append(
            choice_buttons(
                [
                    (g.id, str(g.values.get("name") or g.values.get("code") or ""))
                    for g in screen.grids
                ],
                screen.grid_id,
                screen.set_grid,
                key="businesses-grid",
            )
        )
    head += [
        TextInput(
            label=t("business.search"),
            value=screen.query,
            key="businesses-search",
            prefix_icon=ft.Icons.SEARCH,
            on_change=screen.search,
        ),
        action_button(
            t("business.add"),
            lambda _e: screen.add(),
            key="businesses-add",
            icon=ft.Icons.ADD_BUSINESS,
        ),
    ]
    rows: list[ft.Control] = [padded(*head)]
    if screen.campaigns:
        rows.append(section(t("business.campaigns"), key="businesses-campaigns"))
        rows += [
            nav_row(
                key=f"business-campaign-{c.id}",
                title=str(c.values.get("name") or ""),
                lines=[f"{c.values.get('start_date') or ''} – {c.values.get('end_date') or ''}"],
                on_click=lambda _e, cid=c.id: screen.open_campaign(cid),
                leading=ft.Icon(ft.Icons.FACT_CHECK, color=ft.Colors.PRIMARY),
            )
            for c in screen.campaigns
        ]
    for place, items in screen.groups():
        rows.append(section(place or t("business.at_address"), key=f"businesses-place-{place}"))
        rows += [
            _row(item, t, lambda _e, bid=item.id: screen.open(bid), screen, app) for item in items
        ]
    if not screen.items:
        rows.append(padded(text(t("business.none"), color=theme.MUTED)))
    return [ft.Column(rows, spacing=0, key="screen-businesses")]


def _row(
    item: BusinessItem, t: Translator, on_click: object, screen: BusinessesScreen, app: AppViewModel
) -> ft.Control:
    values = item.record.values
    kind = screen.type_name(str(values.get("business_type_id") or ""), app.language)
    status = str(values.get("status") or "")
    badge = sync_badge(item.record.sync_state, t) or (
        chip(t.choice("business_status", status), theme.MUTED) if status != "open" else None
    )
    return nav_row(
        key=f"business-{item.id}",
        title=str(values.get("name") or ""),
        lines=[" · ".join(p for p in (kind, str(values.get("address") or "")) if p)],
        badge=badge,
        on_click=on_click,  # type: ignore[arg-type]
    )


def render_business(screen: BusinessScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    record = screen.record
    if record is None:
        return [padded(text(t("business.none"), color=theme.MUTED), key="screen-business")]
    values = record.values
    kind = screen.type
    kind_name = ""
    if kind is not None:
        english = str(kind.values.get("name_en") or "")
        kind_name = (
            english if app.language == "en" and english else str(kind.values.get("name") or "")
        )
    facts = [
        text(str(values.get("name") or ""), size=theme.TITLE, bold=True, key="business-name"),
        text(
            " · ".join(
                p
                for p in (kind_name, t.choice("business_status", str(values.get("status") or "")))
                if p
            ),
            color=theme.MUTED,
        ),
    ]
    if values.get("address"):
        facts.append(text(str(values["address"])))
    if values.get("licence_number"):
        facts.append(text(t("business.licence_line", licence=values["licence_number"])))
    if values.get("contact_name") or values.get("contact_phone"):
        facts.append(
            text(
                t(
                    "business.contact",
                    name=values.get("contact_name") or "",
                    phone=values.get("contact_phone") or "",
                ),
                key="business-contact",
            )
        )
    buttons: list[ft.Control] = [
        action_button(
            t("business.check", name=str(c.values.get("name") or "")),
            lambda _e, cid=c.id: screen.check(cid),
            key=f"business-check-{c.id}",
            icon=ft.Icons.FACT_CHECK,
        )
        for c in screen.campaigns
    ]
    buttons.append(
        action_button(
            t("business.edit"),
            lambda _e: screen.edit(),
            key="business-edit",
            icon=ft.Icons.EDIT,
            primary=False,
        )
    )
    rows: list[ft.Control] = [padded(*facts, *buttons), section(t("business.checks"))]
    for check in screen.checks:
        results = list(check.values.get("results") or [])
        counts = {
            r: sum(1 for a in results if a.get("result") == r) for r in ("pass", "fail", "na")
        }
        rows.append(
            padded(
                text(
                    t(
                        "business.check_line",
                        when=when(str(check.values.get("checked_at") or "")),
                        passed=counts["pass"],
                        failed=counts["fail"],
                        na=counts["na"],
                    ),
                    key=f"business-check-line-{check.id}",
                ),
                *[
                    text(f"✗ {a.get('note') or ''}", color=theme.BAD, size=theme.SMALL)
                    for a in results
                    if a.get("result") == "fail"
                ],
            )
        )
    if not screen.checks:
        rows.append(padded(text(t("business.no_checks"), color=theme.MUTED)))
    return [ft.Column(rows, spacing=0, key="screen-business")]


def render_to_check(screen: ToCheckScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    sweep = screen.sweep
    if sweep is None:
        return []
    rows: list[ft.Control] = [
        padded(
            text(
                t(
                    "to_check.progress",
                    checked=sweep.checked,
                    total=len(sweep.items),
                    problems=sweep.problems,
                ),
                key="to-check-progress",
            ),
            ft.ProgressBar(value=sweep.checked / len(sweep.items) if sweep.items else 0),
        )
    ]
    for item in sweep.items:
        values = item.record.values
        if item.last_check is None:
            badge = chip(t("business.unchecked"), theme.WARN)
        elif item.failed:
            badge = chip(t("business.failed", n=item.failed), theme.BAD)
        else:
            badge = chip(t("business.checked"), theme.OK)
        rows.append(
            nav_row(
                key=f"to-check-{item.id}",
                title=str(values.get("name") or ""),
                lines=[item.place],
                badge=badge,
                on_click=lambda _e, bid=item.id: screen.open(bid),
            )
        )
    if not sweep.items:
        rows.append(padded(text(t("to_check.none"), color=theme.MUTED)))
    return [ft.Column(rows, spacing=0, key="screen-to-check")]
