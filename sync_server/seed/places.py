"""Laying out the places (地) of a level-5 grid: buildings, units and houses with addresses.

Two styles, mixed in every community as on the island:
- urban blocks (小区楼栋): a compound on a road lane (西大街88弄12号), buildings 3号楼, units 1-4,
  rooms numbered floor+door (0302);
- lane houses (自建房): self-built houses numbered along a village lane or an old-town alley,
  without units; one household per house, or one per floor when floors are let separately.

Planning (`plan_grid_places`) only decides the shapes, so the total number of houses is known before
a single row is written (the progress bar needs it); `materialise` then turns the shapes into rows.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

Style = Literal["block", "lane"]


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from `rng`, so a seed reproduces every id."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class Road:
    """An urban road; its lane (弄) and alley (巷) numbers must not repeat across grids."""

    name: str
    next_lane: int
    next_alley: int = 1


@dataclass
class CommunityPlaces:
    """Address state shared by the grids of one community (村居), so addresses never collide."""

    name: str
    village: bool
    town: str
    roads: list[Road] = field(default_factory=list)  # urban communities
    lanes: list[str] = field(default_factory=list)  # villages: lane names not yet used
    next_block: int = 1  # villages: 安置小区 building numbers


@dataclass(frozen=True)
class BuildingSpec:
    """The shape of one building; `doors` is set for lane houses (households at the door)."""

    style: Style
    road: str
    lane: str
    number: str
    name: str
    units: int = 0
    floors: int = 0
    rooms_per_floor: int = 0
    doors: int = 0

    @property
    def house_count(self) -> int:
        return (
            self.doors if self.style == "lane" else self.units * self.floors * self.rooms_per_floor
        )


@dataclass(frozen=True)
class HouseSlot:
    """What the household generator needs to know about a house it fills."""

    id: str
    style: Style
    floor: int
    shared: bool  # several households behind one door: upper floors are often let


def plan_grid_places(
    rng: random.Random, community: CommunityPlaces, *, houses: int, block_share: float
) -> list[BuildingSpec]:
    """Buildings of one grid holding at least `houses` houses, `block_share` of them in blocks."""
    specs: list[BuildingSpec] = []
    block_target = round(houses * block_share)
    placed = 0
    while placed < block_target:
        compound = _plan_compound(rng, community, block_target - placed)
        specs.extend(compound)
        placed += sum(s.house_count for s in compound)
    remaining = houses - placed
    while remaining > 0:
        lane = _plan_lane(rng, community, remaining)
        specs.extend(lane)
        remaining -= sum(s.house_count for s in lane)
    return specs


def _plan_compound(
    rng: random.Random, community: CommunityPlaces, remaining: int
) -> list[BuildingSpec]:
    if community.village:
        # Villages get blocks only as resettlement housing (安置小区), numbered village-wide.
        road, lane, number = community.name, "安置小区", ""
        first = community.next_block
    else:
        street = rng.choice(community.roads)
        road, lane = street.name, f"{street.next_lane}弄"
        number = f"{rng.randint(1, 40)}号"
        street.next_lane += rng.randint(2, 40)
        first = 1
    specs: list[BuildingSpec] = []
    for index in range(rng.randint(2, 8)):
        if remaining <= 0:
            break
        units, floors, per_floor = _building_shape(rng, community.village, remaining)
        spec = BuildingSpec(
            "block", road, lane, number, f"{first + index}号楼", units, floors, per_floor
        )
        specs.append(spec)
        remaining -= spec.house_count
    if community.village:
        community.next_block += len(specs)
    return specs


def _building_shape(rng: random.Random, village: bool, remaining: int) -> tuple[int, int, int]:
    """(units, floors, rooms per floor): mostly 5-7 storey walk-ups, some 11-18 storey towers."""
    if village or rng.random() < 0.75:
        units = rng.choices((1, 2, 3, 4), cum_weights=(10, 50, 85, 100))[0]
        floors, per_floor = rng.randint(5, 7), 2
    else:
        units = rng.choice((1, 1, 2))
        floors, per_floor = rng.randint(11, 18), rng.choice((2, 2, 3, 4))
    # The grid's last building is cut to size, so grids do not overshoot their household count.
    while units > 1 and units * floors * per_floor > remaining:
        units -= 1
    if units * floors * per_floor > remaining:
        floors = max(3, math.ceil(remaining / per_floor))
    return units, floors, per_floor


def _plan_lane(
    rng: random.Random, community: CommunityPlaces, remaining: int
) -> list[BuildingSpec]:
    if community.village:
        road = community.name
        lane = community.lanes.pop(0) if community.lanes else f"{rng.randint(20, 99)}巷"
    else:
        # Old-town alleys off an urban road: the 城中村 inside a city community.
        street = rng.choice(community.roads)
        road, lane = street.name, f"{street.next_alley}巷"
        street.next_alley += 1
    specs: list[BuildingSpec] = []
    door = rng.randint(1, 3)
    for _ in range(rng.randint(10, 36)):
        if remaining <= 0:
            break
        households = min(remaining, rng.choices((1, 2, 3), cum_weights=(60, 88, 100))[0])
        specs.append(BuildingSpec("lane", road, lane, f"{door}号", "", doors=households))
        remaining -= households
        door += rng.choice((1, 1, 2))  # some numbers are gardens, shops or demolished
    return specs


def materialise(
    rng: random.Random,
    spec: BuildingSpec,
    *,
    grid_id: str,
    town: str,
    stamp: dict[str, Any],
    buildings: list[dict[str, Any]],
    units: list[dict[str, Any]],
    houses: list[dict[str, Any]],
) -> list[HouseSlot]:
    """Append the rows of one building (and its units and houses) to the given row lists."""
    building_id = new_uuid(rng)
    buildings.append(
        {
            "id": building_id,
            "grid_id": grid_id,
            "road": spec.road,
            "lane": spec.lane,
            "number": spec.number,
            "name": spec.name,
            **stamp,
        }
    )
    base = f"{town}{spec.road}{spec.lane}{spec.number}{spec.name}"
    slots: list[HouseSlot] = []
    if spec.style == "lane":
        shared = spec.doors > 1
        for floor in range(1, spec.doors + 1):
            house_id = new_uuid(rng)
            room = f"{floor}层" if shared else "整栋"
            houses.append(
                {
                    "id": house_id,
                    "grid_id": grid_id,
                    "building_id": building_id,
                    "unit_id": None,
                    "room": room,
                    "address": base + (room if shared else ""),
                    **stamp,
                }
            )
            slots.append(HouseSlot(house_id, "lane", floor, shared))
        return slots
    for unit_no in range(1, spec.units + 1):
        unit_id = new_uuid(rng)
        unit_name = f"{unit_no}单元"
        units.append({"id": unit_id, "building_id": building_id, "name": unit_name, **stamp})
        for floor in range(1, spec.floors + 1):
            for door in range(1, spec.rooms_per_floor + 1):
                house_id = new_uuid(rng)
                room = f"{floor:02d}{door:02d}"
                houses.append(
                    {
                        "id": house_id,
                        "grid_id": grid_id,
                        "building_id": building_id,
                        "unit_id": unit_id,
                        "room": room,
                        "address": f"{base}{unit_name}{room}室",
                        **stamp,
                    }
                )
                slots.append(HouseSlot(house_id, "block", floor, False))
    return slots
