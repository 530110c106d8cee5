"""The doorstep workflow through the view-models alone, against the real server in-process:
first run, the sweep with its counts, search, edits with inline validation, adding a person,
moving, tags, visits, working offline, syncing, and problems that stay visible."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from field_app.i18n import Msg, Translator
from field_app.state import (
    BuildingsScreen,
    GridsScreen,
    HouseScreen,
    HousesScreen,
    MoveScreen,
    ResidentForm,
    ResidentScreen,
    SearchScreen,
    SetupScreen,
    SyncScreen,
    UnitsScreen,
    VisitScreen,
)
from field_app.state.places import building_title
from field_app.store import Record
from field_app.views.widgets import told_lines
from shared.clock import format_timestamp
from shared.protocol import OpResult
from shared.validation import id_check_char
from sync_server.models import Binding, Resident
from tests.days import iso
from tests.factories import TinyGrid, make_tiny_grid
from tests.field_app.app_harness import Device
from tests.sync_server.conftest import login


@pytest.fixture
def tiny(session_factory: sessionmaker[Session]) -> TinyGrid:
    with session_factory() as session, session.begin():
        return make_tiny_grid(session)


@pytest.fixture
def device(app: FastAPI, tmp_path: Path, tiny: TinyGrid) -> Iterator[Callable[[], Device]]:
    made: list[Device] = []

    def make() -> Device:
        made.append(Device(app, tmp_path / f"device-{len(made)}.db"))
        return made[-1]

    yield make
    for d in made:
        d.close()


@pytest.fixture
def phone(device: Callable[[], Device]) -> Device:
    """A device signed in as worker w11 with its grid downloaded, on the home screen."""
    d = device()
    d.sign_in("w11")
    assert isinstance(d.vm.screen, GridsScreen)
    return d


def new_id_number(seq: int = 901) -> str:
    first17 = f"35012819900101{seq:03d}"
    return first17 + id_check_char(first17)


def walk_to_house(phone: Device, room: str) -> HouseScreen:
    grids = phone.vm.screen
    assert isinstance(grids, GridsScreen)
    grids.open(grids.items[0].record.id)
    buildings = phone.vm.screen
    assert isinstance(buildings, BuildingsScreen)
    buildings.open(buildings.items[0].record.id)
    units = phone.vm.screen
    assert isinstance(units, UnitsScreen)
    units.open(units.items[0].record.id)
    houses = phone.vm.screen
    assert isinstance(houses, HousesScreen)
    house = next(h for h in houses.items if h.house["room"] == room)
    houses.open(house.house.id)
    screen = phone.vm.screen
    assert isinstance(screen, HouseScreen)
    return screen


def server_resident(
    factory: sessionmaker[Session], **where: object
) -> tuple[Resident, list[Binding]] | None:
    with factory() as session:
        query = select(Resident).filter_by(**where)
        resident = session.scalars(query).first()
        if resident is None:
            return None
        bindings = list(session.scalars(select(Binding).filter_by(resident_id=resident.id)))
        session.expunge_all()
        return resident, bindings


# --- first run -----------------------------------------------------------------------------------


def test_first_run_signs_in_and_downloads_then_opens_the_grids(
    device: Callable[[], Device],
) -> None:
    d = device()
    setup = d.vm.screen
    assert isinstance(setup, SetupScreen)
    assert setup.server_url == "http://testserver"
    assert not d.vm.ready
    d.sign_in("w11")
    assert d.vm.ready
    grids = d.vm.screen
    assert isinstance(grids, GridsScreen)
    assert [g.record["name"] for g in grids.items] == ["第1网格"]
    assert d.vm.flash_message == Msg("flash.ready")
    assert d.vm.status.online is True
    assert d.vm.status.pending == 0
    assert d.service.status.report is not None and d.service.status.report.received > 0


def test_empty_fields_and_a_wrong_password_are_explained(device: Callable[[], Device]) -> None:
    d = device()
    setup = d.vm.screen
    assert isinstance(setup, SetupScreen)
    setup.set_server_url("")
    assert not setup.submit()
    assert setup.missing == {"server_url", "username", "password"}
    setup.set_server_url("http://testserver")
    d.sign_in("w11", "wrong password")
    assert isinstance(d.vm.screen, SetupScreen)
    assert setup.failure is not None and setup.failure.kind == "credentials"
    assert not setup.busy


def test_sign_in_without_a_network_says_so(device: Callable[[], Device]) -> None:
    d = device()
    d.transport.down = True
    d.sign_in("w11")
    setup = d.vm.screen
    assert isinstance(setup, SetupScreen)
    assert setup.failure is not None and setup.failure.kind == "offline"


# --- the sweep -----------------------------------------------------------------------------------


def test_each_level_of_the_sweep_has_counts_and_visit_status(phone: Device) -> None:
    grids = phone.vm.screen
    assert isinstance(grids, GridsScreen)
    tally = grids.items[0].tally
    assert (tally.buildings, tally.houses, tally.residents, tally.visited) == (1, 3, 3, 0)
    house = walk_to_house(phone, "0301")
    assert [o.resident["name"] for o in house.occupants] == ["张1120", "张1121"]
    assert house.summary is not None and not house.summary.visited_today

    house.record_visit()
    visit = phone.vm.screen
    assert isinstance(visit, VisitScreen)
    assert not visit.save(), "an outcome must be chosen"
    assert "outcome" in visit.errors
    visit.choose("not_home")
    visit.set_note("敲门无人应答")
    assert visit.save()
    assert phone.vm.screen is house
    assert house.summary is not None and house.summary.visited_today
    assert house.visits[0]["outcome"] == "not_home"
    assert house.visits[0]["visited_at"] == format_timestamp(phone.clock.now())  # the instant

    phone.vm.back()
    houses = phone.vm.screen
    assert isinstance(houses, HousesScreen)
    assert houses.visited == 1
    houses.toggle_unvisited()
    assert [h.house["room"] for h in houses.items] == ["0101", "0201"]
    phone.vm.home()
    home = phone.vm.screen
    assert isinstance(home, GridsScreen)
    assert home.items[0].tally.visited == 1
    assert phone.vm.status.pending == 1, "the visit waits in the outbox"


# --- search --------------------------------------------------------------------------------------


def test_search_by_initials_id_ending_and_address(phone: Device) -> None:
    phone.vm.open_search()
    search = phone.vm.screen
    assert isinstance(search, SearchScreen)
    search.set_query("zhang")  # the tiny grid's people are all 张 + digits
    assert {h.resident["name"] for h in search.hits} == {"张1110", "张1120", "张1121"}
    number = search.hits[0].resident["id_number"]
    assert search.masked_id(search.hits[0]).endswith(number[-4:])
    assert "*" in search.masked_id(search.hits[0])
    for hit in search.hits:  # namesakes told apart by sex and age, read from the ID number
        number = hit.resident["id_number"]
        who = search.who(hit)
        assert who.sex == ("M" if int(number[16]) % 2 else "F")
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        today = phone.vm.today()
        assert who.age == today.year - born.year - (
            (today.month, today.day) < (born.month, born.day)
        )
    target = next(h for h in search.hits if h.resident["name"] == "张1120")
    search.set_query(target.resident["id_number"][-4:])
    assert target.resident.id in [h.resident.id for h in search.hits]
    search.set_query("0301")
    assert {h.resident["name"] for h in search.hits} == {"张1120", "张1121"}
    search.open(target.resident.id)
    assert isinstance(phone.vm.screen, ResidentScreen)


# --- resident actions ----------------------------------------------------------------------------


def test_editing_validates_inline_and_syncs(
    phone: Device, session_factory: sessionmaker[Session]
) -> None:
    house = walk_to_house(phone, "0201")
    house.open_resident(house.occupants[0].resident.id)
    person = phone.vm.screen
    assert isinstance(person, ResidentScreen)
    assert person.shown_id.startswith("*") and not person.id_revealed
    person.toggle_id()
    assert person.shown_id == person.resident["id_number"]  # type: ignore[index]
    person.edit()
    form = phone.vm.screen
    assert isinstance(form, ResidentForm)
    assert not form.id_revealed, "the ID number stays masked in the form until opened"
    form.set_value("phone", "139")
    assert form.errors["phone"].code == "phone_length"
    assert Translator("zh-CN").field_error(form.errors["phone"]) == "手机号应为11位，当前为3位"
    assert not form.save()
    form.reveal_id()
    good = form.values["id_number"]
    form.set_value("id_number", good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert form.errors["id_number"].code == "id_check_digit"
    form.set_value("id_number", good)
    form.set_value("phone", "13912345678")
    assert form.errors == {}
    assert form.save()
    assert phone.vm.screen is person
    assert person.resident is not None and person.resident["phone"] == "13912345678"
    assert person.resident.sync_state == "pending"
    assert phone.vm.status.pending == 1

    phone.vm.request_sync()
    phone.work()
    assert phone.vm.status.pending == 0
    assert phone.vm.flash_message is not None and phone.vm.flash_message.key == "sync.done"
    found = server_resident(session_factory, id=person.resident_id)
    assert found is not None and found[0].phone == "13912345678"


def test_leaving_a_form_with_unsaved_typing_asks_first(phone: Device) -> None:
    house = walk_to_house(phone, "0201")
    house.open_resident(house.occupants[0].resident.id)
    person = phone.vm.screen
    person.edit()  # type: ignore[attr-defined]
    form = phone.vm.screen
    assert isinstance(form, ResidentForm)
    phone.vm.back()
    assert phone.vm.screen is person, "nothing typed: leaves at once"

    person.edit()  # type: ignore[attr-defined]
    form = phone.vm.screen
    assert isinstance(form, ResidentForm)
    form.set_value("note", "三楼东户，白天不在家")
    phone.vm.back()
    assert phone.vm.screen is form and phone.vm.leaving == "back"
    phone.vm.stay()
    assert phone.vm.leaving is None and form.values["note"] == "三楼东户，白天不在家"
    phone.vm.home()
    assert phone.vm.screen is form and phone.vm.leaving == "home"
    phone.vm.discard()
    assert isinstance(phone.vm.screen, GridsScreen) and phone.vm.status.pending == 0

    house = walk_to_house(phone, "0201")
    house.add_resident()
    adding = phone.vm.screen
    assert isinstance(adding, ResidentForm)
    adding.set_value("name", "郑")
    phone.vm.back()
    assert phone.vm.leaving == "back"
    phone.vm.discard()
    assert phone.vm.screen is house and phone.vm.leaving is None


def test_a_person_found_at_the_door_is_added_and_bound(
    phone: Device, session_factory: sessionmaker[Session]
) -> None:
    house = walk_to_house(phone, "0101")
    assert house.occupants == []
    house.add_resident()
    form = phone.vm.screen
    assert isinstance(form, ResidentForm) and form.is_new
    assert not form.save()
    assert {"name", "id_number"} <= set(form.errors)
    form.set_value("name", "林新来")
    form.set_value("id_number", new_id_number())
    form.set_value("relation", "tenant")
    form.toggle_tag("elderly_alone")
    assert form.save()
    assert [o.resident["name"] for o in house.occupants] == ["林新来"]
    assert house.occupants[0].binding["relation"] == "tenant"
    assert phone.vm.status.pending == 1, "one person added: one change as the worker sees it"
    assert phone.store.pending_count() == 2, "the person and their binding"

    phone.vm.request_sync()
    phone.work()
    found = server_resident(session_factory, id_number=new_id_number())
    assert found is not None
    resident, bindings = found
    assert resident.name == "林新来" and resident.tags == ["elderly_alone"]
    assert [(b.house_id, b.relation) for b in bindings] == [(house.house_id, "tenant")]


def test_adding_someone_already_registered_points_at_them(phone: Device) -> None:
    other = walk_to_house(phone, "0201").occupants[0].resident
    phone.vm.home()
    house = walk_to_house(phone, "0101")
    house.add_resident()
    form = phone.vm.screen
    assert isinstance(form, ResidentForm)
    form.set_value("name", "某人")
    form.set_value("id_number", other["id_number"])
    assert not form.save()
    assert form.errors["id_number"].code == "duplicate"
    assert phone.vm.status.pending == 0


def test_moving_out_and_moving_house_are_dated_bindings(
    phone: Device, session_factory: sessionmaker[Session]
) -> None:
    house = walk_to_house(phone, "0301")
    mover, leaver = (o.resident.id for o in house.occupants)
    house.open_resident(mover)
    person = phone.vm.screen
    assert isinstance(person, ResidentScreen)
    person.move()
    move = phone.vm.screen
    assert isinstance(move, MoveScreen)
    move.set_mode("to")
    assert not move.save(), "a new house must be chosen"
    move.search("0101")
    assert [h["room"] for h in move.houses] == ["0101"]
    move.choose(move.houses[0].id)
    move.set_day(iso(-1))
    assert move.save()
    assert [h.address for h in person.homes] == ["西大街11号1号楼1单元0101室"]

    phone.vm.back()
    house.open_resident(leaver)
    person = phone.vm.screen
    assert isinstance(person, ResidentScreen)
    person.move()
    move = phone.vm.screen
    assert isinstance(move, MoveScreen)
    move.set_day("1999-01-01")
    assert not move.save() and move.errors["date"].code == "date_order"
    move.set_day(iso(1))
    assert not move.save() and move.errors["date"].code == "future_date"
    assert (
        Translator("zh-CN").field_error(move.errors["date"]) == f"迁出日期不能晚于今天（{iso(0)}）"
    )
    assert [h.address for h in person.homes], "still living there: nothing was saved"
    move.set_day("not a date")
    assert move.errors["date"].code == "date_format"
    move.set_day(iso(0))
    assert move.save()
    assert person.homes == []
    assert person.resident is not None and person.resident["residence_status"] == "moved_out"

    phone.vm.request_sync()
    phone.work()
    assert phone.vm.status.pending == 0 and phone.vm.status.problems == 0
    found = server_resident(session_factory, id=mover)
    assert found is not None
    ends = sorted((str(b.start_date), str(b.end_date)) for b in found[1])
    assert ends == [("2020-01-01", iso(-1)), (iso(-1), "None")]


def test_tags_are_set_at_once(phone: Device) -> None:
    house = walk_to_house(phone, "0201")
    house.open_resident(house.occupants[0].resident.id)
    person = phone.vm.screen
    assert isinstance(person, ResidentScreen)
    person.toggle_tag("disabled")
    assert person.tags == ["disabled"]
    person.toggle_tag("disabled")
    assert person.tags == []
    assert phone.vm.status.pending == 1 and phone.store.pending_count() == 2


# --- offline, sync and problems ------------------------------------------------------------------


def test_offline_edits_wait_and_leave_when_the_server_returns(phone: Device) -> None:
    phone.transport.down = True
    phone.work()  # the health poll notices
    assert phone.vm.status.online is False
    house = walk_to_house(phone, "0201")
    house.open_resident(house.occupants[0].resident.id)
    person = phone.vm.screen
    assert isinstance(person, ResidentScreen)
    person.toggle_tag("hardship")
    phone.vm.request_sync()
    phone.work()
    assert phone.vm.status.failure is not None and phone.vm.status.failure.kind == "offline"
    assert phone.vm.flash_message == Msg("failure.offline") and phone.vm.flash_error
    assert phone.vm.status.pending == 1

    phone.transport.down = False
    phone.work()  # the poll sees the server again and syncs by itself
    assert phone.vm.status.online is True
    assert phone.vm.status.pending == 0
    assert phone.vm.status.failure is None


def test_an_edit_made_online_leaves_by_itself_after_the_last_keystroke_settles(
    phone: Device, session_factory: sessionmaker[Session]
) -> None:
    house = walk_to_house(phone, "0201")
    rid = house.occupants[0].resident.id
    house.open_resident(rid)
    person = phone.vm.screen
    assert isinstance(person, ResidentScreen) and phone.vm.status.online is True
    person.toggle_tag("hardship")
    phone.work()
    assert phone.vm.status.pending == 1, "not at once: the worker may still be editing"
    phone.clock.advance(seconds=2)
    person.toggle_tag("disabled")  # a second edit moves the push back
    phone.clock.advance(seconds=2)
    phone.work()
    assert phone.store.pending_count() == 2, "both edits still wait"
    phone.clock.advance(seconds=1.5)
    phone.work()
    assert phone.vm.status.pending == 0, "pushed without the worker tapping 同步"
    assert phone.vm.status.failure is None
    found = server_resident(session_factory, id=rid)
    assert found is not None and {"hardship", "disabled"} <= set(found[0].tags)


def test_an_edit_made_offline_is_not_pushed_into_the_void(phone: Device) -> None:
    phone.transport.down = True
    phone.work()
    house = walk_to_house(phone, "0201")
    house.open_resident(house.occupants[0].resident.id)
    person = phone.vm.screen
    assert isinstance(person, ResidentScreen)
    person.toggle_tag("hardship")
    phone.clock.advance(seconds=10)
    phone.work()
    assert phone.vm.status.pending == 1
    assert phone.vm.status.failure is None, "no failed sync is reported for a push never tried"
    phone.transport.down = False
    phone.work()  # back online: the reconnect sync takes it
    assert phone.vm.status.pending == 0


def test_a_rejected_change_stays_on_its_record_until_read(phone: Device) -> None:
    house = walk_to_house(phone, "0201")
    rid = house.occupants[0].resident.id
    house.open_resident(rid)
    person = phone.vm.screen
    assert isinstance(person, ResidentScreen)
    person.toggle_tag("disabled")
    (op,) = phone.store.pending_ops()
    phone.store.record_results(
        [
            OpResult(
                op_id=op.op_id, status="rejected", entity="resident", record_id=rid,
                code="out_of_scope", reason="this resident is outside your assigned grids",
            )
        ]
    )  # fmt: skip
    person.refresh()
    assert [p.status for p in person.problems] == ["rejected"]
    assert phone.vm.status.rejected == 1
    t = Translator("zh-CN")
    problem = person.problems[0]
    assert t.rejection(problem.code, problem.field, problem.reason) == "该记录不在您负责的网格内"
    phone.vm.open_sync()
    sync = phone.vm.screen
    assert isinstance(sync, SyncScreen)
    assert sync.subject(sync.problems[0]) == person.resident["name"]  # type: ignore[index]
    sync.dismiss(op.op_id)
    assert sync.problems == [] and phone.vm.status.problems == 0


def test_language_switch_is_remembered(phone: Device, device: Callable[[], Device]) -> None:
    assert phone.vm.language == "zh-CN"
    phone.vm.toggle_language()
    assert phone.vm.language == "en"
    phone.vm.close()
    again = Device(phone.app, phone.path)
    try:
        assert again.vm.language == "en"
        assert again.vm.ready and isinstance(again.vm.screen, GridsScreen)
    finally:
        again.close()


def test_every_screen_has_a_title_in_both_languages(phone: Device) -> None:
    house = walk_to_house(phone, "0201")
    screens = list(phone.vm.stack)
    house.open_resident(house.occupants[0].resident.id)
    screens.append(phone.vm.screen)
    for language in ("zh-CN", "en"):
        t = Translator(language)
        for screen in screens:
            title = t.msg(screen.title)
            assert title and not title.startswith("screen."), (language, screen.kind)


def test_titles_keep_the_building_before_the_street() -> None:
    values = {"road": "西楼南路", "lane": "10弄", "number": "4号", "name": "3号楼"}
    building = Record("building", "b1", None, False, values)
    assert building_title(building, "2单元") == "3号楼2单元 · 西楼南路10弄4号"
    assert building_title(building) == "3号楼 · 西楼南路10弄4号"
    unnamed = Record("building", "b2", None, False, {"road": "西楼南路", "number": "1巷10号"})
    assert building_title(unnamed) == "西楼南路1巷10号"


def test_the_worker_is_told_what_became_of_their_edits(
    app: FastAPI, device: Callable[[], Device]
) -> None:
    first, later = device(), device()
    first.sign_in("w11")
    later.sign_in("w11")
    rid = walk_to_house(first, "0201").occupants[0].resident.id
    for values in ({"phone": "13900000001"}, {"name": "张甲"}):
        first.store.update("resident", rid, values, user_id=first.vm.user_id)
    later.clock.advance(minutes=5)  # the later phone edits after the first one did
    for values in ({"phone": "13900000002"}, {"name": "张乙"}):
        later.store.update("resident", rid, values, user_id=later.vm.user_id)
    later.vm.request_sync()
    later.work()
    first.vm.request_sync()
    first.work()

    # The phone: last writer wins, and the first worker is told their number lost.
    person = first.vm.screen
    person.open_resident(rid)  # type: ignore[attr-defined]
    person = first.vm.screen
    assert isinstance(person, ResidentScreen)
    superseded = [t for t in person.told if t.notice.kind == "superseded"]
    assert [(f, typed, now) for t in superseded for f, typed, now in t.fields] == [
        ("phone", "13900000001", "13900000002")
    ]
    # The name is an identity field: a conflict whose card shows only the name, both values.
    [problem] = person.problems
    assert [(c.field, c.server, c.device) for c in problem.clashes] == [("name", "张乙", "张甲")]
    assert first.vm.status.problems == 2

    admin = TestClient(app)
    headers = login(admin, "admin", device=True)
    answer = admin.post(
        f"/api/v1/conflicts/{problem.conflict_id}/resolve",
        json={"choice": "server"},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    first.vm.request_sync()
    first.work()
    person.refresh()
    assert person.problems == []
    [settled] = [t for t in person.told if t.notice.kind == "settled"]
    assert not settled.took_yours and ("name", "张甲", "张乙") in settled.fields
    words = " ".join(told_lines(settled, Translator("zh-CN")))
    assert "管理员处理了冲突" in words and "张乙" in words and "张甲" in words
    for told in list(person.told):
        person.dismiss_told(told.notice.op_id)
    assert person.told == [] and first.vm.status.problems == 0
