"""Campaigns (活动) on the device: the list for my grids with counts, and a campaign's missed list.

The missed list is targets − completions − settled doorstep outcomes, grouped in walking order
(building → unit → house) with counts at each level. All of it is kept offline by the store
(`Store.missed_list`, field_app/store/kept.py), decided by `shared.campaigns` (the server's own
functions) for just the people each write touched. An outcome recorded at the door is an
append-only `outcome` record, validated by `shared.records`; the list updates at once, so a
settling outcome takes the person off it immediately.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from field_app.i18n.messages import Msg
from field_app.state.base import Context, Screen, errors_by_field
from field_app.state.people import Brief, brief
from field_app.store import Record, ValidationFailed
from field_app.store.kept import MissedList
from shared.campaigns import (
    CAMPAIGN_KIND_ZH,
    OUTCOME_ZH,
    BuildingGroup,
    OutcomeFact,
    Tally,
)
from shared.clock import format_timestamp
from shared.errors import FieldError

OUTCOMES = tuple(OUTCOME_ZH)
# The detail each outcome asks for in the dialog (shared.campaigns requires it).
DETAIL: dict[str, str] = {"done_elsewhere": "place", "exempt": "reason", "not_home": "revisit_date"}


@dataclass(frozen=True)
class CampaignItem:
    record: Record
    tally: Tally

    @property
    def name(self) -> str:
        return str(self.record.values.get("name") or "")

    @property
    def kind_zh(self) -> str:
        return CAMPAIGN_KIND_ZH.get(str(self.record.values.get("kind")), "")


class CampaignsScreen(Screen):
    """The campaigns over the worker's grids, each with its targets / completed / missed."""

    kind = "campaigns"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.items: list[CampaignItem] = []
        self.refresh()

    def refresh(self) -> None:
        store = self.ctx.store
        self.items = [CampaignItem(c, tally) for c, tally in store.campaign_tallies()]

    def open(self, campaign_id: str) -> None:
        if any(item.record.id == campaign_id for item in self.items):
            self.ctx.push(MissedScreen(self.ctx, campaign_id))


class OutcomeDialog:
    """What the worker found at the door for one target: an outcome and its detail."""

    def __init__(self, resident_id: str, name: str) -> None:
        self.resident_id = resident_id
        self.name = name
        self.outcome: str | None = None
        self.place = ""
        self.reason = ""
        self.revisit_date = ""
        self.errors: dict[str, FieldError] = {}

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(outcome, Chinese label) in the order the dialog offers them."""
        return [(o, OUTCOME_ZH[o]) for o in OUTCOMES]

    @property
    def needs(self) -> str | None:
        """The detail field the chosen outcome asks for, if any."""
        return DETAIL.get(self.outcome or "")


class MissedScreen(Screen):
    """One campaign's missed list, in walking order, and recording outcomes at the door."""

    kind = "missed"

    def __init__(self, ctx: Context, campaign_id: str) -> None:
        super().__init__(ctx)
        self.campaign_id = campaign_id
        self.kept: MissedList | None = None
        self.groups: list[BuildingGroup] = []
        self.names: dict[str, str] = {}
        self.people: dict[str, Brief] = {}  # phone, sex and age of each missed person
        self.tally = Tally()
        self.dialog: OutcomeDialog | None = None
        self.refresh()

    @property
    def title(self) -> Msg:
        name = self.kept.campaign.values.get("name") if self.kept else ""
        return Msg.of("screen.missed", campaign=name or "")

    def refresh(self) -> None:
        self.kept = self.ctx.store.missed_list(self.campaign_id)
        self.groups = self.kept.groups
        self.tally = self.kept.tally
        found = self.ctx.store.contacts_of(self.kept.missed)
        day = self.ctx.today()
        self.people = {rid: brief(rid, *facts, day) for rid, facts in found.items()}
        self.names = {rid: person.name for rid, person in self.people.items()}

    @property
    def unsaved(self) -> bool:
        dialog = self.dialog
        return dialog is not None and (
            dialog.outcome is not None
            or any(v.strip() for v in (dialog.place, dialog.reason, dialog.revisit_date))
        )

    @property
    def missed(self) -> frozenset[str]:
        return self.kept.missed if self.kept else frozenset()

    def last_outcome(self, resident_id: str) -> OutcomeFact | None:
        """The outcome shown next to a missed person (not_home, refused), if any."""
        return self.kept.outcomes.get(resident_id) if self.kept else None

    # --- the outcome dialog --------------------------------------------------------------------

    def start_outcome(self, resident_id: str) -> None:
        self.dialog = OutcomeDialog(resident_id, self.names.get(resident_id, ""))
        self.ctx.changed()

    def cancel_outcome(self) -> None:
        self.dialog = None
        self.ctx.changed()

    def choose(self, outcome: str) -> None:
        if self.dialog is not None and outcome in OUTCOME_ZH:
            self.dialog.outcome = outcome
            self.dialog.errors.clear()
            self.ctx.changed()

    def set_detail(self, name: str, text: str) -> None:
        if self.dialog is not None and name in ("place", "reason", "revisit_date"):
            setattr(self.dialog, name, text)
            self.dialog.errors.pop(name, None)
            self.ctx.changed()

    def save_outcome(self) -> bool:
        """Record the outcome as an append-only fact; the list updates at once."""
        dialog = self.dialog
        if dialog is None:
            return False
        if dialog.outcome is None:
            dialog.errors["outcome"] = FieldError("outcome", "required", "Choose what you found.")
            self.ctx.changed()
            return False
        values: dict[str, object] = {
            "campaign_id": self.campaign_id,
            "resident_id": dialog.resident_id,
            "outcome": dialog.outcome,
            "recorded_at": format_timestamp(self.ctx.now()),
        }
        needed = dialog.needs
        if needed == "place" and dialog.place.strip():
            values["place"] = dialog.place.strip()
        if needed == "reason" and dialog.reason.strip():
            values["reason"] = dialog.reason.strip()
        if needed == "revisit_date" and dialog.revisit_date.strip():
            values["revisit_date"] = _date_or_text(dialog.revisit_date.strip())
        try:
            self.ctx.store.create("outcome", values, user_id=self.ctx.user_id)
        except ValidationFailed as exc:
            dialog.errors = errors_by_field(exc.errors)
            self.ctx.changed()
            return False
        self.dialog = None
        self.refresh()
        self.ctx.flash(Msg("flash.outcome_saved"))
        self.ctx.changed()
        return True


def _date_or_text(raw: str) -> str:
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        return raw  # shared.records says what is wrong with it
