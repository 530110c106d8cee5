"""Matters (事项) on the phone: the lists (my grids', mine, and for a handler the claim list and
my orders), the report form, and a matter's screen with its timeline and the steps the signed-in
user may take now.

Everything is read from the device store, which shows each matter with this device's pending
steps applied through the same `shared.matters.decide_step` the server runs; a step the server
refused (`stale_transition`: somebody moved the matter first) stays on the matter's screen with
the server's words until the worker has read it.
"""

from __future__ import annotations

from typing import Literal

from field_app.i18n.messages import Msg
from field_app.state.base import Context, Screen, errors_by_field
from field_app.state.sync_service import PhotoFetched
from field_app.store import OutboxProblem, Record, ValidationFailed
from field_app.store.matters import MatterCounts, MatterDetail, MatterItem, Scope, may_take
from shared.errors import FieldError
from shared.matters import MatterAction, MatterState, StepRefused, decide_step, refusal_text
from shared.protocol import MatterPerson
from shared.schema import Role

SOURCES = ("door", "resident_order", "inspection", "transfer")
URGENCIES = ("normal", "urgent")
STATES = tuple(s.value for s in MatterState)
# What a report cannot go without, and how the form asks for it (English; zh-CN: shared.messages).
REQUIRED = {
    "category_id": "Choose a category.",
    "description": "Say what the matter is.",
    "grid_id": "Choose the grid it is in.",
}
# What each step asks for in its form (shared.matters refuses it without: `invalid`).
STEP_INPUTS: dict[str, tuple[str, ...]] = {
    MatterAction.DECLINE.value: ("reason",),
    MatterAction.DISPATCH.value: ("org_id",),
    MatterAction.APPLY_CLOSE.value: ("reason", "photos"),
    MatterAction.SEND_BACK.value: ("reason",),
    MatterAction.RATE.value: ("rating", "comment"),
}


def scopes_for(role: str) -> tuple[Scope, ...]:
    """The lists a role works from: a handler's orders, everybody else's grids."""
    if role == Role.HANDLER.value:
        return ("claim", "orders")
    return ("grids", "mine")


def matter_title(item: MatterItem, categories: dict[str, str]) -> str:
    """ "环境卫生 · 3号楼楼道": the category, then where."""
    category = categories.get(str(item.shown.get("category_id")), "")
    place = str(item.shown.get("place") or "")
    return " · ".join(p for p in (category, place) if p) or str(item.shown.get("description") or "")


class MattersScreen(Screen):
    """The matters of one list, filtered by state, overdue first."""

    kind = "matters"

    def __init__(self, ctx: Context, scope: Scope | None = None) -> None:
        super().__init__(ctx)
        self.role = ctx.store.actor().role
        self.scopes = scopes_for(self.role)
        self.scope: Scope = scope if scope in self.scopes else self.scopes[0]
        self.state: str | None = None
        self.items: list[MatterItem] = []
        self.counts = MatterCounts()
        self.categories: dict[str, str] = {}
        self.refresh()

    @property
    def can_report(self) -> bool:
        return self.role != Role.HANDLER.value

    def refresh(self) -> None:
        store = self.ctx.store
        self.categories = {c.id: str(c.values.get("name") or "") for c in store.matter_categories()}
        everything = store.matters(self.scope)
        self.counts = store.matter_counts(self.scope)
        self.items = [m for m in everything if self.state is None or m.state == self.state]

    def title_of(self, item: MatterItem) -> str:
        return matter_title(item, self.categories)

    def set_scope(self, scope: str) -> None:
        chosen = next((s for s in self.scopes if s == scope), None)
        if chosen is not None:
            self.scope, self.state = chosen, None
            self.refresh()
            self.ctx.changed()

    def set_state(self, state: str | None) -> None:
        self.state = state if state in STATES else None
        self.refresh()
        self.ctx.changed()

    def open(self, matter_id: str) -> None:
        if any(m.id == matter_id for m in self.items):
            self.ctx.push(MatterScreen(self.ctx, matter_id))

    def report(self) -> None:
        if self.can_report:
            self.ctx.push(MatterReportForm(self.ctx))


