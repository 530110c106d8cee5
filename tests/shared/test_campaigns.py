"""The campaign rules both sides run: targets, age boundaries, outcomes, the missed set."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.campaigns import (
    OUTCOME_ZH,
    SETTLING,
    MissedPlace,
    OutcomeFact,
    OutcomeKind,
    ResidentFacts,
    Tally,
    TargetRule,
    age_on,
    birth_date_of,
    birth_window,
    check_outcome,
    deciding_outcome,
    is_target,
    lives_under,
    natural_key,
    settles,
    sweep,
    walking_order,
)
from shared.clock import format_timestamp, parse_timestamp
from shared.records import check_values
from shared.validation import id_check_char

START = date(2026, 3, 1)
GRIDS = frozenset({"root", "l2", "l3", "l4", "leaf"})

# The caller's today (shared/ never reads the wall clock); any fixed day will do.
TODAY = date(2026, 11, 28)


def id_number(birth: date, seq: str = "123") -> str:
    first17 = f"350128{birth:%Y%m%d}{seq}"
    return first17 + id_check_char(first17)


def person(
    birth: date,
    *,
    status: str = "permanent",
    tags: tuple[str, ...] = (),
    grids: frozenset[str] = GRIDS,
) -> ResidentFacts:
    return ResidentFacts(id_number(birth), status, tags, grids)


def years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years)


def add_years(birth: date, years: int) -> date:
    """The k-th birthday; 29 February falls on 1 March in common years."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def naive_age(birth: date, day: date) -> int:
    """Age counted the slow way: the number of birthdays reached on `day`."""
    return max(k for k in range(0, 200) if add_years(birth, k) <= day)


# --- the rule ----------------------------------------------------------------------------------


def test_rule_refuses_inverted_ages_and_no_status() -> None:
    with pytest.raises(ValidationError):
        TargetRule(grid_id="root", age_min=60, age_max=18)
    with pytest.raises(ValidationError):
        TargetRule(grid_id="root", residence_statuses=())
    with pytest.raises(ValidationError):
        TargetRule(grid_id="root", tags=("nobody",))  # type: ignore[arg-type]


def test_rule_is_canonical_and_round_trips_through_campaign_values() -> None:
    rule = TargetRule(
        grid_id="root",
        age_min=3,
        residence_statuses=("floating", "permanent", "floating"),  # type: ignore[arg-type]
        tags=("hardship", "disabled"),  # type: ignore[arg-type]
    )
    assert rule.residence_statuses == ("floating", "permanent")
    assert rule.tags == ("disabled", "hardship")
    values = {
        "grid_id": "root",
        "age_min": 3,
        "age_max": None,
        "residence_statuses": ["permanent", "floating"],
        "tags": ["hardship", "disabled"],
    }
    assert TargetRule.from_values(values) == rule


def test_default_rule_targets_permanent_and_floating_residents_of_the_subtree() -> None:
    rule = TargetRule(grid_id="l3")
    born = date(1990, 5, 5)
    assert is_target(rule, person(born), START)
    assert is_target(rule, person(born, status="floating"), START)
    for status in ("away", "moved_out", "deceased"):
        assert not is_target(rule, person(born, status=status), START)
    assert not is_target(rule, person(born, grids=frozenset({"root", "other"})), START)


def test_tags_match_any_of() -> None:
    rule = TargetRule(grid_id="root", tags=("elderly_alone", "disabled"))  # type: ignore[arg-type]
    born = date(1940, 1, 1)
    assert is_target(rule, person(born, tags=("disabled",)), START)
    assert is_target(rule, person(born, tags=("hardship", "elderly_alone")), START)
    assert not is_target(rule, person(born, tags=("hardship",)), START)
    assert not is_target(rule, person(born), START)


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        (years_before(START, 18), True),  # 18th birthday on the start date: 18
        (years_before(START, 18) + timedelta(days=1), False),  # turns 18 the day after
        (years_before(START, 18) - timedelta(days=1), True),
        (years_before(START, 60) + timedelta(days=1), True),  # 59: turns 60 the day after
        (years_before(START, 61), False),  # 61st birthday on the start date: 61
        (years_before(START, 61) + timedelta(days=1), True),  # 60 until tomorrow
    ],
)
def test_age_bounds_are_inclusive_on_the_start_date(birth: date, expected: bool) -> None:
    rule = TargetRule(grid_id="root", age_min=18, age_max=60)
    assert is_target(rule, person(birth), START) is expected


