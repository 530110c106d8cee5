"""The console's matter board, overdue list, export rows and counts, checked against a plain
reference (every live matter read, filtered and sorted in Python): the board reads ids from the
covering index and then a page's rows, so its pages must still tile the whole ordered list,
ties on the moment included, and its counts must be the rows'."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.matters import OPEN_STATES, MatterState
from sync_server.models import GridNode, Matter, User
from sync_server.queries import matter_board
from sync_server.queries.matter_board import BoardFilter, board, export_rows
from sync_server.queries.matter_counts import matter_counts
from tests.days import RUN_CLOCK
from tests.factories import TinyGrid
from tests.sync_server.matter_helpers import CATEGORY, MatterWorld

GRIDS = ("T1-1-1-1-1", "T1-1-1-1-2", "T1-1-1-2-1", "T1-1-1-2-2")
NOW = RUN_CLOCK.now()


@pytest.fixture
def matters(
    session_factory: sessionmaker[Session], tiny: TinyGrid, world: MatterWorld
) -> list[Matter]:
    """29 matters over the four grids in every state; several share a reported moment or a due
    time (page boundaries fall between equal keys), some overdue, one deleted."""
    rng = random.Random(20)
    states = list(MatterState)
    moments = [NOW - timedelta(hours=h) for h in (5, 5, 5, 30, 30, 80, 200, 200, 400)]
    rows = []
    with session_factory() as session, session.begin():
        for n in range(29):
            state = states[n % len(states)]
            reported = moments[n % len(moments)]
            due = reported + timedelta(hours=72) if n % 6 else None
            rows.append(
                Matter(
                    id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    category_id=CATEGORY,
                    grid_id=tiny.nodes[GRIDS[n % len(GRIDS)]].id,
                    source="door" if n % 3 else "inspection",
                    description=f"事项{n}",
                    reported_at=reported,
                    state=state.value,
                    due_at=due,
                    closed_at=reported + timedelta(hours=60 if n % 4 else 90)
                    if state is MatterState.CLOSED
                    else None,
                    rating=(n % 5) + 1 if state is MatterState.CLOSED else None,
                    deleted=n == 28,
                )
            )
        session.add_all(rows)
    return rows


def _reference(rows: list[Matter], wanted: BoardFilter, grid_ids: set[str]) -> list[str]:
    def keep(m: Matter) -> bool:
        overdue = m.due_at is not None and m.due_at < NOW and m.state in OPEN_STATES
        return (
            not m.deleted
            and m.grid_id in grid_ids
            and (not wanted.state or m.state == wanted.state)
            and (not wanted.source or m.source == wanted.source)
            and (not wanted.overdue or overdue)
        )

    kept = [m for m in rows if keep(m)]
    if wanted.overdue:
        kept.sort(key=lambda m: (m.due_at, m.id))
    else:
        kept.sort(key=lambda m: m.id)
        kept.sort(key=lambda m: m.reported_at, reverse=True)
    return [m.id for m in kept]


def _paged(session: Session, user: User, wanted: BoardFilter) -> list[list[str]]:
    pages: list[list[str]] = []
    for page in range(1, 20):
        found = board(session=session, user=user, wanted=wanted, now=NOW, page=page)
        if not found.rows:
            return pages
        pages.append([r.id for r in found.rows])
    raise AssertionError("the board never ran out of pages")


def _under(session: Session, node: GridNode) -> set[str]:
    return set(
        session.scalars(
            select(GridNode.id).where(GridNode.path >= node.path, GridNode.path < node.path + "~")
        )
    )


@pytest.mark.parametrize("overdue", [False, True])
@pytest.mark.parametrize("node", [None, "T1", "T1-1-1-1", "T1-1-1-2-1"])
def test_board_pages_tile_the_ordered_list_at_every_level(
    session_factory: sessionmaker[Session],
    tiny: TinyGrid,
    matters: list[Matter],
    monkeypatch: pytest.MonkeyPatch,
    node: str | None,
    overdue: bool,
) -> None:
    monkeypatch.setattr(matter_board, "PAGE_SIZE", 4)  # boundaries inside runs of equal keys
    with session_factory() as session:
        admin = session.get_one(User, tiny.users["admin"].id)
        at = session.get_one(GridNode, tiny.nodes[node].id) if node else None
        wanted = BoardFilter(node=at, overdue=overdue)
        expected = _reference(matters, wanted, _under(session, at or tiny.nodes["T1"]))
        pages = _paged(session, admin, wanted)
        assert [i for p in pages for i in p] == expected
        assert all(len(p) == 4 for p in pages[:-1])
        assert board(session=session, user=admin, wanted=wanted, now=NOW).total == len(expected)
        # Asking for a page past the end shows none, and still counts them all.
        beyond = board(session=session, user=admin, wanted=wanted, now=NOW, page=len(pages) + 1)
        assert beyond.rows == [] and beyond.total == len(expected)
        if overdue:
            assert expected, "the fixture has overdue matters"


def test_the_state_tabs_and_total_are_the_rows_counts(
    session_factory: sessionmaker[Session], tiny: TinyGrid, matters: list[Matter]
) -> None:
    with session_factory() as session:
        admin = session.get_one(User, tiny.users["admin"].id)
        everything = _under(session, tiny.nodes["T1"])
        found = board(session=session, user=admin, wanted=BoardFilter(source="door"), now=NOW)
        live = [m for m in matters if not m.deleted and m.source == "door"]
        assert found.by_state == {
            s: sum(1 for m in live if m.state == s) for s in {m.state for m in live}
        }
        assert found.total == len(live)
        closed = BoardFilter(source="door", state="closed")
        one = board(session=session, user=admin, wanted=closed, now=NOW)
        assert one.total == len(_reference(matters, closed, everything)) > 0
        assert one.by_state == found.by_state  # the tabs do not narrow to the chosen state
        assert {r.state for r in one.rows} == {"closed"}


def test_a_supervisor_pages_only_through_their_community(
    session_factory: sessionmaker[Session],
    tiny: TinyGrid,
    matters: list[Matter],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(matter_board, "PAGE_SIZE", 3)
    with session_factory() as session:
        s1 = session.get_one(User, tiny.users["s1"].id)
        own = _under(session, tiny.nodes["T1-1-1-1"])
        pages = _paged(session, s1, BoardFilter())
        assert [i for p in pages for i in p] == _reference(matters, BoardFilter(), own)


def test_export_rows_follow_the_board_across_chunks(
    session_factory: sessionmaker[Session],
    tiny: TinyGrid,
    matters: list[Matter],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(matter_board, "_EXPORT_CHUNK", 4)
    with session_factory() as session:
        admin = session.get_one(User, tiny.users["admin"].id)
        everything = _under(session, tiny.nodes["T1"])
        for wanted in (BoardFilter(), BoardFilter(overdue=True), BoardFilter(state="closed")):
            rows = list(export_rows(session=session, user=admin, wanted=wanted, now=NOW))
            assert [r.matter.id for r in rows] == _reference(matters, wanted, everything)
            assert {r.grid_code for r in rows} <= set(GRIDS)
            assert all(r.category == "环境卫生" for r in rows)


def test_counts_at_every_level_are_the_rows_counts(
    session_factory: sessionmaker[Session], tiny: TinyGrid, matters: list[Matter]
) -> None:
    with session_factory() as session:
        admin = session.get_one(User, tiny.users["admin"].id)
        nodes = [session.get_one(GridNode, n.id) for n in tiny.nodes.values()]
        counts = matter_counts(session=session, user=admin, nodes=nodes, now=NOW)
        for node in nodes:
            under = _under(session, node)
            live = [m for m in matters if not m.deleted and m.grid_id in under]
            got = counts[node.id]
            assert got.reported == len(live), node.code
            assert got.open == sum(1 for m in live if m.state in OPEN_STATES)
            assert got.overdue == sum(
                1 for m in live if m.state in OPEN_STATES and m.due_at and m.due_at < NOW
            )
            closed = [m for m in live if m.state == "closed"]
            on_time = [m for m in closed if m.due_at is None or m.closed_at <= m.due_at]  # type: ignore[operator]
            assert got.closed_on_time == len(on_time)
            ratings = [m.rating for m in closed if m.rating is not None]
            assert got.average_rating == (
                round(sum(ratings) / len(ratings), 1) if ratings else None
            )


def test_a_matter_due_this_moment_is_not_yet_overdue(
    session_factory: sessionmaker[Session], tiny: TinyGrid, matters: list[Matter]
) -> None:
    """Overdue is past the due time: at the due moment itself not yet, a second later yes."""
    due_now = next(m for m in matters if m.due_at is not None and m.state in OPEN_STATES)
    assert due_now.due_at is not None
    moment: datetime = due_now.due_at
    with session_factory() as session:
        admin = session.get_one(User, tiny.users["admin"].id)
        late = board(session=session, user=admin, wanted=BoardFilter(overdue=True), now=moment)
        assert due_now.id not in {r.id for r in late.rows}
        later = moment + timedelta(seconds=1)
        late = board(session=session, user=admin, wanted=BoardFilter(overdue=True), now=later)
        assert due_now.id in {r.id for r in late.rows}
