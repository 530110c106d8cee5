"""Finding a resident as the worker types (name, pinyin initials, ID ending, phone, address)."""

from __future__ import annotations

import flet as ft

from field_app.i18n import Msg, Translator
from field_app.state import AppViewModel, SearchScreen
from field_app.views import theme
from field_app.views.inputs import TextInput
from field_app.views.widgets import nav_row, padded, person_facts, sync_badge, text


def render(screen: SearchScreen, app: AppViewModel, t: Translator) -> list[ft.Control]:
    controls: list[ft.Control] = [
        padded(
            TextInput(
                label=t("search.label"),
                hint_text=t("search.hint"),
                value=screen.query,
                key="search-box",
                autofocus=True,
                prefix_icon=ft.Icons.SEARCH,
                text_size=theme.BODY + 2,
                on_change=screen.set_query,
            )
        )
    ]
    if screen.searched:
        summary = t("search.count", n=len(screen.hits)) if screen.hits else t("search.none")
        controls.append(padded(text(summary, color=theme.MUTED, key="search-count")))
    for hit in screen.hits:
        person = hit.resident
        relation = t.choice("relation", hit.relation)
        controls.append(
            nav_row(
                key=f"hit-{person.id}",
                title=str(person.values.get("name") or ""),
                lines=[
                    t.msg(where) if isinstance(where := screen.where(hit), Msg) else where,
                    " · ".join(
                        p
                        for p in (
                            person_facts(screen.who(hit), t, phone=False),
                            relation,
                            screen.masked_id(hit),
                        )
                        if p
                    ),
                ],
                badge=sync_badge(person.sync_state, t),
                on_click=lambda _e, rid=person.id: screen.open(rid),
            )
        )
    return [ft.Column(controls, spacing=0, key="screen-search")]
