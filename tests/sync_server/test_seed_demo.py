"""`seed_demo`: the demo data have the promised shape, valid identities, and a seed reproduces them."""

from __future__ import annotations

import hashlib
import random
import shutil
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.businesses import check_licence
from shared.clock import CHINA_TIME, china_date
from shared.errors import FieldError
from shared.schema import Relation, ResidenceStatus, Role, Tag
from shared.validation import normalize_mobile, parse_id_number
from sync_server.db import make_engine, make_sessionmaker
from sync_server.errors import Conflict
from sync_server.models import (
    Base,
    Binding,
    Building,
    Business,
    BusinessCheck,
    Campaign,
    ChecklistItem,
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
from sync_server.queries.campaign_progress import sweep_under
from sync_server.security import verify_password
from sync_server.seed.demo import (
    DEMO_PASSWORD,
    SHAPES,
    DemoShape,
    SeedReport,
    current_logins,
    plan_demo,
    seed_demo,
    seed_shape,
)
from sync_server.services.grid import node_path
from sync_server.services.users import create_user
from tests.conftest import sqlite_settings
from tests.days import RUN_CLOCK

SEED = 20261128
# The moment the demo is seeded: the run's clock (the data are dated from it).
SEEDED_AT = RUN_CLOCK.now().replace(microsecond=0)
AS_OF = china_date(SEEDED_AT)


@pytest.fixture
def small(session: Session) -> SeedReport:
    return seed_demo(session=session, scale="small", seed=SEED, now=SEEDED_AT)


def _age(birth: date) -> int:
    return AS_OF.year - birth.year - ((AS_OF.month, AS_OF.day) < (birth.month, birth.day))


def _open_bindings(session: Session) -> list[Binding]:
    return list(session.scalars(select(Binding).where(Binding.end_date.is_(None))))


def test_small_is_one_community_of_nine_grids_under_a_five_level_chain(
    session: Session, small: SeedReport
) -> None:
    nodes = list(session.scalars(select(GridNode)))
    assert Counter(n.level for n in nodes) == {1: 1, 2: 1, 3: 1, 4: 1, 5: 9}
    by_id = {n.id: n for n in nodes}
    for node in nodes:
        parent = by_id.get(node.parent_id) if node.parent_id else None
        assert node.path == node_path(parent, node.id)
        if parent is not None:
            assert parent.level == node.level - 1
            assert node.code.startswith(parent.code + "-")
    assert len({n.code for n in nodes}) == len(nodes)
    leaves = sorted(n.name for n in nodes if n.level == 5)
    assert sorted(f"第{k}网格" for k in range(1, 10)) == leaves
    assert small.grid_nodes == 13


def test_small_holds_about_4500_residents_in_about_1500_households(
    session: Session, small: SeedReport
) -> None:
    residents = session.scalar(select(func.count()).select_from(Resident))
    assert residents == small.residents
    assert 4_275 <= residents <= 4_725
    households = Counter(b.house_id for b in _open_bindings(session))
    assert 1_400 <= len(households) <= 1_600
    assert 2.7 <= residents / len(households) <= 3.3
    sizes = Counter(households.values())
    assert set(sizes) == {1, 2, 3, 4, 5, 6}
    assert small.houses == session.scalar(select(func.count()).select_from(House))
    vacant = small.houses - len(households)
    assert 0.04 <= vacant / small.houses <= 0.10


def test_every_house_sits_in_one_level5_grid_with_a_full_address(
    session: Session, small: SeedReport
) -> None:
    levels = dict(session.execute(select(GridNode.id, GridNode.level)).all())
    buildings = {b.id: b for b in session.scalars(select(Building))}
    units = {u.id: u for u in session.scalars(select(Unit))}
    houses = list(session.scalars(select(House)))
    for house in houses:
        building = buildings[house.building_id]
        assert levels[house.grid_id] == 5
        assert building.grid_id == house.grid_id
        assert house.address.startswith("潭城镇" + building.road + building.lane + building.number)
        if house.unit_id is not None:
            unit = units[house.unit_id]
            assert unit.building_id == building.id
            assert house.address.endswith(f"{building.name}{unit.name}{house.room}室")
            assert len(house.room) == 4 and house.room.isdigit()  # floor + door: 0302
    # Both blocks with units and lane houses without them, as in a real old-town community.
    assert sum(h.unit_id is None for h in houses) >= 50
    assert sum(h.unit_id is not None for h in houses) >= 500
    assert len({h.address for h in houses}) == len(houses)


def test_identity_numbers_and_phones_are_valid_unique_and_agree_with_each_resident(
    session: Session, small: SeedReport
) -> None:
    residents = list(session.scalars(select(Resident)))
    for r in residents:
        info = parse_id_number(r.id_number, today=None)
        assert not isinstance(info, FieldError), (r.id_number, info)
        assert info.birth_date == r.birth_date
        assert info.sex == r.sex
        if r.phone is not None:
            assert normalize_mobile(r.phone) == r.phone
        if _age(r.birth_date) < 12:
            assert r.phone is None
    assert len({r.id_number for r in residents}) == len(residents)
    phones = [r.phone for r in residents if r.phone]
    assert len(set(phones)) == len(phones)
    adults = [r for r in residents if 18 <= _age(r.birth_date) < 70]
    assert sum(r.phone is not None for r in adults) / len(adults) > 0.85
    regions = Counter(r.id_number[:6] for r in residents)
    assert regions["350128"] / len(residents) > 0.6  # registered on the island
    assert len({code[:2] for code in regions}) >= 5  # and migrants from several provinces


def test_ages_statuses_and_tags_look_like_a_real_community(
    session: Session, small: SeedReport
) -> None:
    residents = {r.id: r for r in session.scalars(select(Resident))}
    ages = [_age(r.birth_date) for r in residents.values()]
    assert 0.10 <= sum(a < 15 for a in ages) / len(ages) <= 0.25
    assert 0.15 <= sum(a >= 60 for a in ages) / len(ages) <= 0.30
    assert max(ages) >= 90

    statuses = Counter(r.residence_status for r in residents.values())
    assert statuses[ResidenceStatus.PERMANENT] / len(residents) > 0.7
    assert statuses[ResidenceStatus.FLOATING] > 0 and statuses[ResidenceStatus.AWAY] > 0
    assert set(statuses) <= {s.value for s in ResidenceStatus}

    household: dict[str, list[tuple[Resident, Binding]]] = defaultdict(list)
    for b in _open_bindings(session):
        household[b.house_id].append((residents[b.resident_id], b))
    floating_relations = Counter(
        b.relation for r, b in (m for ms in household.values() for m in ms)
        if r.residence_status == ResidenceStatus.FLOATING
    )  # fmt: skip
    assert floating_relations == {Relation.TENANT.value: floating_relations.total()}

    tagged: Counter[str] = Counter()
    shared_surname = multi = 0
    for members in household.values():
        relations = Counter(b.relation for _, b in members)
        assert relations[Relation.HEAD] == 1 or relations[Relation.TENANT] == len(members)
        for r, b in members:
            tagged.update(r.tags)
            if Tag.ELDERLY_ALONE in r.tags:
                assert len(members) == 1 and _age(r.birth_date) >= 60
            if Tag.LEFT_BEHIND_CHILD in r.tags:
                assert _age(r.birth_date) < 16 and b.relation == Relation.CHILD
                parents = [p for p, pb in members if pb.relation in ("head", "spouse")]
                assert parents and all(p.residence_status == "away" for p in parents)
        if len(members) >= 2:
            top = Counter(r.name[0] for r, _ in members).most_common(1)[0][1]
            shared_surname += top * 2 >= len(members)
            multi += 1
        # Children carry their father's surname (or, rarely, their mother's).
        couple = {r.name[0] for r, b in members if b.relation in ("head", "spouse")}
        for r, b in members:
            if b.relation == Relation.CHILD:
                assert r.name[0] in couple
    assert shared_surname / multi > 0.9
    for tag in Tag:
        assert 0 < tagged[tag] < 0.05 * len(residents), tag


def test_each_resident_has_one_open_binding_and_movers_close_the_old_one(
    session: Session, small: SeedReport
) -> None:
    bindings = list(session.scalars(select(Binding)))
    open_by_resident = Counter(b.resident_id for b in bindings if b.end_date is None)
    assert open_by_resident.keys() == set(session.scalars(select(Resident.id)))
    assert set(open_by_resident.values()) == {1}
    current = {b.resident_id: b for b in bindings if b.end_date is None}
    closed = [b for b in bindings if b.end_date is not None]
    assert 0 < len(closed) < 0.05 * len(current)
    births = dict(session.execute(select(Resident.id, Resident.birth_date)).all())
    for old in closed:
        new = current[old.resident_id]
        assert old.end_date is not None
        assert old.start_date < old.end_date == new.start_date
        assert old.house_id != new.house_id
    for b in bindings:
        assert births[b.resident_id] <= b.start_date <= AS_OF
        assert b.relation in {r.value for r in Relation}
    assert small.bindings == len(bindings)


def test_one_worker_per_grid_one_supervisor_one_admin_all_with_the_demo_password(
    session: Session, small: SeedReport
) -> None:
    users = list(session.scalars(select(User)))
    assert Counter(u.role for u in users) == {
        "worker": 9,
        "supervisor": 1,
        "admin": 1,
        "handler": 2,
    }
    assignments = defaultdict(set)
    for row in session.scalars(select(UserGrid)):
        assignments[row.user_id].add(row.grid_id)
    nodes = {n.id: n for n in session.scalars(select(GridNode))}
    for user in users:
        grids = [nodes[g] for g in assignments[user.id]]
        if user.role == Role.WORKER:
            assert [g.level for g in grids] == [5]
            assert user.username == "wg" + "".join(grids[0].code.split("-")[2:])
        elif user.role in (Role.SUPERVISOR, Role.HANDLER):
            assert [g.level for g in grids] == [4]
        else:
            assert user.username == "admin" and grids == []
        assert user.display_name
    assert len({u.password_hash for u in users}) == 1  # hashed once
    assert verify_password(users[0].password_hash, DEMO_PASSWORD)

    logins = {login.username: login for login in small.logins}
    assert logins.keys() == {u.username for u in users}
    for user in users:
        if user.role != Role.ADMIN:
            (grid_id,) = assignments[user.id]
            assert logins[user.username].grid_code == nodes[grid_id].code
            assert nodes[grid_id].name in logins[user.username].grid_name
        assert logins[user.username].password == DEMO_PASSWORD
    assert small.users == 13


def test_the_logins_read_back_are_the_ones_the_seed_printed(
    session: Session, small: SeedReport
) -> None:
    """What `gridsweep demo` prints on every later start: the database's accounts."""
    logins, others = current_logins(session=session)
    seeded = {
        (x.role, x.username, x.grid_code, x.grid_name) for x in small.logins if x.role != "admin"
    }
    read = {(x.role, x.username, x.grid_code, x.grid_name) for x in logins}
    assert seeded <= read
    assert {x.username for x in logins} == {x.username for x in small.logins}
    assert others == 0
    admin = session.scalars(select(User).where(User.username == "admin")).one()
    admin.active = False
    worker = session.scalars(select(User).where(User.username == "wg010103")).one()
    worker.password_hash = "$argon2id$not-a-demo-hash"
    session.flush()
    logins, others = current_logins(session=session, per_role=4)
    assert [x.username for x in logins] == [
        "gl0101",
        "wg010101",
        "wg010102",
        "wg010104",
        "handler1",
        "handler2",
    ]
    assert all(x.password == DEMO_PASSWORD for x in logins)
    assert others == 9 - 4 + 1  # the workers past the first four, and the changed password


def _dump(path: Path) -> dict[str, str]:
    """A digest of every table's rows in primary-key order (password hashes are salted)."""
    engine = make_engine(sqlite_settings(path))
    digests = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != "password_hash"]
            rows = conn.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    engine.dispose()
    return digests


