"""Campaigns (活动): who is a target, what a doorstep outcome means, and who is still missed.

The sync server (progress, exports) and the field app (the offline missed list) both compute a
campaign's missed residents with the functions below, from the same facts, so the list on a
phone and the list a supervisor exports cannot disagree. Pure: no I/O, no clock.

Targets (`TargetRule`, `is_target`)
    A resident is a target of a campaign when every condition holds:
    - **where**: they live under the campaign's grid subtree, i.e. `rule.grid_id` is one of the
      grid nodes their open bindings place them under (their level-5 grids and every ancestor);
    - **age**: their age on the campaign's start date, in completed years from the birth date in
      their ID number, satisfies `age_min <= age <= age_max` (both bounds inclusive, either may
      be absent). A birthday falling on the start date counts as reached: someone born on
      2008-03-01 is 18 on 2026-03-01. Someone born on 29 February reaches a new age on 1 March
      in common years. An ID number without a valid birth date matches no age bound;
    - **residence status**: theirs is one of `residence_statuses` (default 常住 and 流动);
    - **tags**: when `tags` is not empty, they carry at least one of them (any-of).
    Where people live is taken from the current roster: a person who moves in during the
    campaign becomes a target there, one who moves out stops being one. Only the age is frozen,
    at the start date, so nobody ages into or out of a campaign while it runs.

Outcomes (`OutcomeKind`)
    What a worker records at the door for a target not yet completed. Outcomes are append-only
    facts: never edited, so several workers may record on one person without any conflict.
    | outcome        | 中文      | settles? | detail required   |
    | done_elsewhere | 已在他处完成 | yes      | `place` (where)   |
    | exempt         | 免于参加    | yes      | `reason` (why)    |
    | moved_out      | 已搬离     | yes      |                   |
    | away           | 外出      | yes      |                   |
    | not_home       | 不在家     | no       | `revisit_date`    |
    | refused        | 拒绝      | no       |                   |
    A *settling* outcome takes the target off the missed list; `not_home` and `refused` keep the
    person on it (they still have to be reached or notified).

Resolution (`deciding_outcome`): the latest settled outcome counts. If a person has any
    settling outcome, the latest of those decides (a later `not_home` by a second worker does not
    reopen them); otherwise the latest outcome of any kind is shown. "Latest" orders by
    (`recorded_at`, `id`): timestamps in one normalised UTC form (`shared.clock.format_timestamp`)
    sort as text, and the record id breaks ties, so every node picks the same outcome.

The missed set (`sweep`): for every target, exactly one status —
    completed  the platform's data says they completed (outcomes are then irrelevant);
    settled    not completed, but a settling outcome was recorded;
    missed     neither: still to be reached, with their latest outcome (not_home, refused) if any.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.errors import FieldError, ValidationFailed
from shared.schema import RESIDENCE_STATUS_ZH, TAG_ZH, ResidenceStatus, Tag, zh_to_enum

# --- campaigns ---------------------------------------------------------------------------------


class CampaignKind(StrEnum):
    TESTING = "testing"  # 核酸检测
    VACCINATION = "vaccination"  # 疫苗接种
    VERIFICATION = "verification"  # 重点人员核查
    INSPECTION = "inspection"  # 入户排查
    # Businesses, not residents (shared/businesses.py): the rule's resident fields are unused.
    BUSINESS_INSPECTION = "business_inspection"  # 排查整治


CAMPAIGN_KIND_ZH: dict[str, str] = {
    "testing": "核酸检测",
    "vaccination": "疫苗接种",
    "verification": "重点人员核查",
    "inspection": "入户排查",
    "business_inspection": "排查整治",
}

DEFAULT_RESIDENCE_STATUSES: tuple[ResidenceStatus, ...] = (
    ResidenceStatus.PERMANENT,
    ResidenceStatus.FLOATING,
)
MAX_AGE = 150


def rule_labels(raw: Any, field_name: str) -> Any:
    """Chinese labels (常住, 独居老人) of `residence_statuses` and `tags` are accepted, as
    everywhere else."""
    table = RESIDENCE_STATUS_ZH if field_name == "residence_statuses" else TAG_ZH
    if isinstance(raw, list | tuple):
        return tuple(zh_to_enum(str(v), table) or v for v in raw)
    return raw


class TargetRule(BaseModel):
    """Which residents a campaign targets; see the module docstring for the exact semantics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grid_id: str = Field(
        min_length=1,
        max_length=64,
        description="root of the grid subtree the campaign covers (the API also takes its code)",
    )
    age_min: int | None = Field(default=None, ge=0, le=MAX_AGE, description="inclusive")
    age_max: int | None = Field(default=None, ge=0, le=MAX_AGE, description="inclusive")
    residence_statuses: tuple[ResidenceStatus, ...] = Field(
        default=DEFAULT_RESIDENCE_STATUSES, min_length=1
    )
    tags: tuple[Tag, ...] = Field(default=(), description="any of these; empty = no condition")

    @field_validator("residence_statuses", "tags", mode="before")
    @classmethod
    def _labels(cls, raw: Any, info: Any) -> Any:
        return rule_labels(raw, info.field_name)

    @model_validator(mode="after")
    def _canonical(self) -> TargetRule:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValidationFailed(
                [
                    FieldError(
                        "age_max",
                        "age_min_above_max",
                        f"age_min {self.age_min} is above age_max {self.age_max}",
                    )
                ]
            )
        # Sorted and unique, as set-valued fields travel (shared.records), so rules compare equal.
        object.__setattr__(self, "residence_statuses", tuple(sorted(set(self.residence_statuses))))
        object.__setattr__(self, "tags", tuple(sorted(set(self.tags))))
        return self

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> TargetRule:
        """The rule of a synced `campaign` record's values (what a device holds)."""
        return cls(
            grid_id=values["grid_id"],
            age_min=values.get("age_min"),
            age_max=values.get("age_max"),
            residence_statuses=tuple(values.get("residence_statuses") or ()),
            tags=tuple(values.get("tags") or ()),
        )


