"""The device store: the one object the app and the sync client talk to.

Every method that writes runs in one SQLite transaction: an edit with its outbox operation and
the HLC timestamp that stamped it; a push's results with the record versions they confirm; a pull
page with its cursor. Whatever moment the phone dies at, the store holds either all of such a
step or none of it, so no edit is lost and none is left that would never sync.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from field_app.photos.shrink import PhotoUnreadable, keep_gps_setting, shrink
from field_app.store import businesses as business_queries
from field_app.store import campaigns as campaign_queries
from field_app.store import checks, cipher, kept, outbox, queries, records, search, sweep
from field_app.store import matters as matter_queries
from field_app.store import notices as notice_store
from field_app.store import photos as photo_store
from field_app.store import posts as post_queries
from field_app.store import results as op_results
from field_app.store import thumbs as thumb_store
from field_app.store.businesses import BusinessItem, ToCheck
from field_app.store.campaigns import CampaignSweep
from field_app.store.db import MEMORY, open_db, write_transaction
from field_app.store.errors import RecordNotFound
from field_app.store.kept import MissedList
from field_app.store.keys import KeyHolder, key_holder_for
from field_app.store.matters import MatterCounts, MatterDetail, MatterItem, Scope
from field_app.store.meta import DEVICE_ID, Meta
from field_app.store.modes import StoreMode, choose
from field_app.store.notices import Notice
from field_app.store.outbox import OutboxCounts, OutboxProblem
from field_app.store.photos import PhotoCounts, PhotoRow
from field_app.store.posts import PostItem
from field_app.store.pull import PullApplied, apply_page, forget_moved, forget_pulled
from field_app.store.queries import Occupant
from field_app.store.records import Record
from field_app.store.sealed import StoreDb
from field_app.store.search import ResidentHit
from field_app.store.sweep import HouseSummary, PlaceSummary, Tally
from shared import hlc
from shared.businesses import check_against_checklist
from shared.campaigns import OutcomeFact
from shared.campaigns import Tally as CampaignTally
from shared.clock import Clock
from shared.errors import FieldError, ValidationFailed
from shared.matters import EDITABLE_WHILE_REPORTED, Actor, MatterState, StepRefused, decide_step
from shared.members import ClaimRefused, decide_claim
from shared.merge import Snapshot
from shared.moves import moved_since
from shared.protocol import (
    EntityName,
    FieldChange,
    MatterPerson,
    Operation,
    OpKind,
    OpResult,
    PullResponse,
    ReviewNote,
)
from shared.schema import EntitySpec

REVIEW_NOTES = "review_notes"  # meta: the notes the worker has not dismissed (ReviewNote JSON)
REVIEW_ACK = "review_notes_to_ack"  # meta: op_ids the next pull acknowledges
# meta: the people the matters name and whom a supervisor may dispatch to (MatterPerson JSON),
# as the last pull sent them: names, roles and units only
MATTER_PEOPLE = "matter_people"
REPORTED_HERE = "matters_reported_here"  # meta: user id -> ids of matters they reported here


class Store:
    """The local records, the outbox and the sync bookkeeping of one device."""

    def __init__(
        self,
        db: StoreDb,
        *,
        clock: Clock | None = None,
        location: tuple[Path, KeyHolder, StoreMode] | None = None,
    ) -> None:
        """Use an opened and migrated database (see `Store.open`).

        `clock` (default: the system's) is where the store reads "now" and "today": the
        physical part of its HLC stamps, and the day whose bindings are open.

        `location` (the file, its key holder and store mode) is what `wipe` erases; without it a
        wipe only deletes the rows.
        """
        self.db = db
        self.meta = Meta(db)
        # setdefault, not get-then-set: two connections opening a new file agree on one id.
        self._device_id = str(self.meta.setdefault(DEVICE_ID, str(uuid.uuid4())))
        self.clock = clock or Clock()
        self._hlc = self._restore_clock()
        self._location = location
        # Operations this connection has queued: the app watches it to push edits made online.
        self.edits = 0
        self._kept = kept.KeptLists()  # the missed lists this connection has read

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        keys: KeyHolder | None = None,
        clock: Clock | None = None,
        mode: StoreMode | None = None,
    ) -> Store:
        """Open the store at `path` (created and migrated as needed; ":memory:" for tests).

        The store is protected with the key `keys` holds (default: `keys/<file>.key` beside it),
        in the store mode `mode` (default: `modes.choose()`, SQLCipher where it exists). Raises
        `StoreLocked` (`KeyMissing`, `WrongKey`, ...) when the file cannot be opened with it.
        """
        if str(path) == MEMORY:
            return cls(open_db(path, keys), clock=clock)
        holder = keys or key_holder_for(path)
        chosen = choose(mode)
        return cls(
            open_db(path, holder, chosen), clock=clock, location=(Path(path), holder, chosen)
        )

    @staticmethod
    def erase(path: str | Path, *, keys: KeyHolder | None = None) -> None:
        """Destroy the store at `path` and its key, for a store that cannot be opened any more
        (`KeyMissing`, `WrongKey`): the next open starts an empty store with a new key, and the
        worker signs in and downloads their grids from the server again. Whatever was on it and
        not yet synced is lost; without its key nobody could read it anyway."""
        cipher.erase(Path(path), keys or key_holder_for(path))

    def close(self) -> None:
        self.db.close()

    @property
    def device_id(self) -> str:
        """This installation's id, generated on first open; also the node id of its HLC."""
        return self._device_id

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several edits into one all-or-nothing step (e.g. moving a resident)."""
        with write_transaction(self.db):
            yield

    def wipe(self) -> None:
        """Delete everything this device holds: records, shadows, outbox and sync bookkeeping.

        For a device the server has revoked (lost or stolen): only the device id stays, so the
        revoked installation can never sign in again as a new device.

        The rows go first, in one transaction, so every other connection to the file (the app's
        window) sees an empty store at once. Then the file is crypto-erased: its key is destroyed
        and the database, WAL and shared-memory files are deleted, so deleted rows left in free
        pages or old WAL frames cannot be read back either; a fresh store with a new key takes
        its place, holding the device id. (A power cut inside the erase loses the device id: the
        next start is a fresh installation, which still needs a worker's password.)
        """
        keep = {"_sqlite_migrations", "meta"}
        tables = [
            name
            for name in self.db.table_names()
            if name not in keep and not name.startswith(("sqlite_", "_"))
        ]
        with write_transaction(self.db):
            # Twice: the kept missed lists' triggers note each deleted row (kept.py), so the
            # first pass can leave notes in a table it had already emptied.
            for _ in range(2):
                for name in tables:
                    self.db.execute(f'DELETE FROM "{name}"')
            self.db.execute("DELETE FROM meta WHERE key != ?", [DEVICE_ID])
        if self._location is None:
            return
        path, keys, mode = self._location
        self.db.close()
        try:
            cipher.erase(path, keys)
        finally:
            # Even if the erase failed part way, this object stays usable (the rows are gone).
            self.db = open_db(path, keys, mode)
            self.meta = Meta(self.db)
            self.meta.setdefault(DEVICE_ID, self._device_id)

    # --- edits ---------------------------------------------------------------------------------

    def create(self, entity: str, values: Mapping[str, Any], *, user_id: str) -> Operation:
        """Create a record; its id is `op.record_id`. Raises `ValidationFailed` for bad values."""
        spec = records.entity_spec(entity)
        clean = checks.check_values(spec, values, creating=True, today=self.clock.today())
        with write_transaction(self.db):
            self._check_references(clean)
            ts = self._stamp()
            fields = {n: FieldChange(base=None, new=v) for n, v in clean.items() if v is not None}
            op = self._operation(spec, str(uuid.uuid4()), "create", None, fields, ts, user_id)
            view = Snapshot({n: c.new for n, c in fields.items()}, dict.fromkeys(fields, ts))
            records.write_view(self.db, entity, op.record_id, None, view)
            self._enqueue(op)
        return op

    def update(
        self, entity: str, record_id: str, changes: Mapping[str, Any], *, user_id: str
    ) -> Operation | None:
        """Change some fields of a live record; None (and nothing written) if nothing changed."""
        spec = records.entity_spec(entity)
        clean = checks.check_values(spec, changes, creating=False, today=self.clock.today())
        with write_transaction(self.db):
            current = self._live(entity, record_id)
            changed = {
                n: FieldChange(base=current.values.get(n), new=v)
                for n, v in clean.items()
                if not _same(spec, n, current.values.get(n), v)
            }
            if not changed:
                return None
            self._check_references({n: c.new for n, c in changed.items()})
            ts = self._stamp()
            op = self._operation(spec, record_id, "update", current.version, changed, ts, user_id)
            view = Snapshot(
                {**current.values, **{n: c.new for n, c in changed.items()}},
                {**current.clocks, **dict.fromkeys(changed, ts)},
            )
            records.write_view(self.db, entity, record_id, current.version, view)
            self._enqueue(op)
        return op

    def delete(self, entity: str, record_id: str, *, user_id: str) -> Operation:
        """Delete a live record.

        The operation carries every field with `base` = `new` = the value the worker saw: a
        deletion changes no value, and the server needs the bases to notice that somebody else
        edited the record meanwhile (a delete-vs-edit conflict for an admin).
        """
        spec = records.entity_spec(entity)
        if not spec.device_creatable:
            raise ValidationFailed(
                [FieldError("entity", "not_device_writable", f"A {entity} cannot be deleted here.")]
            )
        with write_transaction(self.db):
            current = self._live(entity, record_id)
            fields = {n: FieldChange(base=v, new=v) for n, v in current.values.items()}
            ts = self._stamp()
            op = self._operation(spec, record_id, "delete", current.version, fields, ts, user_id)
            view = Snapshot(current.values, current.clocks, deleted=True)
            records.write_view(self.db, entity, record_id, current.version, view)
            self._enqueue(op)
        return op

    # --- photos (field_app/photos/) -------------------------------------------------------------

    def add_photo(self, data: bytes, *, keep_gps: bool | None = None) -> str:
        """Keep the photo in `data` (as the camera or file picker gave it) and return its name,
        the sha256 hex of its shrunk JPEG, for the record that shows it.

        The photo is shrunk here (`photos.shrink`; GPS kept only if `keep_gps`, by default the
        `GRIDSWEEP_KEEP_PHOTO_GPS` setting), then written in the caller's open transaction when
        there is one, so a matter and its photos are kept together or not at all:

            with store.transaction():
                sha = store.add_photo(picked)
                store.create("matter", {..., "photos": [sha]}, user_id=user)

        Adding the same picture twice keeps it once. Raises `PhotoUnreadable` (nothing written)
        when `data` is not a picture.
        """
        shrunk = shrink(data, keep_gps=keep_gps_setting() if keep_gps is None else keep_gps)
        sha256 = hashlib.sha256(shrunk).hexdigest()
        with write_transaction(self.db):
            photo_store.add(self.db, sha256, shrunk, self.clock.now())
        return sha256

    def photo(self, sha256: str) -> PhotoRow | None:
        """A kept photo's upload bookkeeping; None if this device does not hold it."""
        return photo_store.get(self.db, sha256)

    def photo_bytes(self, sha256: str) -> bytes | None:
        """A kept photo's JPEG; None if this device does not hold it."""
        return photo_store.data_of(self.db, sha256)

    def photos_to_upload(self, limit: int | None = None) -> list[PhotoRow]:
        """Photos the server does not wholly hold yet, oldest first."""
        return photo_store.pending(self.db, limit)

    def photo_uploaded(
        self, sha256: str, uploaded: int, *, done: bool = False, error: str | None = None
    ) -> None:
        """Record how far a photo's upload got (`done` once the server holds all of it), and
        why its last attempt failed (`error`, None when it did not)."""
        with write_transaction(self.db):
            photo_store.progress(self.db, sha256, uploaded, done=done, error=error)

    def photo_counts(self) -> PhotoCounts:
        return photo_store.counts(self.db)

    # --- others' photos: thumbnails after a sync, the whole photo on demand (store/thumbs.py) ---

    def thumbs_wanted(self) -> list[str]:
        """Photos the matters here name and the device holds no picture of."""
        return thumb_store.wanted(self.db)

    def keep_thumbs(self, thumbs: Mapping[str, bytes]) -> None:
        """Keep fetched thumbnails (of photos still named here), in one transaction."""
        with write_transaction(self.db):
            thumb_store.add(self.db, thumbs, self.clock.now())

    def keep_full_photo(self, sha256: str, data: bytes) -> None:
        """Keep a photo the worker opened; refused (`ValueError`) unless `data` is the photo
        that name names."""
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError("the bytes received are not the photo of that name")
        with write_transaction(self.db):
            thumb_store.keep_full(self.db, sha256, data, self.clock.now())

    def photo_picture(self, sha256: str) -> bytes | None:
        """What a matter's page shows of a photo: the thumbnail, or the photo itself when it is
        this device's own or has been opened; None until its thumbnail has arrived."""
        return (
            thumb_store.thumb_of(self.db, sha256)
            or thumb_store.full_of(self.db, sha256)
            or photo_store.data_of(self.db, sha256)
        )

    def full_photo(self, sha256: str) -> bytes | None:
        """The whole photo when the device holds it (its own, or one opened before)."""
        return photo_store.data_of(self.db, sha256) or thumb_store.full_of(self.db, sha256)

    # --- reads ---------------------------------------------------------------------------------

    def get(self, entity: str, record_id: str) -> Record | None:
        """The record as the worker sees it (check `.deleted`), or None if it is not here."""
        return records.read_view(self.db, entity, record_id)

    def my_grids(self) -> list[Record]:
        return queries.my_grids(self.db)

    def buildings_in_grid(self, grid_id: str) -> list[Record]:
        return queries.buildings_in_grid(self.db, grid_id)

    def units_of_building(self, building_id: str) -> list[Record]:
        return queries.units_of_building(self.db, building_id)

    def houses_in_grid(self, grid_id: str, *, building_id: str | None = None) -> list[Record]:
        return queries.houses_in_grid(self.db, grid_id, building_id=building_id)

    def residents_of_house(self, house_id: str, *, on: date | None = None) -> list[Occupant]:
        return queries.residents_of_house(self.db, house_id, on=on or self.clock.today())

    def find_residents(self, text: str, *, limit: int = 50) -> list[Record]:
        return queries.find_residents(self.db, text, limit=limit)

    def open_bindings_of(self, resident_id: str, *, on: date | None = None) -> list[Record]:
        return queries.open_bindings_of(self.db, resident_id, on=on or self.clock.today())

    # --- the sweep: counts, visit status and search for the app's screens ----------------------

    def grid_summaries(self, day: date) -> list[PlaceSummary]:
        return sweep.grid_summaries(self.db, day)

    def building_summaries(self, grid_id: str, day: date) -> list[PlaceSummary]:
        return sweep.building_summaries(self.db, grid_id, day)

    def unit_summaries(self, building_id: str, day: date) -> list[PlaceSummary]:
        return sweep.unit_summaries(self.db, building_id, day)

    def building_tally(self, building_id: str, day: date) -> Tally:
        return sweep.building_tally(self.db, building_id, day)

    def house_summaries(
        self, day: date, *, building_id: str, unit_id: str | None = None
    ) -> list[HouseSummary]:
        return sweep.house_summaries(self.db, day, building_id=building_id, unit_id=unit_id)

    def house_summary(self, house_id: str, day: date) -> HouseSummary | None:
        return sweep.house_summary(self.db, house_id, day)

    def visits_of_house(self, house_id: str, *, limit: int = 20) -> list[Record]:
        return sweep.visits_of_house(self.db, house_id, limit=limit)

    def search_residents(self, text: str, *, day: date, limit: int = 50) -> list[ResidentHit]:
        """By name, pinyin initials or pinyin, ID number ending, phone, or house address."""
        return search.find_residents(self.db, text, day=day, limit=limit)

    def find_houses(self, text: str, *, limit: int = 30) -> list[Record]:
        return search.find_houses(self.db, text, limit=limit)

    # --- campaigns ------------------------------------------------------------------------------

    def campaigns(self) -> list[Record]:
        """Campaigns over the worker's grids, latest start first."""
        return campaign_queries.campaigns(self.db)

    def campaign_sweep(self, campaign_id: str) -> CampaignSweep:
        """Every target's status and the missed list of one campaign, from the device's records."""
        campaign = self._live("campaign", campaign_id)
        return campaign_queries.campaign_sweep(self.db, campaign)

    def missed_list(self, campaign_id: str) -> MissedList:
        """One campaign's kept missed list and counts, brought up to date with every write since
        the last read (`kept.refresh`)."""
        with write_transaction(self.db):
            campaign = self._live("campaign", campaign_id)
            return self._kept.read(self.db, campaign)

    def campaign_tallies(self) -> list[tuple[Record, CampaignTally]]:
        """Live campaigns, latest start first, each with its kept counts."""
        with write_transaction(self.db):
            kept.refresh(self.db)
            return [(c, kept.tally(self.db, c.id)) for c in campaign_queries.campaigns(self.db)]

    def outcomes_of(self, campaign_id: str, resident_id: str) -> list[OutcomeFact]:
        return campaign_queries.outcomes_of(self.db, campaign_id, resident_id)

    def names_of(self, resident_ids: Iterable[str]) -> dict[str, str]:
        return campaign_queries.residents_named(self.db, resident_ids)

    def contacts_of(self, resident_ids: Iterable[str]) -> dict[str, tuple[str, str, str]]:
        """(name, phone, ID number) of each resident, by id."""
        return campaign_queries.residents_reached(self.db, resident_ids)

    # --- matters (事项) --------------------------------------------------------------------------

    def report_matter(
        self, values: Mapping[str, Any], *, user_id: str, photos: Sequence[bytes] = ()
    ) -> Operation:
        """Report a matter found at the door, in one of the worker's grids; its id is
        `op.record_id`. Reported from a house or a resident, the grid, building and place come
        from there unless given. `photos` (JPEG bytes, already shrunk) are kept with it in the
        same transaction (`add_photo`, where the photo pipeline is installed)."""
        filled = dict(values)
        filled.setdefault("reported_at", self.clock.now().astimezone(UTC))
        filled["source"] = filled.get("source") or "door"
        filled["urgency"] = filled.get("urgency") or "normal"
        with write_transaction(self.db):
            self._place_matter(filled)
            grid_id = filled.get("grid_id")
            if grid_id and grid_id not in self.meta.scope:
                raise ValidationFailed(
                    [FieldError("grid_id", "out_of_scope", "A matter is reported in your grids.")]
                )
            if photos:
                filled["photos"] = [*(filled.get("photos") or ()), *self._add_photos(photos)]
            op = self.create("matter", filled, user_id=user_id)
            # The server keeps no reporter once a matter moves on: "mine" remembers it here.
            kept = self.meta.get(REPORTED_HERE) or {}
            kept = dict(kept) if isinstance(kept, dict) else {}
            kept[user_id] = [*self._reported_here(user_id), op.record_id]
            self.meta.set(REPORTED_HERE, kept)
            return op

    def edit_matter(
        self,
        matter_id: str,
        changes: Mapping[str, Any],
        *,
        user_id: str,
        photos: Sequence[bytes] = (),
    ) -> Operation | None:
        """Correct what a matter says (description, place, urgency; more photos) while it is
        only reported; after that its life goes through steps (`matter_not_editable`)."""
        with write_transaction(self.db):
            found = matter_queries.items(
                self.db, actor=self.actor(), now=self.clock.now(), ids=[matter_id]
            )
            if not found:
                raise RecordNotFound("matter", matter_id)
            if found[0].state != MatterState.REPORTED.value:
                raise ValidationFailed(
                    [FieldError("state", "matter_not_editable", "The matter is being handled.")]
                )
            kept = {n: v for n, v in changes.items() if n in EDITABLE_WHILE_REPORTED}
            if photos:
                before = list(found[0].record.values.get("photos") or [])
                kept["photos"] = [*before, *self._add_photos(photos)]
            return self.update("matter", matter_id, kept, user_id=user_id)

    def add_step(
        self,
        matter_id: str,
        values: Mapping[str, Any],
        *,
        user_id: str,
        photos: Sequence[bytes] = (),
    ) -> Operation:
        """Take one step in a matter's life (accept, claim, apply_close, rate, ...): an
        append-only operation naming the state the worker sees now, with its `photos` kept in the
        same transaction. Refused at once, as the server would refuse it (`decide_step`), when it
        cannot be taken from that state, by this user, or without its reason, photo or rating
        (`ValidationFailed`, the refusal's code)."""
        with write_transaction(self.db):
            if photos:
                values = {**values, "photos": self._add_photos(photos)}
            actor = self.actor()
            found = matter_queries.items(
                self.db, actor=actor, now=self.clock.now(), ids=[matter_id]
            )
            if not found:
                raise RecordNotFound("matter", matter_id)
            shown = found[0].shown
            step = {
                **values,
                "matter_id": matter_id,
                "from_state": shown.get("state") or MatterState.REPORTED.value,
                "at": self.clock.now().astimezone(UTC),
            }
            decided = decide_step(shown, step, actor)
            if isinstance(decided, StepRefused):
                where = str(decided.params.get("field") or "action")
                params = {**decided.params, "message_zh": decided.message_zh}
                raise ValidationFailed([FieldError(where, decided.code, decided.message, params)])
            return self.create("matter_step", step, user_id=user_id)

    def posts(self) -> list[PostItem]:
        """The member's community's posts with places left and their own claims."""
        return post_queries.posts(self.db, str(self.meta.user_id or ""))

    def claim_post(self, post_id: str, *, user_id: str) -> Operation:
        """Claim a post (offline too): refused at once, as the server would refuse it
        (`shared.members.decide_claim` over what the phone holds), with `ValidationFailed`."""
        with write_transaction(self.db):
            item = next(
                (p for p in post_queries.posts(self.db, user_id) if p.record.id == post_id), None
            )
            if item is None:
                raise RecordNotFound("post", post_id)
            mine = {str(item.claim_id): user_id} if item.claim in ("pending", "claimed") else {}
            others = {f"other-{n}": "" for n in range(item.claimed - len(mine))}
            try:
                decide_claim(
                    item.record.values,
                    claimant_id=user_id,
                    claimant_communities=frozenset({str(item.record.values.get("community_id"))}),
                    live_claimants={**others, **mine},
                )
            except ClaimRefused as refused:
                raise ValidationFailed(
                    [FieldError("post_id", refused.code, refused.message)]
                ) from refused
            return self.create(
                "post_claim",
                {"post_id": post_id, "user_id": user_id, "at": self.clock.now().astimezone(UTC)},
                user_id=user_id,
            )

    def actor(self) -> Actor:
        """The signed-in user, as the matters' rules judge them."""
        return matter_queries.actor_of(self.db, self.meta.user, self.meta.user_id, self.meta.scope)

    def matters(self, scope: Scope = "grids", *, state: str | None = None) -> list[MatterItem]:
        """Matters as shown (pending steps applied), overdue first (`matters.select`)."""
        actor = self.actor()
        found = matter_queries.items(self.db, actor=actor, now=self.clock.now())
        reported = self._reported_here(actor.user_id)
        return matter_queries.select(found, scope, actor, state=state, reported_here=reported)

    def matter_counts(self, scope: Scope = "grids") -> MatterCounts:
        return matter_queries.counts(self.matters(scope))

    def matter(self, matter_id: str) -> MatterDetail | None:
        """A matter as shown, with its timeline and the steps the server refused."""
        return matter_queries.detail(self.db, matter_id, actor=self.actor(), now=self.clock.now())

    def matter_categories(self) -> list[Record]:
        return matter_queries.active_categories(self.db)

    def orgs(self) -> list[Record]:
        return matter_queries.orgs(self.db)

    def matter_people(self) -> list[MatterPerson]:
        """The directory the last pull sent (`PullResponse.people`), by name."""
        return [MatterPerson.model_validate(p) for p in self.meta.get(MATTER_PEOPLE) or []]

    def people_names(self) -> dict[str, str]:
        """User id -> display name, for saying who moved a matter; this phone's user too."""
        names = {p.id: p.name for p in self.matter_people()}
        user = self.meta.user or {}
        if self.meta.user_id:
            names.setdefault(
                str(self.meta.user_id), str(user.get("display_name") or user.get("username") or "")
            )
        return {k: v for k, v in names.items() if v}

    def dispatch_people(self, community_id: str | None) -> list[MatterPerson]:
        """Whom a matter of `community_id` may be dispatched to, as the server listed them."""
        if not community_id:
            return []
        return [p for p in self.matter_people() if community_id in p.communities]

    def _reported_here(self, user_id: str) -> list[str]:
        """Matters the user reported on this phone (meta: user id -> matter ids)."""
        kept = self.meta.get(REPORTED_HERE) or {}
        return [str(i) for i in kept.get(user_id, [])] if isinstance(kept, dict) else []

    def _add_photos(self, photos: Sequence[bytes]) -> list[str]:
        try:
            return [self.add_photo(data) for data in photos]
        except PhotoUnreadable as exc:
            raise ValidationFailed(
                [FieldError("photos", "photo_unreadable", "A photo could not be read.")]
            ) from exc

    def _place_matter(self, values: dict[str, Any]) -> None:
        # Reported from a resident: their current house; from a house: its grid and building,
        # and its address as the place unless the worker wrote one.
        if values.get("resident_id") and not values.get("house_id"):
            bindings = queries.open_bindings_of(
                self.db, values["resident_id"], on=self.clock.today()
            )
            if bindings:
                values["house_id"] = bindings[0].values.get("house_id")
        house = (
            records.read_view(self.db, "house", values["house_id"])
            if values.get("house_id")
            else None
        )
        if house is not None:
            values.setdefault("grid_id", house.values.get("grid_id"))
            values.setdefault("building_id", house.values.get("building_id"))
            if not values.get("place"):
                values["place"] = house.values.get("address") or ""

    # --- businesses and the checklist sweep (商户 · 排查整治) -------------------------------------

    def business_types(self) -> list[Record]:
        return business_queries.types(self.db)

    def checklist(self, business_type_id: str) -> list[Record]:
        """A business type's active checklist items, in order."""
        return business_queries.checklist(self.db, business_type_id)

    def businesses_in_grid(self, grid_id: str, *, text: str = "") -> list[BusinessItem]:
        return business_queries.in_grid(self.db, grid_id, text=text)

    def business_counts(self) -> tuple[int, int]:
        """(businesses in the worker's grids, business inspection campaigns held)."""
        return business_queries.counts(self.db)

    def business_campaigns(self) -> list[Record]:
        return business_queries.campaigns(self.db)

    def to_check(self, campaign_id: str) -> ToCheck:
        campaign = self._live("campaign", campaign_id)
        return business_queries.to_check(self.db, campaign, sorted(self.meta.scope))

    def checks_of(self, business_id: str) -> list[Record]:
        return business_queries.checks_of(self.db, business_id)

    def save_business(
        self, values: Mapping[str, Any], *, user_id: str, business_id: str | None = None
    ) -> Operation | None:
        """Add a business found at the door, or change one; at a building its grid is the
        building's. None when an edit changed nothing."""
        filled = dict(values)
        with write_transaction(self.db):
            building = (
                records.read_view(self.db, "building", filled["building_id"])
                if filled.get("building_id")
                else None
            )
            if building is not None:
                filled["grid_id"] = building.values.get("grid_id")
            grid_id = filled.get("grid_id")
            if grid_id and grid_id not in self.meta.scope:
                raise ValidationFailed(
                    [FieldError("grid_id", "out_of_scope", "A business is added in your grids.")]
                )
            if business_id is None:
                filled.setdefault("status", "open")
                return self.create("business", filled, user_id=user_id)
            return self.update("business", business_id, filled, user_id=user_id)

    def record_check(
        self,
        campaign_id: str,
        business_id: str,
        answers: Sequence[Mapping[str, Any]],
        *,
        user_id: str,
        photos: Mapping[str, Sequence[bytes]] | None = None,
    ) -> Operation:
        """Save a business's checklist as answered at its door: one append-only record, with
        each failed item's photos (`photos`: item id -> JPEG bytes) kept in the same
        transaction."""
        with write_transaction(self.db):
            business = self._live("business", business_id)
            type_id = str(business.values.get("business_type_id") or "")
            items = {
                r.id: str(r.values.get("code") or "")
                for r in business_queries.checklist(self.db, type_id, active_only=False)
            }
            error = check_against_checklist(answers, items)
            if error is not None:
                raise ValidationFailed([error])
            results = []
            for answer in answers:
                entry = dict(answer)
                taken = (photos or {}).get(str(entry.get("item_id")), ())
                if taken and entry.get("result") == "fail":
                    entry["photos"] = [*(entry.get("photos") or ()), *self._add_photos(taken)]
                results.append(entry)
            values = {
                "campaign_id": campaign_id,
                "business_id": business_id,
                "results": results,
                "checked_at": self.clock.now().astimezone(UTC),
            }
            return self.create("business_check", values, user_id=user_id)

    # --- outbox --------------------------------------------------------------------------------

    def pending_ops(self, limit: int | None = None) -> list[Operation]:
        """Operations waiting to be pushed, oldest first."""
        return outbox.pending(self.db, limit)

    def pending_after(self, after: int | None, limit: int) -> list[tuple[int, Operation]]:
        """Up to `limit` operations waiting after outbox position `after`, with positions."""
        return outbox.pending_after(self.db, after, limit)

    def pending_count(self) -> int:
        """For the "N changes waiting" indicator."""
        return self.counts().pending

    def pending_changes(self) -> int:
        """What waits to sync as the worker counts it (`outbox.pending_changes`)."""
        return outbox.pending_changes(self.db)

    def counts(self) -> OutboxCounts:
        return outbox.counts(self.db)

    def problems(self) -> list[OutboxProblem]:
        """Operations the server answered with a conflict or a rejection, oldest first."""
        return outbox.problems(self.db)

    def problems_for(self, entity: str, record_id: str) -> list[OutboxProblem]:
        return outbox.problems(self.db, entity, record_id)

    def oldest_pending_at(self) -> datetime | None:
        """When the oldest operation still pending in the outbox was made (for the fleet view)."""
        row = self.db.execute(
            "SELECT MIN(created_at) FROM outbox WHERE status = 'pending'"
        ).fetchone()
        return None if row is None or row[0] is None else datetime.fromisoformat(row[0])

    # --- review notes (a supervisor sent back one of this device's changes) --------------------

    def review_notes(self) -> list[ReviewNote]:
        """Notes the worker has not dismissed yet, oldest first."""
        return [ReviewNote.model_validate(n) for n in self.meta.get(REVIEW_NOTES, [])]

    def review_notes_to_ack(self) -> list[str]:
        """op_ids of notes stored since the last pull: the next pull acknowledges them."""
        return [str(v) for v in self.meta.get(REVIEW_ACK, [])]

    def acked_review_notes(self, op_ids: list[str]) -> None:
        """The server has taken the acknowledgement of these notes."""
        with write_transaction(self.db):
            left = [i for i in self.review_notes_to_ack() if i not in set(op_ids)]
            self.meta.set(REVIEW_ACK, left or None)

    def dismiss_review_note(self, op_id: str) -> bool:
        """The worker has read a note: drop it. False if there is no such note."""
        with write_transaction(self.db):
            notes = self.review_notes()
            kept = [n for n in notes if n.op_id != op_id]
            if len(kept) == len(notes):
                return False
            self.meta.set(REVIEW_NOTES, [n.model_dump(mode="json") for n in kept] or None)
        return True

    def _store_review_notes(self, notes: list[ReviewNote]) -> None:
        if not notes:
            return
        by_id = {n.op_id: n for n in self.review_notes()}
        for note in notes:  # a note sent back again replaces the earlier one
            by_id[note.op_id] = note
        ordered = sorted(by_id.values(), key=lambda n: (n.sent_back_at, n.op_id))
        self.meta.set(REVIEW_NOTES, [n.model_dump(mode="json") for n in ordered])
        ack = self.review_notes_to_ack()
        ack += [n.op_id for n in notes if n.op_id not in ack]
        self.meta.set(REVIEW_ACK, ack)

    # --- notices (a value outranked, a conflict settled) -----------------------------------------

    def notices(self) -> list[Notice]:
        """What the worker has not read yet about their own changes, oldest first."""
        return notice_store.load(self.db)

    def dismiss_notice(self, op_id: str) -> bool:
        with write_transaction(self.db):
            return notice_store.dismiss(self.db, op_id)

    def dismiss_problem(self, op_id: str) -> bool:
        """The worker has seen a conflict or rejection: drop it. False if there is no such one."""
        with write_transaction(self.db):
            found = outbox.find(self.db, op_id)
            if found is None or found[1] == "pending":
                return False
            outbox.remove(self.db, op_id)
        return True

    def record_results(
        self,
        results: list[OpResult],
        *,
        server_hlc: str | None = None,
        sent: Iterable[Operation] = (),
    ) -> None:
        """Take the server's answers to pushed operations (`sent`: those operations, if held).

        applied/merged: the operation is done and the record's server version moves on.
        conflict/rejected: the operation stays with the server's reason, no longer pending, and the
        record shows what the server holds (plus any other pending edits).
        An answer to an operation that is not pending (a retried push) changes nothing.
        """
        with write_transaction(self.db):
            outranked = op_results.record_results(self.db, results, sent)
            at = self.clock.now().isoformat()
            notice_store.add(
                self.db, [notice_store.of(op, "superseded", names, at) for op, names in outranked]
            )
            if server_hlc is not None:
                self._observe(server_hlc)

    # --- pull ----------------------------------------------------------------------------------

    def apply_pull(self, page: PullResponse) -> PullApplied:
        """Apply one pull page and save its cursor and scope, all in one transaction."""
        with write_transaction(self.db):
            applied = apply_page(self.db, page)
            thumb_store.forget_unnamed(self.db)  # pictures of matters that left go with them
            expired = forget_moved(self.db, moved_since(self.clock.today()))
            applied = PullApplied(applied.received, applied.removed + expired)
            # A conflict the server no longer lists as open was settled by an admin; the pulled
            # records already carry the settled values.
            settled = outbox.settle_conflicts(self.db, page.open_conflicts)
            at = self.clock.now().isoformat()
            notice_store.add(self.db, [notice_store.of(op, "settled", None, at) for op in settled])
            self._store_review_notes(page.review_notes)
            if page.people is not None:
                self.meta.set(MATTER_PEOPLE, [p.model_dump(mode="json") for p in page.people])
            self.meta.cursor = page.cursor
            self.meta.scope = page.scope
            # Observing the clocks of the pulled values, not only the server's, makes every later
            # local edit sort after the values the worker saw, so it wins last-writer-wins fields.
            self._observe(page.server_hlc, *(c for s in page.records for c in s.clocks.values()))
        return applied

    def restart_download(self) -> int:
        """Start the next pull from scratch, as a new phone would, keeping the outbox and the
        records it is about; how many records were forgotten."""
        with write_transaction(self.db):
            dropped = forget_pulled(self.db)
            thumb_store.forget_unnamed(self.db)
            self.meta.cursor = None
        return dropped

    def observe_hlc(self, timestamp: str) -> None:
        """Merge a timestamp received from the server into this device's clock."""
        with write_transaction(self.db):
            self._observe(timestamp)

    # --- internals -----------------------------------------------------------------------------

    def _restore_clock(self) -> hlc.HLC:
        # No drift guard: the server's clock is the authority, and a phone whose own clock is
        # behind should follow it rather than refuse to sync.
        return hlc.HLC(
            self._device_id, wall=self.clock.wall_ms, max_drift_ms=None, last=self.meta.hlc
        )

    def _sync_clock(self) -> None:
        # Another connection to this file (the UI and a background sync) may have stamped a later
        # time; the write transaction we are in makes this read-then-advance race-free.
        persisted = self.meta.hlc
        if persisted is not None and hlc.parse(persisted) > hlc.parse(self._hlc.last):
            self._hlc = self._restore_clock()

    def _stamp(self) -> str:
        self._sync_clock()
        ts = self._hlc.now()
        self.meta.hlc = ts
        return ts

    def _observe(self, *timestamps: str) -> None:
        # A malformed clock from the server is skipped rather than allowed to block every sync;
        # where a clock matters (an operation's), the merge refuses malformed ones.
        # A bootstrap page repeats a few clocks thousands of times: check and compare each once.
        valid = [ts for ts in dict.fromkeys(timestamps) if hlc.is_timestamp(ts)]
        if not valid:
            return
        self._sync_clock()
        self.meta.hlc = self._hlc.observe(max(valid, key=hlc.parse))

    def _operation(
        self,
        spec: EntitySpec,
        record_id: str,
        kind: OpKind,
        base_version: int | None,
        fields: dict[str, FieldChange],
        ts: str,
        user_id: str,
    ) -> Operation:
        return Operation(
            op_id=str(uuid.uuid4()),
            entity=cast(EntityName, spec.name),  # spec came from ENTITIES
            record_id=record_id,
            kind=kind,
            base_version=base_version,
            fields=fields,
            hlc=ts,
            device_id=self._device_id,
            user_id=user_id,
        )

    def _enqueue(self, op: Operation) -> None:
        outbox.enqueue(self.db, op, now=self.clock.now())
        self.edits += 1

    def _live(self, entity: str, record_id: str) -> Record:
        current = records.read_view(self.db, entity, record_id)
        if current is None or current.deleted:
            raise RecordNotFound(entity, record_id)
        return current

    def _check_references(self, values: Mapping[str, Any]) -> None:
        errors = checks.check_references(values, self._reference_exists)
        if errors:
            raise ValidationFailed(errors)

    def _reference_exists(self, entity: str, record_id: str) -> bool:
        # A grid in scope counts even before its grid_node record has been pulled.
        if entity == "grid_node" and record_id in self.meta.scope:
            return True
        return records.exists(self.db, entity, record_id)


def _same(spec: EntitySpec, name: str, old: Any, new: Any) -> bool:
    kind = spec.fields[name].kind
    if kind == "tags":
        return set(old or ()) == set(new or ())
    if kind == "str":
        # A form sends "" for a field it shows empty; that is no change to a NULL.
        return (old or "") == (new or "")
    return bool(old == new)
