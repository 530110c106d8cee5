"""Composing households (人) with valid identity data: names, ID numbers, phones, statuses, tags.

A household is built from a template (a couple with children, three generations, an elderly
person alone, a migrant couple renting a floor...), so ages, surnames and relations agree with
each other: children are 22-34 years younger than their parents, wives usually keep their own
surname, left-behind children live with grandparents while both parents are away. The shares are
tuned to give the island's shape: about 3 people per household, a fifth of residents over 60.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.schema import Relation, ResidenceStatus, Tag
from shared.validation import id_check_char
from sync_server.seed.names import (
    AWAY_CITIES,
    FUJIAN_REGIONS,
    LOCAL_SURNAMES,
    MIGRANT_REGIONS,
    MOBILE_PREFIXES,
    NATIONAL_SURNAMES,
    PINGTAN_REGION,
    Weighted,
    given_name,
)

_YEAR = 365.2425
# Household sizes 1-6, mean about 3.0 (the district: 270,000 residents in 90,000 households).
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
HOUSEHOLD_SIZE_CUM = (15, 40, 65, 83, 93, 100)


@dataclass
class Member:
    """One resident as composed, before ids are drawn; `start` is when they moved in."""

    relation: Relation
    sex: str  # "M" or "F", agrees with the ID number's 17th digit
    birth: date
    surname: str
    region: str
    status: ResidenceStatus = ResidenceStatus.PERMANENT
    tags: list[str] = field(default_factory=list)
    note: str = ""
    start: date = date.min
    name: str = ""
    id_number: str = ""
    phone: str | None = None

    def age_on(self, day: date) -> int:
        years = day.year - self.birth.year
        return years - ((day.month, day.day) < (self.birth.month, self.birth.day))


@dataclass(frozen=True)
class _Template:
    """A household shape: a head, maybe a spouse, children, the head's parents, other members."""

    couple: bool
    children: int = 0
    parents: int = 0
    members: int = 0
    head_ages: tuple[int, int] = (26, 58)


# Local households by size: (cumulative weight, template).
_LOCAL_TEMPLATES: dict[int, tuple[tuple[int, _Template], ...]] = {
    2: (
        (40, _Template(True, head_ages=(60, 88))),  # elderly couple
        (54, _Template(True, head_ages=(24, 38))),  # young couple
        (82, _Template(True, head_ages=(48, 62))),  # empty nest
        (92, _Template(False, children=1, head_ages=(35, 58))),  # single parent
        (100, _Template(False, children=1, head_ages=(66, 90))),  # elderly parent, adult child
    ),
    3: (
        (60, _Template(True, children=1, head_ages=(28, 60))),
        (72, _Template(True, parents=1, head_ages=(30, 55))),
        (92, _Template(True, children=1, head_ages=(56, 80))),  # elderly couple, adult child
        (100, _Template(False, children=2, head_ages=(32, 55))),
    ),
    4: (
        (45, _Template(True, children=2, head_ages=(30, 58))),
        (85, _Template(True, children=1, parents=1, head_ages=(30, 55))),
        (100, _Template(True, children=1, members=1, head_ages=(30, 55))),
    ),
    5: (
        (50, _Template(True, children=1, parents=2, head_ages=(30, 52))),
        (90, _Template(True, children=2, parents=1, head_ages=(32, 55))),
        (100, _Template(True, children=3, head_ages=(34, 52))),
    ),
    6: (
        (65, _Template(True, children=2, parents=2, head_ages=(32, 52))),
        (85, _Template(True, children=3, parents=1, head_ages=(34, 55))),
        (100, _Template(True, children=1, parents=2, members=1, head_ages=(30, 50))),
    ),
}


