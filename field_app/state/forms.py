"""Editing a resident, or adding a person found at the door and binding them to the house.

Every field is checked as it is typed, with the same rules the store and the server apply
(`shared.records`): a wrong ID check digit or a short phone number shows under its field at once,
not at the next sync. Saving is one local transaction with its outbox operations (a new person
and their binding go together or not at all).

The ID number stays masked (all but the last four characters) until the worker opens the field.
"""

from __future__ import annotations

from datetime import date

from field_app.i18n.messages import Msg
from field_app.state.base import Context, Screen, errors_by_field
from field_app.store import Record, RecordNotFound, ValidationFailed
from shared.errors import FieldError
from shared.records import check_values
from shared.schema import RELATION_ZH, RESIDENCE_STATUS_ZH, TAG_ZH
from shared.validation import mask_id_number

RESIDENT_FIELDS = ("name", "id_number", "phone", "residence_status", "note")
BINDING_FIELDS = ("relation", "start_date")
RELATIONS = tuple(RELATION_ZH)
RESIDENCE_STATUSES = tuple(RESIDENCE_STATUS_ZH)
TAGS = tuple(TAG_ZH)


class ResidentForm(Screen):
    """One form for both jobs: `editing(ctx, resident_id)` or `adding(ctx, house_id)`."""

    kind = "resident_form"

    def __init__(
        self,
        ctx: Context,
        *,
        resident: Record | None = None,
        house_id: str | None = None,
    ) -> None:
        super().__init__(ctx)
        self.resident = resident
        self.house_id = house_id
        self.is_new = resident is None
        self.values: dict[str, str] = {name: "" for name in (*RESIDENT_FIELDS, *BINDING_FIELDS)}
        self.tags: set[str] = set()
        self.errors: dict[str, FieldError] = {}
        self.id_revealed = self.is_new
        if resident is not None:
            for name in RESIDENT_FIELDS:
                self.values[name] = str(resident.values.get(name) or "")
            self.tags = set(resident.values.get("tags") or [])
        else:
            self.values["residence_status"] = "permanent"
            self.values["relation"] = "member"
            self.values["start_date"] = ctx.today().isoformat()
        self._as_opened = (dict(self.values), set(self.tags))

    @classmethod
    def editing(cls, ctx: Context, resident_id: str) -> ResidentForm:
        resident = ctx.store.get("resident", resident_id)
        if resident is None or resident.deleted:
            raise RecordNotFound("resident", resident_id)
        return cls(ctx, resident=resident)

    @classmethod
    def adding(cls, ctx: Context, house_id: str) -> ResidentForm:
        return cls(ctx, house_id=house_id)

    @property
    def title(self) -> Msg:
        if self.is_new:
            return Msg("screen.resident_add")
        return Msg.of("screen.resident_edit", name=self.values["name"])

    @property
    def unsaved(self) -> bool:
        return (self.values, self.tags) != self._as_opened

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.values["id_number"])

    # --- typing --------------------------------------------------------------------------------

    def set_value(self, name: str, value: str) -> None:
        """Take what was typed (or chosen) and check that field alone."""
        self.values[name] = value
        self._check(name)
        self.ctx.changed()

    def toggle_tag(self, tag: str) -> None:
        self.tags.symmetric_difference_update({tag})
        self.ctx.changed()

    def reveal_id(self) -> None:
        """Show (and allow changing) the full ID number."""
        self.id_revealed = True
        self.ctx.changed()

    def _check(self, name: str) -> None:
        entity = "binding" if name in BINDING_FIELDS else "resident"
        _, errors = check_values(
            entity, {name: self.values[name]}, creating=False, today=self.ctx.today()
        )
        if errors:
            self.errors[name] = errors[0]
        else:
            self.errors.pop(name, None)

    # --- saving --------------------------------------------------------------------------------

    def save(self) -> bool:
        """Write the change with its outbox operation(s); False (with errors shown) if refused."""
        fields = [*RESIDENT_FIELDS, *(BINDING_FIELDS if self.is_new else ())]
        for name in fields:
            if name != "id_number" or self.id_revealed:
                self._check(name)
        if not self.errors and self.is_new:
            self._check_duplicate()
        if self.errors:
            self.ctx.changed()
            return False
        try:
            saved = self._save_new() if self.is_new else self._save_edit()
        except ValidationFailed as exc:
            self.errors = errors_by_field(exc.errors)
            self.ctx.changed()
            return False
        except RecordNotFound:
            self._as_opened = (dict(self.values), set(self.tags))  # nothing left to keep
            self.ctx.flash(Msg("flash.record_gone"), error=True)
            self.ctx.back()
            return False
        self._as_opened = (dict(self.values), set(self.tags))
        self.ctx.flash(Msg("flash.saved") if saved else Msg("flash.nothing_changed"))
        self.ctx.back()
        return True

    def _resident_values(self) -> dict[str, object]:
        values: dict[str, object] = {n: self.values[n] for n in RESIDENT_FIELDS}
        if not self.id_revealed:
            del values["id_number"]  # never opened: unchanged
        values["tags"] = sorted(self.tags)
        return values

    def _save_edit(self) -> bool:
        assert self.resident is not None
        op = self.ctx.store.update(
            "resident", self.resident.id, self._resident_values(), user_id=self.ctx.user_id
        )
        return op is not None

    def _save_new(self) -> bool:
        assert self.house_id is not None
        store, user = self.ctx.store, self.ctx.user_id
        with store.transaction():
            created = store.create("resident", self._resident_values(), user_id=user)
            store.create(
                "binding",
                {
                    "resident_id": created.record_id,
                    "house_id": self.house_id,
                    "relation": self.values["relation"],
                    "start_date": self.values["start_date"],
                },
                user_id=user,
            )
        return True

    def _check_duplicate(self) -> None:
        # The server would hold a second living person with this ID number as a duplicate for an
        # admin; at the door the worker can simply open the existing record instead.
        normalised, _ = check_values(
            "resident",
            {"id_number": self.values["id_number"]},
            creating=False,
            today=self.ctx.today(),
        )
        number = normalised.get("id_number")
        if not number:
            return
        for hit in self.ctx.store.search_residents(number, day=self.ctx.today(), limit=5):
            if hit.resident.values.get("id_number") == number:
                self.errors["id_number"] = FieldError(
                    "id_number",
                    "duplicate",
                    f"ID number {mask_id_number(number)} is already registered "
                    f"for {hit.resident.values.get('name')}",
                    {"value": mask_id_number(number), "name": hit.resident.values.get("name")},
                )
                return


def parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None