def campaign_kind(raw: Any) -> Any:
    """A campaign kind given by its value or its Chinese label (核酸检测), as everywhere else."""
    return zh_to_enum(raw, CAMPAIGN_KIND_ZH) or raw if isinstance(raw, str) else raw


class NewCampaign(BaseModel):
    """A campaign as the server stores it and phones receive it: its days from `start_date` to
    `end_date` (inclusive) and its `TargetRule`. The API's request (`shared.protocol.
    CampaignCreate`: a number of days, an age span) and the console's form both become this."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: CampaignKind
    start_date: date = Field(description="ages are counted on this day")
    end_date: date = Field(description="inclusive; completions after it are refused on import")
    rule: TargetRule
    business_types: tuple[str, ...] = Field(
        default=(),
        description="a business_inspection campaign's business types (ids or codes; none: all)",
    )

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_label(cls, raw: Any) -> Any:
        return campaign_kind(raw)

    @model_validator(mode="after")
    def _window(self) -> NewCampaign:
        if self.end_date < self.start_date:
            raise ValidationFailed(
                [
                    FieldError(
                        "end_date",
                        "end_before_start",
                        f"end_date {self.end_date} is before start_date {self.start_date}",
                    )
                ]
            )
        return self


@dataclass(frozen=True, slots=True)
class ResidentFacts:
    """What the target rule looks at for one resident."""

    id_number: str
    residence_status: str
    tags: Collection[str]
    # Ids of every grid node the resident lives under: the level-5 grids of their open bindings
    # and all the ancestors of those. The server splits materialised paths; a device walks
    # parent_id through the grid_node records it holds.
    grids: Collection[str]


def lives_under(grid_ids: Iterable[str], parents: Mapping[str, str | None]) -> frozenset[str]:
    """The grid nodes above (and including) the given level-5 grids, following `parents`
    (node id -> parent id, as a device's grid_node records give them): `ResidentFacts.grids`."""
    out: set[str] = set()
    for grid_id in grid_ids:
        node: str | None = grid_id
        while node is not None and node not in out:
            out.add(node)
            node = parents.get(node)
    return frozenset(out)


def birth_date_of(id_number: str) -> date | None:
    """The birth date written in an 18-character ID number, or None if it holds none."""
    digits = id_number[6:14]
    if len(id_number) != 18 or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def age_on(birth: date, day: date) -> int:
    """Completed years on `day`; the birthday itself counts as reached."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def is_target(rule: TargetRule, resident: ResidentFacts, as_of: date) -> bool:
    """Whether the rule covers the resident; `as_of` is the campaign's start date (for age)."""
    if rule.grid_id not in resident.grids:
        return False
    if resident.residence_status not in rule.residence_statuses:
        return False
    if rule.tags and not any(tag in resident.tags for tag in rule.tags):
        return False
    if rule.age_min is None and rule.age_max is None:
        return True
    birth = birth_date_of(resident.id_number)
    if birth is None:
        return False
    age = age_on(birth, as_of)
    if rule.age_min is not None and age < rule.age_min:
        return False
    return rule.age_max is None or age <= rule.age_max


def birth_window(rule: TargetRule, as_of: date) -> tuple[date | None, date | None]:
    """Birth dates (earliest, latest), inclusive, that satisfy the rule's ages on `as_of`.

    A pre-filter for databases; `is_target` stays the authority.
    """

    def years_before(day: date, years: int) -> date:
        try:
            return day.replace(year=day.year - years)
        except ValueError:  # 29 February in a common year
            return day.replace(year=day.year - years, day=28)

    latest = years_before(as_of, rule.age_min) if rule.age_min is not None else None
    earliest = None
    if rule.age_max is not None:
        earliest = years_before(as_of, rule.age_max + 1) + timedelta(days=1)
    return earliest, latest


# --- outcomes ----------------------------------------------------------------------------------


class OutcomeKind(StrEnum):
    DONE_ELSEWHERE = "done_elsewhere"  # 已在他处完成 (where)
    NOT_HOME = "not_home"  # 不在家 (revisit)
    REFUSED = "refused"  # 拒绝
    EXEMPT = "exempt"  # 免于参加 (why)
    MOVED_OUT = "moved_out"  # 已搬离
    AWAY = "away"  # 外出


OUTCOME_ZH: dict[str, str] = {
    "done_elsewhere": "已在他处完成",
    "not_home": "不在家",
    "refused": "拒绝",
    "exempt": "免于参加",
    "moved_out": "已搬离",
    "away": "外出",
}

SETTLING: frozenset[str] = frozenset(
    {OutcomeKind.DONE_ELSEWHERE, OutcomeKind.EXEMPT, OutcomeKind.MOVED_OUT, OutcomeKind.AWAY}
)
"""Outcomes that take a target off the missed list."""

# The detail each outcome cannot go without: field -> outcome.
_REQUIRED_DETAIL: dict[str, str] = {
    "done_elsewhere": "place",
    "exempt": "reason",
    "not_home": "revisit_date",
}


def settles(outcome: str) -> bool:
    return outcome in SETTLING


def check_outcome(values: Mapping[str, Any]) -> list[FieldError]:
    """Per-outcome rules for a new outcome's (already normalised) values."""
    needed = _REQUIRED_DETAIL.get(str(values.get("outcome")))
    if needed is None or values.get(needed) not in (None, ""):
        return []
    label = OUTCOME_ZH[str(values["outcome"])]
    return [
        FieldError(
            needed,
            "outcome_detail",
            f"{needed} is required when the outcome is {values['outcome']}",
            {"outcome_zh": label},
        )
    ]


@dataclass(frozen=True, slots=True)
class OutcomeFact:
    """One recorded outcome (a synced `outcome` record)."""

    id: str
    resident_id: str
    outcome: str
    recorded_at: str  # shared.clock.format_timestamp form
    place: str = ""
    reason: str = ""
    revisit_date: str | None = None

    @property
    def settles(self) -> bool:
        return self.outcome in SETTLING

    @classmethod
    def from_values(cls, record_id: str, values: Mapping[str, Any]) -> OutcomeFact:
        return cls(
            id=record_id,
            resident_id=values["resident_id"],
            outcome=values["outcome"],
            recorded_at=values["recorded_at"],
            place=values.get("place") or "",
            reason=values.get("reason") or "",
            revisit_date=values.get("revisit_date"),
        )


def _order(fact: OutcomeFact) -> tuple[str, str]:
    return fact.recorded_at, fact.id


def deciding_outcome(outcomes: Iterable[OutcomeFact]) -> OutcomeFact | None:
    """The outcome that counts for one person: the latest settled one, else the latest one."""
    latest: OutcomeFact | None = None
    latest_settled: OutcomeFact | None = None
    for fact in outcomes:
        if latest is None or _order(fact) > _order(latest):
            latest = fact
        if fact.settles and (latest_settled is None or _order(fact) > _order(latest_settled)):
            latest_settled = fact
    return latest_settled or latest


# --- the missed set ----------------------------------------------------------------------------

Status = Literal["completed", "settled", "missed"]


@dataclass(frozen=True, slots=True)
class TargetStatus:
    resident_id: str
    status: Status
    # The deciding outcome: the settling one for "settled"; for "missed" the latest outcome
    # (not_home, refused) or None when nobody has been to the door yet; None for "completed".
    outcome: OutcomeFact | None = None

    @property
    def missed(self) -> bool:
        return self.status == "missed"


def _zero_outcomes() -> dict[str, int]:
    return dict.fromkeys(OUTCOME_ZH, 0)


@dataclass
class Tally:
    """Counts over a set of targets. targets = completed + settled + missed;
    sum(by_outcome) + unvisited + completed = targets, where by_outcome counts each target that is
    not completed under its deciding outcome and unvisited the missed with no outcome yet."""

    targets: int = 0
    completed: int = 0
    settled: int = 0
    missed: int = 0
    unvisited: int = 0
    by_outcome: dict[str, int] = field(default_factory=_zero_outcomes)

    def add(self, status: TargetStatus) -> None:
        self.targets += 1
        if status.status == "completed":
            self.completed += 1
            return
        if status.status == "settled":
            self.settled += 1
        else:
            self.missed += 1
        if status.outcome is None:
            self.unvisited += 1
        else:
            self.by_outcome[status.outcome.outcome] += 1

    def merge(self, other: Tally) -> None:
        """Add another tally's counts (of other people) to this one."""
        self.targets += other.targets
        self.completed += other.completed
        self.settled += other.settled
        self.missed += other.missed
        self.unvisited += other.unvisited
        for kind, count in other.by_outcome.items():
            self.by_outcome[kind] = self.by_outcome.get(kind, 0) + count


@dataclass(frozen=True)
class Sweep:
    """Every target's status; the result of `sweep`."""

    statuses: dict[str, TargetStatus]

    @property
    def missed(self) -> frozenset[str]:
        return frozenset(rid for rid, s in self.statuses.items() if s.status == "missed")

    def tally(self, resident_ids: Iterable[str] | None = None) -> Tally:
        """Counts over all targets, or over those of `resident_ids` that are targets."""
        out = Tally()
        if resident_ids is None:
            for status in self.statuses.values():
                out.add(status)
        else:
            for rid in resident_ids:
                found = self.statuses.get(rid)
                if found is not None:
                    out.add(found)
        return out


def sweep(
    targets: Iterable[str], completed: Container[str], outcomes: Iterable[OutcomeFact]
) -> Sweep:
    """The status of every target: completed, settled by an outcome, or missed.

    `targets` are resident ids (`is_target` decided them), `completed` the resident ids the
    platform's data reports as completed for this campaign, `outcomes` the campaign's recorded
    outcomes (outcomes of non-targets are ignored). The device and the server both call this.
    """
    wanted = set(targets)
    by_resident: dict[str, list[OutcomeFact]] = defaultdict(list)
    for fact in outcomes:
        if fact.resident_id in wanted:
            by_resident[fact.resident_id].append(fact)
    statuses = {
        rid: resident_status(rid, rid in completed, by_resident.get(rid, ())) for rid in wanted
    }
    return Sweep(statuses)


def resident_status(
    resident_id: str, completed: bool, outcomes: Iterable[OutcomeFact]
) -> TargetStatus:
    """One target's status from their own facts: `sweep` applies it to every target, a device's
    kept missed list to just the people who changed."""
    if completed:
        return TargetStatus(resident_id, "completed")
    decided = deciding_outcome(outcomes)
    settled = decided is not None and decided.settles
    return TargetStatus(resident_id, "settled" if settled else "missed", decided)


def target_status(
    rule: TargetRule,
    as_of: date,
    resident_id: str,
    facts: ResidentFacts | None,
    completed: bool,
    outcomes: Iterable[OutcomeFact],
) -> TargetStatus | None:
    """One resident's row of a campaign: None when they are no target (`facts` None: nowhere on
    the roster), else their status. `as_of` is the campaign's start date."""
    if facts is None or not is_target(rule, facts, as_of):
        return None
    return resident_status(resident_id, completed, outcomes)


# --- walking order -----------------------------------------------------------------------------

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key where digit runs compare as numbers: 2单元 < 10单元, 301 < 1001."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part
    )