def _seed_fresh(template: Path, path: Path, seed: int) -> dict[str, str]:
    shutil.copy(template, path)
    engine = make_engine(sqlite_settings(path))
    with make_sessionmaker(engine)() as session, session.begin():
        seed_demo(session=session, scale="small", seed=seed, now=SEEDED_AT)
    engine.dispose()
    return _dump(path)


def test_the_same_seed_gives_identical_rows_and_another_seed_different_ones(
    tmp_path: Path, migrated_template: Path
) -> None:
    first = _seed_fresh(migrated_template, tmp_path / "a.db", SEED)
    second = _seed_fresh(migrated_template, tmp_path / "b.db", SEED)
    other = _seed_fresh(migrated_template, tmp_path / "c.db", 7)
    assert first == second
    for table in ("grid_nodes", "buildings", "houses", "residents", "bindings", "users"):
        assert other[table] != first[table], table


def test_the_demo_has_businesses_and_a_business_inspection_running_that_day(
    session: Session, small: SeedReport
) -> None:
    (sweep,) = session.scalars(select(Campaign).where(Campaign.kind == "business_inspection"))
    assert sweep.start_date < AS_OF < sweep.end_date and len(sweep.business_types) == 2
    shops = session.scalars(select(Business).where(Business.deleted.is_(False))).all()
    assert shops and all(
        isinstance(check_licence(b.licence_number), str) for b in shops if b.licence_number
    )
    checks = session.scalars(select(BusinessCheck)).all()
    assert checks and any(r["result"] == "fail" for c in checks for r in c.results)
    assert session.scalars(select(ChecklistItem)).first() is not None