def test_born_on_29_february_reaches_an_age_on_1_march_in_common_years() -> None:
    birth = date(2008, 2, 29)
    assert age_on(birth, date(2026, 2, 28)) == 17
    assert age_on(birth, date(2026, 3, 1)) == 18
    assert age_on(birth, date(2028, 2, 29)) == 20
    rule = TargetRule(grid_id="root", age_min=18)
    assert not is_target(rule, person(birth), date(2026, 2, 28))
    assert is_target(rule, person(birth), date(2026, 3, 1))


def test_age_matches_counting_birthdays() -> None:
    days = [date(2026, 2, 28), date(2026, 3, 1), date(2028, 2, 29), date(2027, 12, 31)]
    births = [date(2000, 1, 1) + timedelta(days=n) for n in range(0, 366 * 4 + 1, 1)]
    for day in days:
        for birth in births:
            assert age_on(birth, day) == naive_age(birth, day), (birth, day)


@pytest.mark.parametrize("as_of", [date(2026, 3, 1), date(2028, 2, 29), date(2026, 2, 28)])
@pytest.mark.parametrize(("low", "high"), [(18, 60), (0, 3), (None, 5), (65, None), (7, 7)])
def test_birth_window_is_exactly_the_ages_of_the_rule(
    as_of: date, low: int | None, high: int | None
) -> None:
    rule = TargetRule(grid_id="root", age_min=low, age_max=high)
    earliest, latest = birth_window(rule, as_of)
    first = as_of.replace(year=as_of.year - 80, day=1)
    for n in range(0, 81 * 366):
        birth = first + timedelta(days=n)
        if birth > as_of:
            break
        inside = (earliest is None or birth >= earliest) and (latest is None or birth <= latest)
        assert inside is is_target(rule, person(birth), as_of), birth


def test_an_id_number_without_a_birth_date_matches_no_age_bound() -> None:
    broken = ResidentFacts("35012820261340123X", "permanent", (), GRIDS)
    assert birth_date_of(broken.id_number) is None
    assert not is_target(TargetRule(grid_id="root", age_min=0), broken, START)
    assert is_target(TargetRule(grid_id="root"), broken, START)


def test_lives_under_follows_parents() -> None:
    parents = {"leaf": "l4", "leaf2": "l4", "l4": "l3", "l3": None}
    assert lives_under(["leaf"], parents) == {"leaf", "l4", "l3"}
    assert lives_under(["leaf", "leaf2"], parents) == {"leaf", "leaf2", "l4", "l3"}


# --- outcomes ----------------------------------------------------------------------------------


def fact(rid: str, outcome: str, minute: int, oid: str | None = None, **detail: str) -> OutcomeFact:
    at = datetime(2026, 3, 2, 9, minute, tzinfo=UTC)
    return OutcomeFact(
        id=oid or f"{rid}-{outcome}-{minute}",
        resident_id=rid,
        outcome=outcome,
        recorded_at=format_timestamp(at),
        **detail,
    )


def test_every_outcome_kind_has_a_label_and_a_settling_rule() -> None:
    assert set(OUTCOME_ZH) == {k.value for k in OutcomeKind}
    assert {"done_elsewhere", "exempt", "moved_out", "away"} == SETTLING
    assert [k for k in OutcomeKind if not settles(k)] == ["not_home", "refused"]


@pytest.mark.parametrize("kind", list(OutcomeKind))
def test_each_outcome_alone_settles_or_leaves_the_target_missed(kind: OutcomeKind) -> None:
    result = sweep(["r"], set(), [fact("r", kind, 1)])
    status = result.statuses["r"]
    assert status.status == ("settled" if kind in SETTLING else "missed")
    assert status.outcome is not None and status.outcome.outcome == kind
    assert result.missed == (set() if kind in SETTLING else {"r"})


@pytest.mark.parametrize(
    ("kind", "needs"),
    [("done_elsewhere", "place"), ("exempt", "reason"), ("not_home", "revisit_date")],
)
def test_outcomes_that_need_a_detail_say_which(kind: str, needs: str) -> None:
    [error] = check_outcome({"outcome": kind})
    assert (error.field, error.code) == (needs, "outcome_detail")
    assert check_outcome({"outcome": kind, needs: "x"}) == []


@pytest.mark.parametrize("kind", ["refused", "moved_out", "away"])
def test_other_outcomes_need_no_detail(kind: str) -> None:
    assert check_outcome({"outcome": kind}) == []


def test_latest_settled_outcome_counts_and_a_later_not_home_does_not_reopen() -> None:
    outcomes = [
        fact("r", "not_home", 1, revisit_date="2026-03-03"),
        fact("r", "done_elsewhere", 2, place="县医院"),
        fact("r", "exempt", 3, reason="禁忌症"),
        fact("r", "not_home", 4, revisit_date="2026-03-04"),  # a second worker, later
        fact("r", "refused", 5),
    ]
    for order in itertools.permutations(outcomes):
        decided = deciding_outcome(order)
        assert decided is not None and decided.outcome == "exempt"
    status = sweep(["r"], set(), outcomes).statuses["r"]
    assert status.status == "settled" and status.outcome == outcomes[2]