def building_label(road: str | None, lane: str | None, number: str | None, name: str | None) -> str:
    """How lists name a building: its address, then its name (西大街12弄3号 5幢)."""
    address = "".join(part for part in (road, lane, number) if part)
    return " ".join(part for part in (address, name or "") if part)


@dataclass(frozen=True, slots=True)
class MissedPlace:
    """Where one missed target lives, as the device and the export show it."""

    resident_id: str
    building_id: str
    building: str  # label: name, else road + number
    unit_id: str | None
    unit: str
    house_id: str
    room: str


@dataclass
class HouseGroup:
    house_id: str
    room: str
    resident_ids: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.resident_ids)


@dataclass
class UnitGroup:
    unit_id: str | None
    unit: str
    houses: list[HouseGroup] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(h.count for h in self.houses)


@dataclass
class BuildingGroup:
    building_id: str
    building: str
    units: list[UnitGroup] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(u.count for u in self.units)


def walking_order(places: Iterable[MissedPlace]) -> list[BuildingGroup]:
    """Missed targets grouped building → unit → house, each level in natural order."""
    tree: dict[tuple[str, str], dict[tuple[str | None, str], dict[tuple[str, str], list[str]]]]
    tree = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for p in places:
        tree[(p.building_id, p.building)][(p.unit_id, p.unit)][(p.house_id, p.room)].append(
            p.resident_id
        )
    out: list[BuildingGroup] = []
    for (bid, blabel), units in sorted(
        tree.items(), key=lambda kv: (natural_key(kv[0][1]), kv[0][0])
    ):
        group = BuildingGroup(bid, blabel)
        for (uid, ulabel), houses in sorted(
            units.items(), key=lambda kv: (natural_key(kv[0][1]), kv[0][0] or "")
        ):
            unit = UnitGroup(uid, ulabel)
            for (hid, room), rids in sorted(
                houses.items(), key=lambda kv: (natural_key(kv[0][1]), kv[0][0])
            ):
                unit.houses.append(HouseGroup(hid, room, sorted(rids)))
            group.units.append(unit)
        out.append(group)
    return out