def test_rows_are_stamped_with_the_moment_they_were_seeded(session: Session) -> None:
    seed_demo(session=session, scale="small", seed=12345, now=SEEDED_AT)
    for model in (GridNode, Building, House, Resident, Binding, Campaign, Visit, CompletionMark):
        stamps = set(session.scalars(select(model.updated_at).distinct()))
        assert stamps == {SEEDED_AT}, model


def test_a_demo_seeded_on_any_day_shows_a_campaign_running_that_day(
    session: Session, small: SeedReport
) -> None:
    (campaign,) = session.scalars(select(Campaign).where(Campaign.kind != "business_inspection"))
    assert campaign.start_date < AS_OF < campaign.end_date
    sweep = sweep_under(
        session=session, campaign=campaign, node=session.get_one(GridNode, campaign.grid_id)
    )
    tally = sweep.result.tally()
    # Part of its targets done on the platform on the days before, the rest still to find.
    assert 0.3 < tally.completed / tally.targets < 0.6, tally
    completions = list(session.scalars(select(Completion)))
    assert len(completions) == tally.completed
    assert all(campaign.start_date <= china_date(c.completed_at) < AS_OF for c in completions), (
        "no completion before the campaign or after the seeding"
    )
    batch = session.scalars(select(CompletionBatch)).one()
    assert batch.imported == len(completions)


