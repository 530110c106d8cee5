"""Small factory helpers that build a realistic little grid for tests."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from shared.schema import Role
from shared.validation import id_check_char
from sync_server.models import Binding, Building, GridNode, House, Resident, Unit, User, new_id
from sync_server.security import hash_password
from sync_server.services.grid import create_grid_node
from sync_server.services.users import create_user

PASSWORD = "correct-horse-battery"


@functools.cache
def password_hash() -> str:
    """Argon2 is slow on purpose; hash the shared test password once per run."""
    return hash_password(PASSWORD)


def make_id_number(rng: random.Random, *, birth: date | None = None, male: bool = True) -> str:
    birth = birth or date(rng.randint(1940, 2015), rng.randint(1, 12), rng.randint(1, 28))
    seq = rng.randint(0, 99) * 10 + (
        rng.choice([1, 3, 5, 7, 9]) if male else rng.choice([0, 2, 4, 6, 8])
    )
    first17 = f"350128{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


@dataclass
class TinyGrid:
    """Levels 1-3 as one chain, two communities (level 4) of two grids (level 5) each."""

    nodes: dict[str, GridNode] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    houses: dict[str, list[House]] = field(default_factory=dict)


def make_tiny_grid(session: Session, *, seed: int = 7, houses_per_grid: int = 3) -> TinyGrid:
    rng = random.Random(seed)
    grid = TinyGrid()
    top = create_grid_node(session=session, code="T1", name="实验区", level=1, parent=None)
    l2 = create_grid_node(session=session, code="T1-1", name="海坛片区", level=2, parent=top)
    l3 = create_grid_node(session=session, code="T1-1-1", name="潭城", level=3, parent=l2)
    grid.nodes.update({"T1": top, "T1-1": l2, "T1-1-1": l3})
    for c in (1, 2):
        l4 = create_grid_node(
            session=session, code=f"T1-1-1-{c}", name=f"西门社区{c}", level=4, parent=l3
        )
        grid.nodes[l4.code] = l4
        for g in (1, 2):
            l5 = create_grid_node(
                session=session, code=f"{l4.code}-{g}", name=f"第{g}网格", level=5, parent=l4
            )
            grid.nodes[l5.code] = l5
            building = Building(grid_id=l5.id, road="西大街", number=f"{c}{g}号", name="1号楼")
            session.add(building)
            session.flush()
            unit = Unit(building_id=building.id, name="1单元")
            session.add(unit)
            session.flush()
            grid.houses[l5.code] = []
            for h in range(houses_per_grid):
                house = House(
                    grid_id=l5.id,
                    building_id=building.id,
                    unit_id=unit.id,
                    room=f"0{h + 1}01",
                    address=f"西大街{c}{g}号1号楼1单元0{h + 1}01室",
                )
                session.add(house)
                session.flush()
                grid.houses[l5.code].append(house)
                # House 0 is vacant; the others have h residents each.
                for p in range(h):
                    male = rng.random() < 0.5
                    idn = make_id_number(rng, male=male)
                    add_person(
                        session,
                        house.id,
                        name=f"张{c}{g}{h}{p}",
                        id_number=idn,
                        sex="M" if male else "F",
                        phone=f"138{rng.randint(0, 99999999):08d}",
                        relation="head" if p == 0 else "member",
                    )
            grid.users[f"w{c}{g}"] = create_user(
                session=session,
                username=f"w{c}{g}",
                password_hash=password_hash(),
                role=Role.WORKER,
                grids=[l5],
            )
        grid.users[f"s{c}"] = create_user(
            session=session,
            username=f"s{c}",
            password_hash=password_hash(),
            role=Role.SUPERVISOR,
            grids=[l4],
        )
    grid.users["admin"] = create_user(
        session=session, username="admin", password_hash=password_hash(), role=Role.ADMIN
    )
    session.flush()
    return grid


def add_person(
    session: Session,
    house_id: str,
    *,
    name: str,
    id_number: str,
    sex: str,
    relation: str = "head",
    phone: str | None = None,
) -> Resident:
    """A resident bound to a house since 2020-01-01, birth date from the ID number."""
    idn = id_number
    resident = Resident(
        id=new_id(),
        name=name,
        id_number=idn,
        sex=sex,
        birth_date=date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14])),
        phone=phone,
        tags=[],
        note="",
    )
    session.add(resident)
    session.flush()
    session.add(
        Binding(
            resident_id=resident.id,
            house_id=house_id,
            relation=relation,
            start_date=date(2020, 1, 1),
        )
    )
    return resident