def test_without_a_settled_outcome_the_latest_is_shown_and_ties_break_by_id() -> None:
    a = fact("r", "not_home", 1, oid="b", revisit_date="2026-03-03")
    b = fact("r", "refused", 1, oid="a")
    assert deciding_outcome([a, b]) == a == deciding_outcome([b, a])
    assert sweep(["r"], set(), [a, b]).statuses["r"].status == "missed"


def test_completion_wins_over_any_outcome_and_non_targets_are_ignored() -> None:
    result = sweep(
        ["done", "open", "visited"],
        {"done", "stranger"},
        [fact("done", "refused", 1), fact("visited", "not_home", 2), fact("stranger", "away", 3)],
    )
    assert {r: s.status for r, s in result.statuses.items()} == {
        "done": "completed",
        "open": "missed",
        "visited": "missed",
    }
    assert result.statuses["done"].outcome is None
    assert result.statuses["open"].outcome is None
    assert result.missed == {"open", "visited"}


def test_tally_adds_up() -> None:
    outcomes = [fact(f"r{i}", kind, i) for i, kind in enumerate(OUTCOME_ZH)]
    targets = [f"r{i}" for i in range(10)]
    tally = sweep(targets, {"r8"}, outcomes).tally()
    assert (tally.targets, tally.completed, tally.settled, tally.missed) == (10, 1, 4, 5)
    assert tally.unvisited == 3  # r6, r7, r9
    assert tally.by_outcome == dict.fromkeys(OUTCOME_ZH, 1)
    assert tally.targets == tally.completed + sum(tally.by_outcome.values()) + tally.unvisited
    assert sweep(targets, {"r8"}, outcomes).tally(["r8", "r9", "nobody"]) == Tally(
        targets=2, completed=1, missed=1, unvisited=1
    )


def test_outcome_values_are_checked_like_any_record() -> None:
    values, errors = check_values(
        "outcome",
        {
            "campaign_id": "c",
            "resident_id": "r",
            "outcome": "已在他处完成",
            "place": " 县医院 ",
            "recorded_at": "2026-03-02 17:05",
        },
        creating=True,
        today=TODAY,
    )
    assert errors == []
    assert values["outcome"] == "done_elsewhere" and values["place"] == "县医院"
    assert values["recorded_at"] == "2026-03-02T09:05:00.000Z"  # China time, stored as UTC
    _, errors = check_values(
        "outcome",
        {"campaign_id": "c", "resident_id": "r", "outcome": "met", "recorded_at": "now"},
        creating=True,
        today=TODAY,
    )
    assert {(e.field, e.code) for e in errors} == {
        ("outcome", "choice"),
        ("recorded_at", "datetime_format"),
    }


def test_timestamps_sort_as_text() -> None:
    a = format_timestamp(datetime(2026, 3, 2, 9, 0, 0, 5000, tzinfo=UTC))
    b = format_timestamp(datetime(2026, 3, 2, 17, 0, 1))  # China time = 09:00:01 UTC
    assert a == "2026-03-02T09:00:00.005Z" and b == "2026-03-02T09:00:01.000Z"
    assert a < b
    assert parse_timestamp(b) == datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC)
    assert parse_timestamp("yesterday") is None


# --- walking order -----------------------------------------------------------------------------


def test_walking_order_groups_building_unit_house_in_natural_order() -> None:
    places = [
        MissedPlace("p1", "b2", "西大街10号", "u1", "1单元", "h1", "1001"),
        MissedPlace("p2", "b1", "西大街2号", "u2", "10单元", "h2", "301"),
        MissedPlace("p3", "b1", "西大街2号", "u3", "2单元", "h3", "502"),
        MissedPlace("p4", "b1", "西大街2号", "u3", "2单元", "h4", "101"),
        MissedPlace("p5", "b1", "西大街2号", "u3", "2单元", "h4", "101"),
    ]
    groups = walking_order(places)
    assert [g.building for g in groups] == ["西大街2号", "西大街10号"]
    assert [g.count for g in groups] == [4, 1]
    units = groups[0].units
    assert [(u.unit, u.count) for u in units] == [("2单元", 3), ("10单元", 1)]
    assert [(h.room, h.resident_ids) for h in units[0].houses] == [
        ("101", ["p4", "p5"]),
        ("502", ["p3"]),
    ]
    assert natural_key("2单元") < natural_key("10单元")