def test_a_demo_seeded_on_any_day_has_door_visits_of_the_last_days(
    session: Session, small: SeedReport
) -> None:
    visits = list(session.scalars(select(Visit)))
    days = Counter(china_date(v.visited_at) for v in visits)  # the worker's day, not UTC's
    for offset in (1, 2, 3):  # every house has about an even chance of a visit on each day
        assert days[AS_OF - timedelta(days=offset)] > 50
    assert set(days) <= {AS_OF - timedelta(days=d) for d in range(4)}
    assert all(9 <= v.visited_at.astimezone(CHINA_TIME).hour <= 17 for v in visits), (
        "visits in working hours, China time"
    )
    latest = max(v.visited_at for v in visits)
    assert latest <= SEEDED_AT, "no visit after the moment of seeding"
    occupied = {b.house_id for b in _open_bindings(session)}
    assert {v.house_id for v in visits} <= occupied
    met = [v for v in visits if v.outcome == "met"]
    assert met and all(v.resident_id for v in met)


def test_seeding_a_database_that_already_has_a_grid_or_the_demo_users_is_refused(
    session: Session, small: SeedReport
) -> None:
    with pytest.raises(Conflict, match="already has a grid"):
        seed_demo(session=session, scale="small", now=SEEDED_AT)


def test_seeding_refuses_when_a_demo_username_is_taken(session: Session) -> None:
    create_user(session=session, username="admin", password="long-enough-pw", role=Role.ADMIN)
    with pytest.raises(Conflict, match="'admin' already exists"):
        seed_demo(session=session, scale="small", now=SEEDED_AT)
    assert session.scalar(select(func.count()).select_from(GridNode)) == 0


