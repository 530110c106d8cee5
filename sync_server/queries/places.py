"""Places for the console's drill-down: a grid's ancestors, a level-5 grid's houses, one house.

The grid tree and its counts are `queries.grid.grid_tree`; this module goes below the grid, to
houses and the people bound to them, and above it, to the breadcrumb of ancestors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from shared.schema import Role
from sync_server.models import Binding, Building, GridNode, House, Resident, Unit, User, UserGrid
from sync_server.queries.labels import building_label


def ancestors(*, session: Session, node: GridNode) -> list[GridNode]:
    """The nodes above `node`, root first (read off its materialised path)."""
    ids = [p for p in node.path.strip("/").split("/") if p and p != node.id]
    if not ids:
        return []
    found = {n.id: n for n in session.scalars(select(GridNode).where(GridNode.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def grid_workers(*, session: Session, grid_id: str) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(UserGrid, UserGrid.user_id == User.id)
            .where(UserGrid.grid_id == grid_id, User.role == Role.WORKER)
            .order_by(User.username)
        )
    )


@dataclass(frozen=True)
class HouseRow:
    id: str
    building: str
    unit: str
    room: str
    address: str
    residents: int


HOUSES_PER_PAGE = 30
SEARCH_MAX_CHARS = 50


@dataclass(frozen=True)
class HousePage:
    """One page of a level-5 grid's houses, as the grid page shows them."""

    rows: list[HouseRow]
    q: str  # the search as applied (trimmed); "" lists every house
    matching: int  # houses the search matches (every house without one)
    total: int  # live houses in the grid
    page: int  # 1-based, clamped to the pages there are
    pages: int  # at least 1
    per_page: int

    @property
    def first(self) -> int:
        """The 1-based position of the first row shown (0 when none)."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its own % _ and \\ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def grid_houses_page(
    *, session: Session, grid_id: str, q: str = "", page: int = 1, per_page: int = HOUSES_PER_PAGE
) -> HousePage:
    """A page of a level-5 grid's live houses whose room or address, or the name of someone
    living there now, contains `q` (case-insensitive). A page past the last shows the last."""
    q = " ".join(q.split())[:SEARCH_MAX_CHARS]
    live = (House.grid_id == grid_id, House.deleted.is_(False))
    total = session.scalar(select(func.count()).select_from(House).where(*live)) or 0
    where = list(live)
    if q:
        pattern = _like(q)
        living_there = (
            select(Binding.house_id)
            .join(Resident, Resident.id == Binding.resident_id)
            .where(
                Binding.end_date.is_(None),
                Binding.deleted.is_(False),
                Resident.deleted.is_(False),
                Resident.name.ilike(pattern, escape="\\"),
            )
        )
        where.append(
            or_(
                House.room.ilike(pattern, escape="\\"),
                House.address.ilike(pattern, escape="\\"),
                House.id.in_(living_there),
            )
        )
        matching = session.scalar(select(func.count()).select_from(House).where(*where)) or 0
    else:
        matching = total
    pages = max(1, -(-matching // per_page))
    page = min(max(page, 1), pages)
    rows = _house_rows(session, where, offset=(page - 1) * per_page, limit=per_page)
    return HousePage(rows, q, matching, total, page, pages, per_page)


def _house_rows(
    session: Session,
    where: list[ColumnElement[bool]],
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[HouseRow]:
    """Houses matching `where`, in address order, with the number of people bound to each now."""
    bound = (
        select(Binding.house_id, func.count(Binding.id).label("n"))
        .join(Resident, Resident.id == Binding.resident_id)
        .where(
            Binding.end_date.is_(None),
            Binding.deleted.is_(False),
            Resident.deleted.is_(False),
        )
        .group_by(Binding.house_id)
        .subquery()
    )
    rows = session.execute(
        select(House, Building, Unit.name, func.coalesce(bound.c.n, 0))
        .join(Building, Building.id == House.building_id)
        .outerjoin(Unit, Unit.id == House.unit_id)
        .outerjoin(bound, bound.c.house_id == House.id)
        .where(*where)
        .order_by(
            Building.road,
            Building.lane,
            Building.number,
            Building.name,
            Unit.name,
            House.room,
            House.id,  # ties broken the same on every page
        )
        .offset(offset)
        .limit(limit)
    ).all()
    return [
        HouseRow(
            id=house.id,
            building=building_label(building),
            unit=unit or "",
            room=house.room,
            address=house.address,
            residents=int(count),
        )
        for house, building, unit, count in rows
    ]


@dataclass(frozen=True)
class Occupant:
    resident: Resident
    binding: Binding


@dataclass
class HouseDetail:
    house: House
    building: Building
    unit: Unit | None
    grid: GridNode
    current: list[Occupant] = field(default_factory=list)
    past: list[Occupant] = field(default_factory=list)


def house_detail(*, session: Session, house_id: str) -> HouseDetail | None:
    house = session.get(House, house_id)
    if house is None or house.deleted:
        return None
    detail = HouseDetail(
        house=house,
        building=session.get_one(Building, house.building_id),
        unit=session.get(Unit, house.unit_id) if house.unit_id else None,
        grid=session.get_one(GridNode, house.grid_id),
    )
    rows = session.execute(
        select(Binding, Resident)
        .join(Resident, Resident.id == Binding.resident_id)
        .where(
            Binding.house_id == house.id, Binding.deleted.is_(False), Resident.deleted.is_(False)
        )
        .order_by(Binding.start_date, Resident.name)
    ).all()
    for binding, resident in rows:
        target = detail.current if binding.end_date is None else detail.past
        target.append(Occupant(resident=resident, binding=binding))
    return detail


@dataclass(frozen=True)
class ResidentRow:
    """One line of a resident list: a person bound to a house now, with where they live."""

    grid_code: str
    grid_name: str
    address: str
    name: str
    id_number: str
    sex: str
    birth_date: date
    phone: str | None
    relation: str
    residence_status: str
    tags: list[str]
    start_date: date


def resident_rows(*, session: Session, root: GridNode, chunk: int = 2000) -> Iterator[ResidentRow]:
    """Everyone bound to a house in the subtree of `root` now, streamed in chunks."""
    low, high = root.path, root.path + "~"
    query = (
        select(
            GridNode.code,
            GridNode.name,
            House.address,
            House.room,
            Resident.name,
            Resident.id_number,
            Resident.sex,
            Resident.birth_date,
            Resident.phone,
            Binding.relation,
            Resident.residence_status,
            Resident.tags,
            Binding.start_date,
        )
        .select_from(Binding)
        .join(Resident, Resident.id == Binding.resident_id)
        .join(House, House.id == Binding.house_id)
        .join(GridNode, GridNode.id == House.grid_id)
        .where(
            GridNode.path >= low,
            GridNode.path < high,
            Binding.end_date.is_(None),
            Binding.deleted.is_(False),
            Resident.deleted.is_(False),
            House.deleted.is_(False),
        )
        .order_by(GridNode.code, House.address, House.room, Binding.start_date, Resident.name)
        .execution_options(yield_per=chunk)
    )
    for row in session.execute(query):
        yield ResidentRow(
            grid_code=row[0],
            grid_name=row[1],
            address=row[2] or row[3],
            name=row[4],
            id_number=row[5],
            sex=row[6],
            birth_date=row[7],
            phone=row[8],
            relation=row[9],
            residence_status=row[10],
            tags=list(row[11] or []),
            start_date=row[12],
        )


def worker_candidates(*, session: Session, near: GridNode) -> list[User]:
    """Active workers to hand a grid to: those of the same community first, then the rest."""
    workers = session.scalars(
        select(User).where(User.role == Role.WORKER, User.active.is_(True)).order_by(User.username)
    ).all()

    def neighbour(user: User) -> bool:
        return any(ug.grid.parent_id == near.parent_id for ug in user.grids)

    return sorted(workers, key=lambda u: not neighbour(u))


def children_of(*, session: Session, node: GridNode) -> list[GridNode]:
    return list(
        session.scalars(
            select(GridNode)
            .where(GridNode.parent_id == node.id, GridNode.deleted.is_(False))
            .order_by(GridNode.code)
        )
    )