def _natural_text(text: str) -> str:
    # Each part of `natural_key` as text that sorts as the part does: a digit run by its length,
    # then its digits (no leading zeros), before any text; "\x01" ends a part so a shorter key
    # sorts first, as the tuple does.
    parts = (
        f"a{len(str(int(part))):04d}{int(part)}" if part.isdigit() else f"b{part}"
        for part in _DIGITS.split(text)
        if part
    )
    return "".join(f"{part}\x01" for part in parts)


def walking_key(place: MissedPlace) -> str:
    """Text that sorts places as `walking_order` lists them (building, unit, house, person), for
    a store to keep beside each place and order by."""
    return "\x00".join(
        (
            _natural_text(place.building),
            place.building_id,
            _natural_text(place.unit),
            place.unit_id or "",
            _natural_text(place.room),
            place.house_id,
            place.resident_id,
        )
    )


PlaceFields = tuple[str, str, str, str | None, str, str, str]
"""A `MissedPlace`'s fields in order, as a store's row holds them."""


def walking_groups(places: Iterable[PlaceFields]) -> list[BuildingGroup]:
    """`walking_order`'s groups of places already sorted by `walking_key`, in one pass over
    their fields (resident_id, building_id, building, unit_id, unit, house_id, room)."""
    out: list[BuildingGroup] = []
    building: BuildingGroup | None = None
    unit: UnitGroup | None = None
    house: HouseGroup | None = None
    for rid, bid, blabel, uid, ulabel, hid, room in places:
        if building is None or building.building_id != bid or building.building != blabel:
            building = BuildingGroup(bid, blabel)
            out.append(building)
            unit = None
        if unit is None or unit.unit_id != uid or unit.unit != ulabel:
            unit = UnitGroup(uid, ulabel)
            building.units.append(unit)
            house = None
        if house is None or house.house_id != hid or house.room != room:
            house = HouseGroup(hid, room)
            unit.houses.append(house)
        house.resident_ids.append(rid)
    return out