def test_progress_counts_houses_and_residents_up_to_the_total(session: Session) -> None:
    calls: list[tuple[int, int]] = []
    report = seed_demo(
        session=session, scale="small", now=SEEDED_AT, progress=lambda d, t: calls.append((d, t))
    )
    totals = {t for _, t in calls}
    assert totals == {report.houses + report.residents}
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == totals.pop()


def test_district_plan_has_the_reports_shape_and_size() -> None:
    plan = plan_demo(random.Random(SEED), SHAPES["district"], SEEDED_AT)
    assert Counter(n.level for n in plan.nodes) == {1: 1, 2: 1, 3: 4, 4: 61, 5: 542}
    assert sum(len(g.household_sizes) for g in plan.grids) == 90_000
    assert 256_500 <= plan.total_residents <= 283_500
    assert 0.05 <= 1 - 90_000 / plan.total_houses <= 0.09
    per_grid = [len(g.household_sizes) for g in plan.grids]
    assert min(per_grid) >= 120 and max(per_grid) <= 220  # 150-200 households a grid


def test_district_structure_writes_every_grid_and_account(session: Session) -> None:
    # The district's tree with few households per grid: the same structure, written in seconds.
    shape = DemoShape(SHAPES["district"].level3, grids=542, households=542 * 5)
    report = seed_shape(session=session, shape=shape, seed=SEED, now=SEEDED_AT)
    levels = dict(
        session.execute(select(GridNode.level, func.count()).group_by(GridNode.level)).all()
    )
    assert levels == {1: 1, 2: 1, 3: 4, 4: 61, 5: 542}
    communities = list(session.scalars(select(GridNode.name).where(GridNode.level == 4)))
    assert len(set(communities)) == 61
    assert any(n.endswith("社区") for n in communities) and any(
        n.endswith("村") for n in communities
    )
    grids_with_houses = session.scalar(select(func.count(func.distinct(House.grid_id))))
    assert grids_with_houses == 542
    roles = dict(session.execute(select(User.role, func.count()).group_by(User.role)).all())
    assert roles == {"worker": 542, "supervisor": 61, "admin": 1, "handler": 2}
    assert 1 < len(report.logins) <= 12 and report.logins[0].username == "admin"
    usernames = set(session.scalars(select(User.username)))
    assert {login.username for login in report.logins} <= usernames


@pytest.mark.slow
def test_full_district_has_about_270000_residents_with_unique_id_numbers(
    session: Session,
) -> None:
    report = seed_demo(session=session, scale="district", seed=SEED, now=SEEDED_AT)
    assert 256_500 <= report.residents <= 283_500
    households = session.scalar(
        select(func.count(func.distinct(Binding.house_id))).where(Binding.end_date.is_(None))
    )
    assert households == 90_000
    distinct_ids = session.scalar(select(func.count(func.distinct(Resident.id_number))))
    assert distinct_ids == report.residents
    assert report.users == 542 + 61 + 1 + 2  # and the two demo handlers


def test_the_demo_has_matters_in_every_stage_handlers_to_take_them_and_points_earned(
    session: Session, small: SeedReport
) -> None:
    from sync_server.models import Matter, MatterStep, Org, PointsEntry

    states = Counter(session.scalars(select(Matter.state)))
    assert {"reported", "accepted", "published", "dispatched", "handling", "closing"} <= set(states)
    assert {"declined", "closed"} <= set(states)
    assert {o.kind for o in session.scalars(select(Org))} == {"water", "volunteers"}
    closed = session.scalars(select(Matter).where(Matter.state == "closed")).one()
    assert closed.rating == 5 and closed.closed_at is not None
    handler = session.scalars(select(User).where(User.username == "handler1")).one()
    assert closed.assignee_user_id == handler.id
    points = session.scalars(select(PointsEntry).where(PointsEntry.matter_id == closed.id)).all()
    assert sorted(p.kind for p in points) == ["base", "bonus"]
    assert all(p.user_id == handler.id for p in points)
    steps = session.scalars(
        select(MatterStep.action).where(MatterStep.matter_id == closed.id).order_by(MatterStep.at)
    ).all()
    assert list(steps) == ["accept", "dispatch", "take", "apply_close", "verify_close", "rate"]
    assert {x.username for x in small.logins} >= {"handler1", "handler2"}