class MatterReportForm(Screen):
    """Reporting a matter found at the door (上报): category, what, where, who asked, photos."""

    kind = "matter_report"

    def __init__(
        self,
        ctx: Context,
        *,
        grid_id: str | None = None,
        house_id: str | None = None,
        resident_id: str | None = None,
        editing: str | None = None,
    ) -> None:
        super().__init__(ctx)
        store = ctx.store
        # Correcting a matter still only reported: what it says, where, how urgent, more photos.
        self.editing = editing
        self.categories: list[Record] = store.matter_categories()
        self.grids: list[Record] = store.my_grids()
        self.house_id = house_id
        self.resident_id = resident_id
        house = store.get("house", house_id) if house_id else None
        resident = store.get("resident", resident_id) if resident_id else None
        self.person = str(resident.values.get("name") or "") if resident else ""
        self.values: dict[str, str] = {
            "category_id": "",
            "description": "",
            "grid_id": grid_id
            or (str(house.values.get("grid_id") or "") if house else "")
            or (self.grids[0].id if len(self.grids) == 1 else ""),
            "place": str(house.values.get("address") or "") if house else "",
            "source": "door",
            "urgency": "normal",
            "on_behalf_of": self.person,
        }
        matter = store.get("matter", editing) if editing else None
        if matter is not None:
            self.values.update(
                {n: str(matter.values.get(n) or "") for n in self.values if n in matter.values}
            )
        self.photos: list[bytes] = []
        self.errors: dict[str, FieldError] = {}
        self._as_opened = dict(self.values)

    @property
    def title(self) -> Msg:
        return Msg("screen.matter_edit" if self.editing else "screen.matter_report")

    @property
    def unsaved(self) -> bool:
        return self.values != self._as_opened or bool(self.photos)

    def set(self, name: str, value: str) -> None:
        if name in self.values:
            self.values[name] = value
            self.errors.pop(name, None)
            self.ctx.changed()

    def add_photo(self, data: bytes) -> None:
        self.photos.append(data)
        self.ctx.changed()

    def remove_photo(self, index: int) -> None:
        if 0 <= index < len(self.photos):
            del self.photos[index]
            self.ctx.changed()

    def save(self) -> bool:
        errors = [
            FieldError(name, "required", message)
            for name, message in REQUIRED.items()
            if not self.values[name].strip()
        ]
        if errors:
            self.errors = errors_by_field(errors)
            self.ctx.changed()
            return False
        if self.editing:
            return self._save_edit()
        values: dict[str, object] = {**self.values}
        if self.house_id:
            values["house_id"] = self.house_id
        if self.resident_id:
            values["resident_id"] = self.resident_id
        try:
            op = self.ctx.store.report_matter(values, user_id=self.ctx.user_id, photos=self.photos)
        except ValidationFailed as exc:
            self.errors = errors_by_field(exc.errors)
            self.ctx.changed()
            return False
        self._as_opened, self.photos = dict(self.values), []
        self.ctx.back()
        self.ctx.push(MatterScreen(self.ctx, op.record_id))
        self.ctx.flash(Msg("flash.matter_reported"))
        return True

    def _save_edit(self) -> bool:
        assert self.editing is not None
        try:
            self.ctx.store.edit_matter(
                self.editing, self.values, user_id=self.ctx.user_id, photos=self.photos
            )
        except ValidationFailed as exc:
            self.errors = errors_by_field(exc.errors)
            self.ctx.changed()
            return False
        self._as_opened, self.photos = dict(self.values), []
        self.ctx.back()
        self.ctx.flash(Msg("flash.matter_edited"))
        return True


