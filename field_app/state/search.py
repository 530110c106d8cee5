"""Finding a resident as the worker types: by name, pinyin initials (`zs` finds 张三), the last
four characters of the ID number, a phone number, or an address. Each keystroke is one query of
the device store (a few milliseconds over a community's 4,500 residents).
"""

from __future__ import annotations

from field_app.i18n import Msg
from field_app.state.base import Context, Screen
from field_app.state.people import Brief, brief
from field_app.state.resident import ResidentScreen
from field_app.store import ResidentHit
from shared.validation import mask_id_number

LIMIT = 50


class SearchScreen(Screen):
    kind = "search"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.query = ""
        self.hits: list[ResidentHit] = []

    def set_query(self, text: str) -> None:
        self.query = text
        self.refresh()
        self.ctx.changed()

    def refresh(self) -> None:
        self.hits = self.ctx.store.search_residents(self.query, day=self.ctx.today(), limit=LIMIT)

    @property
    def searched(self) -> bool:
        return bool(self.query.strip())

    @staticmethod
    def masked_id(hit: ResidentHit) -> str:
        return mask_id_number(hit.resident.values.get("id_number"))

    def who(self, hit: ResidentHit) -> Brief:
        """Sex and age, which tell two people of one name apart (the ID stays masked)."""
        values = hit.resident.values
        return brief(
            hit.resident.id,
            str(values.get("name") or ""),
            str(values.get("phone") or ""),
            str(values.get("id_number") or ""),
            self.ctx.today(),
        )

    @staticmethod
    def where(hit: ResidentHit) -> Msg | str:
        """Where the person lives; for one who moved out (kept for the recently-moved window,
        `shared.moves`), where from and when, so the worker knows why no home shows."""
        if hit.address:
            return hit.address
        if hit.moved_on:
            return Msg.of("search.moved_out", day=hit.moved_on, address=hit.moved_from or "")
        return Msg.of("search.no_home")

    def open(self, resident_id: str) -> None:
        self.ctx.push(ResidentScreen(self.ctx, resident_id))