class PeopleFactory:
    """Draws households from one RNG, keeping ID numbers and phone numbers unique."""

    def __init__(self, rng: random.Random, as_of: date) -> None:
        self.rng = rng
        self.as_of = as_of
        self.latest_start = as_of - timedelta(days=30)
        self._id_numbers: set[str] = set()
        self._phones: set[str] = set()

    # -- households -------------------------------------------------------------------------

    def household(self, size: int, *, tenant: bool, village: bool) -> list[Member]:
        """A household of `size` people; tenants are mostly migrants renting the house."""
        rng = self.rng
        if tenant:
            migrant = rng.random() < 0.8
            region = MIGRANT_REGIONS.pick(rng) if migrant else PINGTAN_REGION
            members = self._tenants(size, region)
            # Dates first: they follow family relations, which the tenant relation hides.
            self._start_dates(members, earliest=self.as_of - timedelta(days=int(4 * _YEAR)))
            status = ResidenceStatus.FLOATING if migrant else ResidenceStatus.PERMANENT
            for m in members:
                m.relation, m.status = Relation.TENANT, status
        else:
            members = self._locals(size, village)
            self._start_dates(members, earliest=date(1990, 1, 1))
        self._identities(members)
        self._tags(members, tenant=tenant, village=village)
        return members

    def _locals(self, size: int, village: bool) -> list[Member]:
        rng = self.rng
        if size == 1:
            elderly = rng.random() < 0.5
            age = self._elderly_age() if elderly else rng.randint(22, 59)
            sex = "F" if rng.random() < (0.6 if elderly else 0.45) else "M"  # widows outlive
            region = PINGTAN_REGION if rng.random() < 0.93 else FUJIAN_REGIONS.pick(rng)
            return [self._person(Relation.HEAD, sex, age, LOCAL_SURNAMES.pick(rng), region)]
        weights = _LOCAL_TEMPLATES[size]
        template = rng.choices([t for _, t in weights], cum_weights=[w for w, _ in weights])[0]
        members = self._family(template, local=True)
        self._away(members, village)
        return members

    def _tenants(self, size: int, region: str) -> list[Member]:
        rng = self.rng
        local = region == PINGTAN_REGION
        if size == 1:
            sex = "M" if rng.random() < 0.6 else "F"
            surname = (LOCAL_SURNAMES if local else NATIONAL_SURNAMES).pick(rng)
            return [self._person(Relation.HEAD, sex, rng.randint(19, 50), surname, region)]
        children = min(size - 2, 3)
        template = _Template(
            True, children=children, members=size - 2 - children, head_ages=(23, 45)
        )
        return self._family(template, local=local, region=region)

    def _family(self, t: _Template, *, local: bool, region: str | None = None) -> list[Member]:
        rng = self.rng
        surnames = LOCAL_SURNAMES if local else NATIONAL_SURNAMES
        if region is None:
            region = PINGTAN_REGION if rng.random() < 0.93 else FUJIAN_REGIONS.pick(rng)
        head_age = rng.randint(*t.head_ages)
        if t.children:
            # Old enough to have had every child at 22 or later, two years apart.
            head_age = max(head_age, 22 + 2 * (t.children - 1) + rng.randint(0, 3))
        # Couples mostly register the husband as head; a parent alone is more often a mother.
        head_sex = "M" if rng.random() < (0.75 if t.couple else 0.45) else "F"
        head = self._person(Relation.HEAD, head_sex, head_age, surnames.pick(rng), region)
        members = [head]
        father_surname = mother_surname = head.surname
        if t.couple:
            spouse_sex = "F" if head_sex == "M" else "M"
            offset = rng.randint(-5, 2) if head_sex == "M" else rng.randint(-2, 5)
            spouse_region = region
            if local and rng.random() < 0.25:  # married in from elsewhere
                spouse_region = (
                    FUJIAN_REGIONS.pick(rng) if rng.random() < 0.7 else MIGRANT_REGIONS.pick(rng)
                )
            spouse = self._person(
                Relation.SPOUSE,
                spouse_sex,
                max(20, head_age + offset),
                self._other_surname(surnames, head.surname),
                spouse_region,
            )
            members.append(spouse)
            if spouse_sex == "M":
                father_surname = spouse.surname
            else:
                mother_surname = spouse.surname
        room_for_siblings = 2 * (t.children - 1)
        child_age = head_age - rng.randint(22, max(22, min(34, head_age - room_for_siblings)))
        for index in range(t.children):
            if index:
                # Siblings 2-6 years apart, leaving room for the younger ones still to come.
                child_age = max(2 * (t.children - 1 - index), child_age - rng.randint(2, 6))
            surname = father_surname if rng.random() < 0.93 else mother_surname
            sex = "M" if rng.random() < 0.53 else "F"
            members.append(self._person(Relation.CHILD, sex, child_age, surname, region))
        parent_age = min(98, head_age + rng.randint(22, 34))
        for index in range(t.parents):
            # With one parent left it is more often the mother; a father carries the surname.
            sex = "M" if t.parents == 2 and index == 0 else ("F" if rng.random() < 0.65 else "M")
            surname = head.surname if sex == "M" else self._other_surname(surnames, head.surname)
            age = parent_age + (rng.randint(-4, 2) if index else 0)
            members.append(self._person(Relation.PARENT, sex, age, surname, region))
        for _ in range(t.members):
            # A brother or sister of the head, living with the family.
            sex = "M" if rng.random() < 0.5 else "F"
            age = max(0, head_age + rng.randint(-8, 8))
            members.append(self._person(Relation.MEMBER, sex, age, head.surname, region))
        return members

    def _away(self, members: list[Member], village: bool) -> None:
        """Working-age people away for work or study; children left with grandparents."""
        rng = self.rng
        as_of = self.as_of
        kids = [m for m in members if m.relation is Relation.CHILD and m.age_on(as_of) < 16]
        grandparents = any(m.relation is Relation.PARENT for m in members)
        parents = [m for m in members if m.relation in (Relation.HEAD, Relation.SPOUSE)]
        if kids and grandparents and rng.random() < (0.3 if village else 0.1):
            for m in parents:
                m.status = ResidenceStatus.AWAY
            for kid in kids:
                kid.tags.append(Tag.LEFT_BEHIND_CHILD.value)
        share = 0.1 if village else 0.05
        for m in members:
            working_age = 18 <= m.age_on(as_of) <= 50
            if working_age and m.status is ResidenceStatus.PERMANENT and rng.random() < share:
                m.status = ResidenceStatus.AWAY
        for m in members:
            if m.status is ResidenceStatus.AWAY:
                doing = "上学" if m.age_on(as_of) <= 22 else "务工"
                m.note = f"在{rng.choice(AWAY_CITIES)}{doing}"

    def _tags(self, members: list[Member], *, tenant: bool, village: bool) -> None:
        rng = self.rng
        as_of = self.as_of
        for m in members:
            age = m.age_on(as_of)
            if rng.random() < (0.005 if age < 18 else 0.015 if age < 60 else 0.05):
                m.tags.append(Tag.DISABLED.value)
        alone = len(members) == 1 and not tenant and members[0].age_on(as_of) >= 60
        if alone:
            members[0].tags.append(Tag.ELDERLY_ALONE.value)
        vulnerable = alone or any(Tag.DISABLED.value in m.tags for m in members)
        # 低保 is granted to a household, so every member carries the tag.
        chance = (0.08 if vulnerable else 0.015) * (1.5 if village else 1.0)
        if not tenant and rng.random() < chance:
            for m in members:
                m.tags.append(Tag.HARDSHIP.value)

    def _start_dates(self, members: list[Member], *, earliest: date) -> None:
        """When each member's current binding began: the head first, the others with or after."""
        rng = self.rng
        head = members[0]
        adult = head.birth + timedelta(days=int(20 * _YEAR))
        head.start = self._date_between(max(earliest, adult), self.latest_start)
        for m in members[1:]:
            if m.relation is Relation.CHILD or rng.random() < 0.6:
                start = head.start  # moved in together, or born into the house
            else:
                start = self._date_between(head.start, self.latest_start)
            m.start = max(start, m.birth)

    # -- identity ---------------------------------------------------------------------------

    def _person(self, relation: Relation, sex: str, age: int, surname: str, region: str) -> Member:
        days = int(age * _YEAR) + self.rng.randrange(365)
        birth = self.as_of - timedelta(days=max(days, 30))
        return Member(relation, sex, birth, surname, region)

    def _elderly_age(self) -> int:
        return int(self.rng.triangular(60, 97, 66))

    def _other_surname(self, surnames: Weighted[str], avoid: str) -> str:
        """A spouse's or mother's surname: rarely the head's own, as in real families."""
        name = surnames.pick(self.rng)
        return name if name != avoid else surnames.pick(self.rng)

    def _identities(self, members: list[Member]) -> None:
        rng = self.rng
        seen: set[str] = set()
        for m in members:
            m.id_number = self.id_number(m.region, m.birth, m.sex)
            name = given_name(rng, m.sex, m.birth.year)
            if name in seen:  # siblings are not given the same name
                name = given_name(rng, m.sex, m.birth.year)
            seen.add(name)
            m.name = m.surname + name
            m.phone = self.phone(m.age_on(self.as_of))

    def id_number(self, region: str, birth: date, sex: str) -> str:
        """A GB 11643 ID number unique in this data set; the 17th digit is odd for men."""
        parity = 1 if sex == "M" else 0
        while True:
            sequence = self.rng.randrange(500) * 2 + parity
            first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
            number = first17 + id_check_char(first17)
            if number not in self._id_numbers:
                self._id_numbers.add(number)
                return number

    def phone(self, age: int) -> str | None:
        """A unique mobile number for most adults and some teenagers; none for young children."""
        rng = self.rng
        chance = 0.0 if age < 12 else 0.45 if age < 18 else 0.95 if age < 70 else 0.65
        if rng.random() >= chance:
            return None
        while True:
            number = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"
            if number not in self._phones:
                self._phones.add(number)
                return number

    def display_name(self) -> str:
        """A staff member's name (workers and supervisors are local adults)."""
        sex = "M" if self.rng.random() < 0.5 else "F"
        year = self.as_of.year - self.rng.randint(24, 55)
        return LOCAL_SURNAMES.pick(self.rng) + given_name(self.rng, sex, year)

    def _date_between(self, low: date, high: date) -> date:
        if low >= high:
            return high
        return low + timedelta(days=self.rng.randrange((high - low).days + 1))