class StepForm:
    """What one step asks for before it is taken: a reason or work note, a unit, photos, a
    rating and comment (only the inputs `STEP_INPUTS` names for the action are shown)."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.inputs = STEP_INPUTS.get(action, ())
        self.reason = ""
        self.org_id = ""
        self.user_id = ""  # dispatch to a named person instead of a unit
        self.rating: int | None = None
        self.comment = ""
        self.photos: list[bytes] = []
        self.errors: dict[str, FieldError] = {}

    def values(self) -> dict[str, object]:
        found: dict[str, object] = {"action": self.action}
        if "reason" in self.inputs:
            found["reason"] = self.reason
        if "org_id" in self.inputs and self.org_id:
            found["org_id"] = self.org_id
        if "org_id" in self.inputs and self.user_id:
            found["user_id"] = self.user_id
        if "rating" in self.inputs and self.rating is not None:
            found["rating"] = self.rating
        if "comment" in self.inputs:
            found["comment"] = self.comment
        return found


PhotoShown = Literal["full", "loading", "offline", "failed"]


class MatterScreen(Screen):
    """One matter: what and where, its state and deadline, its photos before (the report's) and
    after (the applications to close), its timeline, and the steps the signed-in user may take
    now (from the shared who-may table).

    Photos show as their thumbnails (fetched after each sync; the device's own photos as they
    are). Tapping one opens it: the whole photo when the device holds it, else it is fetched in
    the background (`ctx.fetch_photo`) with the thumbnail shown meanwhile; offline the screen
    says the whole photo needs a connection.
    """

    kind = "matter"

    def __init__(self, ctx: Context, matter_id: str) -> None:
        super().__init__(ctx)
        self.matter_id = matter_id
        self.detail: MatterDetail | None = None
        self.actions: list[str] = []
        self.form: StepForm | None = None
        self.categories: dict[str, str] = {}
        self.orgs: list[Record] = []
        self.photos_before: list[str] = []
        self.photos_after: list[str] = []
        self.viewing: str | None = None  # the photo opened, if any
        self.viewing_shown: PhotoShown = "full"
        self.people: list[MatterPerson] = []  # whom it may be dispatched to, by name
        self.names: dict[str, str] = {}
        self.refresh()

    # --- photos ----------------------------------------------------------------------------------

    def picture(self, sha256: str) -> bytes | None:
        """What the page shows of a photo (its thumbnail); None until it has arrived."""
        return self.ctx.store.photo_picture(sha256)

    def open_photo(self, sha256: str) -> None:
        if sha256 not in (*self.photos_before, *self.photos_after):
            return
        self.viewing = sha256
        if self.ctx.store.full_photo(sha256) is not None:
            self.viewing_shown = "full"
        elif self.ctx.fetch_photo(sha256):
            self.viewing_shown = "loading"
        else:
            self.viewing_shown = "offline"
        self.ctx.changed()

    def close_photo(self) -> None:
        self.viewing = None
        self.ctx.changed()

    def viewed(self) -> bytes | None:
        """The opened photo as it can be shown now: whole, or its thumbnail while it is not."""
        if self.viewing is None:
            return None
        return self.ctx.store.full_photo(self.viewing) or self.picture(self.viewing)

    def photo_fetched(self, result: PhotoFetched | None) -> None:
        """Pictures arrived in the background (thumbnails after a sync, or the photo opened)."""
        if result is not None and result.sha256 == self.viewing and self.viewing_shown == "loading":
            if result.ok:
                self.viewing_shown = "full"
            else:
                self.viewing_shown = "offline" if result.offline else "failed"
        self.ctx.changed()

    @property
    def unsaved(self) -> bool:
        form = self.form
        return form is not None and bool(
            form.reason.strip() or form.comment.strip() or form.photos or form.rating
        )

    @property
    def rejected(self) -> list[OutboxProblem]:
        return self.detail.rejected if self.detail is not None else []

    def refresh(self) -> None:
        store = self.ctx.store
        self.categories = {c.id: str(c.values.get("name") or "") for c in store.matter_categories()}
        self.detail = store.matter(self.matter_id)
        self.names = store.people_names()
        if self.detail is None:
            self.actions, self.photos_before, self.photos_after = [], [], []
            self.orgs, self.people = [], []
            return
        self.photos_before = list(self.detail.item.shown.get("photos") or [])
        self.photos_after = list(
            dict.fromkeys(
                sha
                for step in self.detail.steps
                if step.action == MatterAction.APPLY_CLOSE.value
                for sha in step.record.values.get("photos") or []
            )
        )
        loading = self.viewing is not None and self.viewing_shown == "loading"
        if loading and store.full_photo(str(self.viewing)) is not None:
            self.viewing_shown = "full"
        # Dispatch as the console offers it: the units serving the matter's community (or no
        # community in particular) and the people the server listed for that community.
        grid = store.get("grid_node", str(self.detail.item.shown.get("grid_id") or ""))
        community = str(grid.values.get("parent_id") or "") if grid is not None else ""
        self.orgs = [o for o in store.orgs() if o.values.get("grid_id") in (None, "", community)]
        self.people = store.dispatch_people(community)
        self.actions = may_take(self.detail.item.shown, store.actor())

    def refusal(self, problem: OutboxProblem) -> StepRefused | None:
        """Why the server refused a step, worded from what the phone holds now (the pull that
        follows a push brings the matter as it is): for `stale_transition`, the state the
        matter is in, who moved it and when, in both languages; for a step a newer one made
        invalid (a second rating of a matter rated meanwhile), the cause the server found.
        None when the phone cannot tell (the server's own reason is shown then)."""
        if self.detail is None or problem.code not in ("stale_transition", "invalid"):
            return None
        matter = dict(self.detail.item.shown)
        step = {n: c.new for n, c in problem.op.fields.items()}
        decided = decide_step(matter, step, self.ctx.store.actor())
        if not isinstance(decided, StepRefused) or decided.code != problem.code:
            return None
        # An invalid step has several causes: only the one the server named is repeated here.
        if problem.code == "invalid" and decided.params.get("field") != problem.field:
            return None
        return decided

    def refusal_words(self, refused: StepRefused, language: str) -> str:
        """A refusal in `language` from the one catalogue (`shared.matters.REFUSALS`): the
        state, who moved it by the name the server's directory gives, when in China time."""
        return refusal_text(refused.code, refused.params, language, names=self.names)

    @property
    def can_edit(self) -> bool:
        """Whether the user may still correct what the matter says: only reported, and theirs."""
        if self.detail is None or self.detail.item.state != MatterState.REPORTED.value:
            return False
        mine = self.ctx.store.matters("mine", state=MatterState.REPORTED.value)
        return any(m.id == self.matter_id for m in mine)

    def edit(self) -> None:
        if self.can_edit:
            self.ctx.push(MatterReportForm(self.ctx, editing=self.matter_id))

    def resident_name(self) -> str:
        if self.detail is None or not self.detail.item.shown.get("resident_id"):
            return ""
        resident = self.ctx.store.get("resident", str(self.detail.item.shown["resident_id"]))
        return str(resident.values.get("name") or "") if resident else ""

    def start(self, action: str) -> None:
        """Tap on a step: one that needs nothing more is taken at once, others open the form."""
        if action not in self.actions:
            return
        self.form = StepForm(action)
        if not self.form.inputs:
            self.submit()
        else:
            self.ctx.changed()

    def cancel(self) -> None:
        self.form = None
        self.ctx.changed()

    def set_reason(self, text: str) -> None:
        if self.form is not None:
            self.form.reason = text
            self.ctx.changed()

    def set_comment(self, text: str) -> None:
        if self.form is not None:
            self.form.comment = text
            self.ctx.changed()

    def set_org(self, org_id: str) -> None:
        if self.form is not None and any(o.id == org_id for o in self.orgs):
            self.form.org_id, self.form.user_id = org_id, ""
            self.form.errors.pop("org_id", None)
            self.ctx.changed()

    def set_person(self, user_id: str) -> None:
        """Dispatch to a named person of the matter's community (only those listed)."""
        if self.form is not None and any(p.id == user_id for p in self.people):
            self.form.user_id, self.form.org_id = user_id, ""
            self.form.errors.pop("org_id", None)
            self.ctx.changed()

    def set_rating(self, rating: int) -> None:
        if self.form is not None and 1 <= rating <= 5:
            self.form.rating = rating
            self.form.errors.pop("rating", None)
            self.ctx.changed()

    def add_photo(self, data: bytes) -> None:
        if self.form is not None:
            self.form.photos.append(data)
            self.form.errors.pop("photos", None)
            self.ctx.changed()

    def submit(self) -> bool:
        form = self.form
        if form is None:
            return False
        store = self.ctx.store
        try:
            store.add_step(
                self.matter_id, form.values(), user_id=self.ctx.user_id, photos=form.photos
            )
        except ValidationFailed as exc:
            form.errors = errors_by_field(exc.errors)
            self.ctx.changed()
            return False
        self.form = None
        self.refresh()
        self.ctx.flash(Msg(f"flash.step.{form.action}"))
        return True

    def dismiss_rejected(self, op_id: str) -> None:
        self.ctx.store.dismiss_problem(op_id)
        self.refresh()
        self.ctx.changed()
