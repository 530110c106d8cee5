"""The demo data set behind `gridsweep seed-demo`: a five-level grid, its places, people and staff.

`seed_demo` fills an empty database in two steps:
1. `plan_demo` (pure, no database) lays out the grid tree, every grid's buildings and household
   sizes, and the accounts, so totals are known before writing (the progress bar needs them);
2. `_Writer` walks the plan grid by grid, composing households and writing rows in bulk chunks.

The data are dated from the moment given (the server's clock when `gridsweep seed-demo` or
`make demo` runs), so a demo started on any day shows a campaign running that day and the
recent activity of a sweep: platform completions over the past days and door visits of the last
three. Everything is drawn from one `random.Random(seed)` in a fixed order: the same seed and
moment give the same rows, UUIDs included, so two dumps compare equal. Two scales: `small` is one community of 9 grids (~4,500 residents);
`district` is 海坛片区 as the report describes it: 4 level-3, 61 level-4 and 542 level-5 grids,
~90,000 households and ~270,000 residents.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.campaigns import DEFAULT_RESIDENCE_STATUSES, age_on
from shared.clock import CHINA_TIME, china_date
from shared.schema import Role
from sync_server.db import insert_rows
from sync_server.errors import Conflict
from sync_server.importer.completions import mark_id
from sync_server.models import (
    Base,
    Binding,
    Building,
    Campaign,
    Completion,
    CompletionBatch,
    CompletionMark,
    GridNode,
    House,
    Resident,
    Unit,
    User,
    UserGrid,
    Visit,
)
from sync_server.queries.accounts import active_accounts
from sync_server.security import hash_password, verify_password
from sync_server.seed import names
from sync_server.seed.businesses import seed_businesses
from sync_server.seed.matters import seed_matters
from sync_server.seed.people import HOUSEHOLD_SIZE_CUM, HOUSEHOLD_SIZES, Member, PeopleFactory
from sync_server.seed.places import (
    BuildingSpec,
    CommunityPlaces,
    HouseSlot,
    Road,
    materialise,
    new_uuid,
    plan_grid_places,
)
from sync_server.services.matter_sync import COMMUNITY_LEVEL

DEMO_PASSWORD = "gridsweep-demo"
Scale = Literal["small", "district"]
ROOT_CODE = "350128"  # 平潭县 in GB/T 2260, the same code locals' ID numbers start with
ROOT_NAME = "平潭综合实验区"
LEVEL2_NAME = "海坛片区"
CHUNK_ROWS = 5_000
# The demo's running campaign, dated around the day it is seeded.
CAMPAIGN_NAME = "冬季流感疫苗接种（60岁以上）"
CAMPAIGN_DAYS = (-10, 20)  # starts ten days before the seeding day, ends twenty days after
CAMPAIGN_AGE_MIN = 60
COMPLETED_SHARE = 0.45  # of its targets, done on the platform on the days before
VISITED_SHARE = 0.12  # of the occupied houses, visited on each of the last three days


@dataclass(frozen=True)
class DemoLogin:
    """An account to show after seeding. `grid_name` is readable on its own (社区 + 网格)."""

    role: str
    username: str
    password: str
    grid_code: str
    grid_name: str


@dataclass
class SeedReport:
    grid_nodes: int
    buildings: int
    units: int
    houses: int
    residents: int
    bindings: int
    users: int
    logins: list[DemoLogin]


@dataclass(frozen=True)
class DemoShape:
    """The size of a data set: level-3 grids as (name, urban communities, villages)."""

    level3: tuple[tuple[str, int, int], ...]
    grids: int
    households: int


SHAPES: dict[str, DemoShape] = {
    "small": DemoShape((("潭城镇", 1, 0),), grids=9, households=1_500),
    "district": DemoShape(
        (("潭城镇", 15, 4), ("北厝镇", 3, 11), ("中楼乡", 3, 11), ("平原镇", 3, 11)),
        grids=542,
        households=90_000,
    ),
}


@dataclass
class NodePlan:
    id: str
    code: str
    name: str
    level: int
    parent_id: str | None
    path: str


@dataclass
class GridPlan:
    """A level-5 grid: its buildings and the sizes of the households living in it."""

    node: NodePlan
    community: CommunityPlaces
    buildings: list[BuildingSpec]
    household_sizes: list[int]

    @property
    def house_count(self) -> int:
        return sum(b.house_count for b in self.buildings)


@dataclass
class UserPlan:
    id: str
    username: str
    display_name: str
    role: Role
    grid: NodePlan | None
    grid_name: str


@dataclass
class DemoPlan:
    as_of: date
    stamp: datetime
    nodes: list[NodePlan] = field(default_factory=list)
    grids: list[GridPlan] = field(default_factory=list)
    users: list[UserPlan] = field(default_factory=list)

    @property
    def total_houses(self) -> int:
        return sum(g.house_count for g in self.grids)

    @property
    def total_residents(self) -> int:
        return sum(sum(g.household_sizes) for g in self.grids)


def seed_demo(
    *,
    session: Session,
    scale: Scale,
    now: datetime,
    seed: int = 20261128,
    progress: Callable[[int, int], None] | None = None,
    activity: bool = True,
) -> SeedReport:
    """Fill an empty database with demo data as of `now` (the server's clock); the caller
    commits. Refuses a non-empty grid. `activity`: see `seed_shape`."""
    if scale not in SHAPES:
        raise ValueError(f"scale must be one of {sorted(SHAPES)}, not {scale!r}")
    return seed_shape(
        session=session,
        shape=SHAPES[scale],
        seed=seed,
        now=now,
        progress=progress,
        activity=activity,
    )


def seed_shape(
    *,
    session: Session,
    shape: DemoShape,
    seed: int,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
    activity: bool = True,
) -> SeedReport:
    """`seed_demo` for any shape (tests use a district with few households per grid).

    `activity=False` leaves out the running campaign, its completions and the visits (for
    callers that set up campaigns of their own)."""
    existing = session.scalar(select(func.count()).select_from(GridNode)) or 0
    if existing:
        raise Conflict(
            f"the database already has a grid ({existing} grid nodes); demo data can only be "
            "seeded into an empty database, so point DATABASE_URL at a new one",
            code="database_not_empty",
        )
    rng = random.Random(seed)
    plan = plan_demo(rng, shape, now)
    taken = session.scalars(
        select(User.username).where(User.username.in_([u.username for u in plan.users]))
    ).all()
    if taken:
        raise Conflict(
            f"user {taken[0]!r} already exists; demo data can only be seeded into an empty "
            "database",
            code="database_not_empty",
        )
    writer = _Writer(session, rng, plan, progress, activity=activity)
    writer.write_grid_and_users()
    for grid in plan.grids:
        writer.write_grid_contents(grid)
    writer.finish()
    logins = _logins(plan, every=len(plan.grids) <= 20)
    handlers = _seed_matters(session, rng, plan, now) if activity else []
    return SeedReport(
        grid_nodes=len(plan.nodes),
        buildings=writer.counts["buildings"],
        units=writer.counts["units"],
        houses=writer.counts["houses"],
        residents=writer.counts["residents"],
        bindings=writer.counts["bindings"],
        users=len(plan.users) + len(handlers),
        logins=logins + handlers,
    )


def _seed_matters(
    session: Session, rng: random.Random, plan: DemoPlan, now: datetime
) -> list[DemoLogin]:
    """Matters in the first community (sync_server/seed/matters.py), and its handlers' logins."""
    community = next(n for n in plan.nodes if n.level == COMMUNITY_LEVEL)
    grids = [n.id for n in plan.nodes if n.parent_id == community.id]
    supervisor = next(u for u in plan.users if u.role is Role.SUPERVISOR and u.grid is community)
    workers = [u.id for u in plan.users if u.role is Role.WORKER and u.grid and u.grid.id in grids]
    admin = plan.users[0]
    password = session.scalar(select(User.password_hash).where(User.id == admin.id))
    assert password is not None
    seed_businesses(
        session=session,
        rng=random.Random(rng.random()),  # its own stream: the matters stay as they were
        community_id=community.id,
        grid_ids=grids,
        worker_ids=workers,
        now=now,
        stamp={
            "version": 1,
            "updated_at": plan.stamp,
            "updated_by_user_id": admin.id,
            "updated_by_device_id": None,
            "deleted": False,
            "clocks": {},
        },
    )
    handlers = seed_matters(
        session=session,
        rng=rng,
        community_id=community.id,
        grid_ids=grids,
        supervisor_id=supervisor.id,
        worker_ids=workers,
        password_hash=password,
        now=now,
        stamp={
            "version": 1,
            "updated_at": plan.stamp,
            "updated_by_user_id": admin.id,
            "updated_by_device_id": None,
            "deleted": False,
            "clocks": {},
        },
    )
    return [
        DemoLogin(Role.HANDLER.value, h.username, DEMO_PASSWORD, community.code, community.name)
        for h in handlers
    ]


# -- planning -------------------------------------------------------------------------------


def plan_demo(rng: random.Random, shape: DemoShape, now: datetime) -> DemoPlan:
    """Lay out the grid tree, each grid's buildings and households, and the accounts."""
    stamp = now.astimezone(UTC).replace(microsecond=0)
    as_of = china_date(stamp)
    plan = DemoPlan(as_of=as_of, stamp=stamp)
    admin = UserPlan(new_uuid(rng), "admin", "平台管理员", Role.ADMIN, None, ROOT_NAME)
    plan.users.append(admin)
    staff_names = PeopleFactory(rng, as_of)

    root = _node(rng, plan, ROOT_CODE, ROOT_NAME, 1, None)
    admin.grid = root  # shown with the root in the logins; admins see everything unassigned
    level2 = _node(rng, plan, f"{ROOT_CODE}-01", LEVEL2_NAME, 2, root)

    communities: list[tuple[NodePlan, CommunityPlaces, str]] = []
    # Drawn for the whole district at once so no two communities share a name.
    urban_pool = names.community_names(rng, sum(urban for _, urban, _ in shape.level3))
    village_pool = names.village_names(rng, sum(villages for _, _, villages in shape.level3))
    for i, (town, urban, villages) in enumerate(shape.level3, start=1):
        level3 = _node(rng, plan, f"{level2.code}-{i:02d}", town, 3, level2)
        roads = [
            Road(name, rng.randint(2, 30)) for name in names.road_names(rng, max(4, urban * 3))
        ]
        places = [CommunityPlaces(urban_pool.pop(), False, town) for _ in range(urban)]
        places += [CommunityPlaces(village_pool.pop(), True, town) for _ in range(villages)]
        for j, community in enumerate(places, start=1):
            if community.village:
                community.lanes = names.lane_names(rng, 120)
            else:
                community.roads = rng.sample(roads, min(len(roads), rng.randint(2, 4)))
            node = _node(rng, plan, f"{level3.code}-{j:02d}", community.name, 4, level3)
            communities.append((node, community, f"{i:02d}{j:02d}"))

    # Urban communities are denser, so they get more grids than villages.
    weights = [
        rng.uniform(0.7, 1.0) if c.village else rng.uniform(1.1, 1.5) for _, c, _ in communities
    ]
    grid_counts = _apportion(shape.grids, weights)
    grid_weights = [rng.uniform(150, 190) for _ in range(shape.grids)]
    households = iter(_apportion(shape.households, grid_weights))
    for (community_node, community, short), count in zip(communities, grid_counts, strict=True):
        plan.users.append(
            UserPlan(
                new_uuid(rng),
                f"gl{short}",
                staff_names.display_name(),
                Role.SUPERVISOR,
                community_node,
                community.name,
            )
        )
        for k in range(1, count + 1):
            node = _node(
                rng, plan, f"{community_node.code}-{k:02d}", f"第{k}网格", 5, community_node
            )
            household_count = next(households)
            vacancy = rng.uniform(0.05, 0.08)
            if community.village:
                block_share = 0.35 if rng.random() < 0.25 else 0.0
            else:
                block_share = 0.9 if rng.random() < 0.8 else 0.55
            buildings = plan_grid_places(
                rng,
                community,
                houses=math.ceil(household_count / (1 - vacancy)),
                block_share=block_share,
            )
            sizes = rng.choices(HOUSEHOLD_SIZES, cum_weights=HOUSEHOLD_SIZE_CUM, k=household_count)
            plan.grids.append(GridPlan(node, community, buildings, sizes))
            plan.users.append(
                UserPlan(
                    new_uuid(rng),
                    f"wg{short}{k:02d}",
                    staff_names.display_name(),
                    Role.WORKER,
                    node,
                    community.name + node.name,
                )
            )
    return plan


def _node(
    rng: random.Random, plan: DemoPlan, code: str, name: str, level: int, parent: NodePlan | None
) -> NodePlan:
    node_id = new_uuid(rng)
    # The same materialised path `services.grid.node_path` gives a node created one by one.
    path = (parent.path if parent else "/") + node_id + "/"
    node = NodePlan(node_id, code, name, level, parent.id if parent else None, path)
    plan.nodes.append(node)
    return node


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split `total` in proportion to `weights` (largest remainder), so sums come out exact."""
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _logins(plan: DemoPlan, *, every: bool) -> list[DemoLogin]:
    """Every account for a small data set; for a district the admin and a few per level-3 grid."""
    chosen: list[UserPlan] = []
    seen_towns: set[str] = set()
    for user in plan.users:
        town = user.grid.code.rsplit("-", 1)[0] if user.grid else ""
        if every or user.role is Role.ADMIN:
            chosen.append(user)
        elif user.role is Role.SUPERVISOR and town not in seen_towns:
            seen_towns.add(town)
            chosen.append(user)
            # The first worker of that community follows its supervisor in `plan.users`.
            index = plan.users.index(user)
            chosen.append(plan.users[index + 1])
    return [
        DemoLogin(
            role=u.role.value,
            username=u.username,
            password=DEMO_PASSWORD,
            grid_code=u.grid.code if u.grid else "",
            grid_name=u.grid_name,
        )
        for u in chosen
    ]


def current_logins(*, session: Session, per_role: int = 12) -> tuple[list[DemoLogin], int]:
    """The accounts in the database that still sign in with the demo password, up to
    `per_role` of each role, and how many other active accounts there are (listed or not).

    Read from the database, not the plan, so a `gridsweep demo` started on a database seeded
    earlier (with any seed or scale, or with accounts added or changed since) prints logins that
    work. No other password is ever shown: an account whose password was changed is counted,
    not listed. The seed gives every account one hash, so this costs one argon2 check per
    distinct hash."""
    accounts = active_accounts(session=session, per_role=per_role)
    is_demo: dict[str, bool] = {}
    logins: list[DemoLogin] = []
    for row in accounts.rows:
        if row.password_hash not in is_demo:
            is_demo[row.password_hash] = verify_password(row.password_hash, DEMO_PASSWORD)
        if is_demo[row.password_hash]:
            logins.append(
                DemoLogin(row.role, row.username, DEMO_PASSWORD, row.grid_code, row.grid_name)
            )
    return logins, accounts.more + len(accounts.rows) - len(logins)


# -- writing --------------------------------------------------------------------------------

_VISIT_OUTCOMES = ("met", "not_home", "away", "refused")
_VISIT_WEIGHTS = (0.62, 0.28, 0.06, 0.04)
_VISIT_NOTES = ("", "", "身体状况良好", "已宣传疫苗接种", "反映楼道灯坏了", "提醒按时服药")


class _Writer:
    """Turns a plan into rows, buffering them and inserting in chunks in foreign-key order."""

    _ORDER: tuple[tuple[str, type[Base]], ...] = (
        ("buildings", Building),
        ("units", Unit),
        ("houses", House),
        ("residents", Resident),
        ("bindings", Binding),
        ("visits", Visit),
        ("completions", Completion),
        ("completion_marks", CompletionMark),
    )

    def __init__(
        self,
        session: Session,
        rng: random.Random,
        plan: DemoPlan,
        progress: Callable[[int, int], None] | None,
        *,
        activity: bool = True,
    ) -> None:
        self.session = session
        self.activity = activity
        self.campaign: dict[str, Any] | None = None
        self.batch: CompletionBatch | None = None
        self.rng = rng
        self.plan = plan
        self.progress = progress
        self.people = PeopleFactory(rng, plan.as_of)
        admin_id = plan.users[0].id
        # Seeded rows are attributed to the admin, as an import of base data would be.
        self.stamp: dict[str, Any] = {
            "version": 1,
            "updated_at": plan.stamp,
            "updated_by_user_id": admin_id,
            "updated_by_device_id": None,
            "deleted": False,
            "clocks": {},  # no field clock: any later edit from a device wins over seed data
        }
        self.buffers: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in self._ORDER}
        self.counts: dict[str, int] = dict.fromkeys(self.buffers, 0)
        self.done = 0
        self.total = plan.total_houses + plan.total_residents
        # Vacant houses of the community being written: where movers used to live.
        self._community: str | None = None
        self._vacant_pool: list[str] = []

    def write_grid_and_users(self) -> None:
        plan = self.plan
        nodes = [
            {
                "id": n.id,
                "parent_id": n.parent_id,
                "level": n.level,
                "code": n.code,
                "name": n.name,
                "path": n.path,
                **self.stamp,
            }
            for n in plan.nodes
        ]
        self._insert(GridNode, nodes)
        # One argon2 hash for every account: hundreds of hashes would take minutes.
        password_hash = hash_password(DEMO_PASSWORD)
        users = [
            {
                "id": u.id,
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role.value,
                "password_hash": password_hash,
                "active": True,
                "created_at": plan.stamp,
            }
            for u in plan.users
        ]
        self._insert(User, users)
        assignments = [
            {"user_id": u.id, "grid_id": u.grid.id}
            for u in plan.users
            if u.grid is not None and u.role is not Role.ADMIN
        ]
        self._insert(UserGrid, assignments)
        if self.activity:
            self._write_campaign()
        self._report()

    def _write_campaign(self) -> None:
        """A campaign running on the seeding day over the whole grid, and the platform file its
        completions came in (`_add_activity` fills both grid by grid)."""
        plan, admin = self.plan, self.plan.users[0]
        start, end = (plan.as_of + timedelta(days=d) for d in CAMPAIGN_DAYS)
        self.campaign = {
            "id": new_uuid(self.rng),
            "name": CAMPAIGN_NAME,
            "kind": "vaccination",
            "start_date": start,
            "end_date": end,
            "grid_id": plan.nodes[0].id,
            "age_min": CAMPAIGN_AGE_MIN,
            "age_max": None,
            "residence_statuses": sorted(s.value for s in DEFAULT_RESIDENCE_STATUSES),
            "tags": [],
            "created_at": plan.stamp - timedelta(days=-CAMPAIGN_DAYS[0]),
            **self.stamp,
        }
        self._insert(Campaign, [self.campaign])
        self.batch = CompletionBatch(
            campaign_id=self.campaign["id"],
            file_name="平台导出-流感疫苗接种.xlsx",
            user_id=admin.id,
            started_at=plan.stamp,
        )
        self.session.add(self.batch)
        self.session.flush()  # its id, which completion rows carry

    def _add_activity(
        self, residents: list[dict[str, Any]], bindings: list[dict[str, Any]]
    ) -> None:
        """One grid's part of the sweep so far: completions of the campaign's targets on the
        days before, and door visits of the last three days (none later than the seeding)."""
        assert self.campaign is not None and self.batch is not None
        rng, plan, campaign = self.rng, self.plan, self.campaign
        home = {b["resident_id"]: b["house_id"] for b in bindings if b["end_date"] is None}
        statuses = set(campaign["residence_statuses"])
        for r in residents:
            if r["residence_status"] not in statuses:
                continue
            if age_on(r["birth_date"], campaign["start_date"]) < CAMPAIGN_AGE_MIN:
                continue
            if rng.random() >= COMPLETED_SHARE:
                continue
            days_in = (plan.as_of - campaign["start_date"]).days
            day = campaign["start_date"] + timedelta(days=rng.randrange(days_in))
            at = datetime.combine(day, time(rng.randint(8, 16), rng.randrange(60)), CHINA_TIME)
            self.buffers["completions"].append(
                {
                    "campaign_id": campaign["id"],
                    "id_number": r["id_number"],
                    "completed_at": at.astimezone(UTC),
                    "resident_id": r["id"],
                    "place": rng.choice(("社区卫生服务站", "县医院接种门诊", "流动接种点")),
                    "batch_id": self.batch.id,
                }
            )
            self.buffers["completion_marks"].append(
                {
                    "id": mark_id(campaign["id"], r["id"]),
                    "campaign_id": campaign["id"],
                    "resident_id": r["id"],
                    **self.stamp,
                }
            )
        occupants: dict[str, list[str]] = {}
        for resident_id, house_id in home.items():
            occupants.setdefault(house_id, []).append(resident_id)
        latest = plan.stamp - timedelta(minutes=5)
        for offset in (-3, -2, -1, 0):
            day = plan.as_of + timedelta(days=offset)
            for house_id, people in occupants.items():
                if rng.random() >= VISITED_SHARE:
                    continue
                at = datetime.combine(day, time(rng.randint(9, 17), rng.randrange(60)), CHINA_TIME)
                if at > latest:
                    continue
                outcome = rng.choices(_VISIT_OUTCOMES, _VISIT_WEIGHTS)[0]
                self.buffers["visits"].append(
                    {
                        "id": new_uuid(rng),
                        "house_id": house_id,
                        "resident_id": rng.choice(people) if outcome == "met" else None,
                        "outcome": outcome,
                        "note": rng.choice(_VISIT_NOTES) if outcome == "met" else "",
                        "visited_at": at,
                        **self.stamp,
                    }
                )

    def finish(self) -> None:
        """Write what is buffered and the completion file's counts."""
        self.flush()
        if self.batch is not None:
            self.batch.rows_read = self.batch.imported = self.counts["completions"]
            self.session.flush()

    def write_grid_contents(self, grid: GridPlan) -> None:
        rng = self.rng
        community = grid.community
        if community.name != self._community:
            self._community, self._vacant_pool = community.name, []
        slots: list[HouseSlot] = []
        for spec in grid.buildings:
            slots += materialise(
                rng,
                spec,
                grid_id=grid.node.id,
                town=community.town,
                stamp=self.stamp,
                buildings=self.buffers["buildings"],
                units=self.buffers["units"],
                houses=self.buffers["houses"],
            )
        vacant = set(rng.sample(range(len(slots)), len(slots) - len(grid.household_sizes)))
        self._vacant_pool += [slots[i].id for i in sorted(vacant)]
        occupied = [slot for i, slot in enumerate(slots) if i not in vacant]
        first_resident, first_binding = (len(self.buffers[n]) for n in ("residents", "bindings"))
        for slot, size in zip(occupied, grid.household_sizes, strict=True):
            tenant = rng.random() < _tenant_chance(slot, community.village)
            members = self.people.household(size, tenant=tenant, village=community.village)
            self._add_household(slot, members, tenant=tenant)
        if self.activity:
            self._add_activity(
                self.buffers["residents"][first_resident:],
                self.buffers["bindings"][first_binding:],
            )
        if len(self.buffers["residents"]) + len(self.buffers["houses"]) >= CHUNK_ROWS:
            self.flush()

    def _add_household(self, slot: HouseSlot, members: list[Member], *, tenant: bool) -> None:
        rng = self.rng
        residents, bindings = self.buffers["residents"], self.buffers["bindings"]
        moved_at: date | None = None
        previous: str | None = None
        head_start = members[0].start
        # A few households moved here from elsewhere in the community: their old binding is
        # closed the day the new one opens, which is how a move is recorded.
        if self._vacant_pool and rng.random() < (0.04 if tenant else 0.012):
            earliest = head_start + timedelta(days=180)
            latest = self.plan.as_of - timedelta(days=30)
            if earliest < latest:
                moved_at = earliest + timedelta(days=rng.randrange((latest - earliest).days))
                previous = rng.choice(self._vacant_pool)
        for m in members:
            resident_id = new_uuid(rng)
            residents.append(
                {
                    "id": resident_id,
                    "name": m.name,
                    "id_number": m.id_number,
                    "sex": m.sex,
                    "birth_date": m.birth,
                    "phone": m.phone,
                    "residence_status": m.status.value,
                    "tags": m.tags,
                    "note": m.note,
                    **self.stamp,
                }
            )
            start = m.start
            if moved_at is not None and previous is not None:
                if start < moved_at:
                    bindings.append(
                        self._binding(resident_id, previous, m, start=start, end=moved_at)
                    )
                start = max(moved_at, m.birth)
            bindings.append(self._binding(resident_id, slot.id, m, start=start, end=None))

    def _binding(
        self, resident_id: str, house_id: str, m: Member, *, start: date, end: date | None
    ) -> dict[str, Any]:
        return {
            "id": new_uuid(self.rng),
            "resident_id": resident_id,
            "house_id": house_id,
            "relation": m.relation.value,
            "start_date": start,
            "end_date": end,
            **self.stamp,
        }

    def flush(self) -> None:
        for name, model in self._ORDER:
            rows = self.buffers[name]
            if rows:
                self._insert(model, rows)
                self.counts[name] += len(rows)
                if name in ("houses", "residents"):
                    self.done += len(rows)
                self.buffers[name] = []
        self._report()

    def _insert(self, model: type[Base], rows: list[dict[str, Any]]) -> None:
        # A Core insert of the table, not the ORM bulk path: the ORM splits a batch into one
        # statement per run of rows with the same NULL columns (phone, unit_id, end_date), which
        # made ~98,000 statements of the district instead of ~350. On PostgreSQL, COPY.
        table = Base.metadata.tables[model.__tablename__]
        for start in range(0, len(rows), CHUNK_ROWS):
            insert_rows(self.session, table, rows[start : start + CHUNK_ROWS])

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total)


def _tenant_chance(slot: HouseSlot, village: bool) -> float:
    """How likely a house is let: upper floors of self-built houses most, village blocks least."""
    if slot.style == "block":
        return 0.08 if village else 0.16
    if slot.shared:
        return 0.45 if slot.floor >= 2 else 0.08
    return 0.05 if village else 0.1
