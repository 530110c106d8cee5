"""Finding a resident at the door: pinyin initials and full pinyin (surnames with two readings
included), the end of an ID number, a phone number, an address; keys follow renames."""

from __future__ import annotations

import uuid

from field_app.i18n import Msg, Translator
from field_app.state.search import SearchScreen
from field_app.store import ResidentHit, Store
from field_app.store.pinyin import name_keys
from field_app.store.records import Record
from shared import hlc
from shared.protocol import PullResponse, RecordState
from shared.validation import id_check_char
from tests.days import TODAY

GRID = "00000000-0000-4000-8000-000000000005"
BUILDING = "00000000-0000-4000-8000-0000000000b1"
SERVER_TS = hlc.format_ts(1_764_339_600_000, 0, "server")


def id_number(seq: int) -> str:
    first17 = f"350128{1980 + seq // 1000}0101{seq % 1000:03d}"
    return first17 + id_check_char(first17)


def state(entity: str, record_id: str, **values: object) -> RecordState:
    return RecordState.model_validate(
        {
            "entity": entity,
            "id": record_id,
            "version": 1,
            "deleted": False,
            "values": values,
            "clocks": dict.fromkeys(values, SERVER_TS),
        }
    )


def seed(store: Store, people: list[tuple[str, str, str]]) -> dict[str, str]:
    """(name, phone, room) per person, one house each; returns name → resident id."""
    states = [
        state("grid_node", GRID, level=5, code="G5", name="一网格", parent_id=None),
        state("building", BUILDING, grid_id=GRID, road="海坛路", number="8号", name=""),
    ]
    ids = {}
    for n, (name, phone, room) in enumerate(people):
        house, resident = str(uuid.uuid4()), str(uuid.uuid4())
        ids[name] = resident
        states += [
            state(
                "house", house, grid_id=GRID, building_id=BUILDING, unit_id=None, room=room,
                address=f"潭城镇海坛路8号{room}室",
            ),
            state(
                "resident", resident, name=name, id_number=id_number(n), phone=phone,
                residence_status="permanent", tags=[], note="",
            ),
            state(
                "binding", str(uuid.uuid4()), resident_id=resident, house_id=house,
                relation="head", start_date="2020-01-01", end_date=None,
            ),
        ]  # fmt: skip
    store.apply_pull(
        PullResponse.model_validate(
            {
                "records": [s.model_dump() for s in states],
                "scope": [GRID],
                "cursor": "c1",
                "has_more": False,
                "phase": "bootstrap",
                "server_hlc": SERVER_TS,
            }
        )
    )
    return ids


PEOPLE = [
    ("张三", "13800000001", "0101"),
    ("张三丰", "13800000002", "0102"),
    ("曾小明", "13900000003", "0201"),
    ("李四", "13700000004", "0202"),
    ("赵四", "13600000005", "0301"),
]


def names(store: Store, text: str) -> list[str]:
    return [hit.resident["name"] for hit in store.search_residents(text, day=TODAY)]


def test_name_keys_give_initials_and_full_pinyin() -> None:
    assert name_keys("张三") == ("zs", "zhangsan")
    initials, full = name_keys("曾小明")
    assert set(initials.split()) == {"zxm", "cxm"}, "曾 reads zeng as a surname"
    assert "zengxiaoming" in full.split()
    assert name_keys("") == ("", "")
    assert name_keys("Anna李") == ("al", "annali")


def test_initials_find_by_prefix_with_the_exact_match_first(store: Store) -> None:
    seed(store, PEOPLE)
    assert names(store, "zs") == ["张三", "张三丰", "赵四"], "赵四 is zs too"
    assert names(store, "ZSF") == ["张三丰"]
    assert names(store, "zxm") == ["曾小明"]
    assert names(store, "cxm") == ["曾小明"]


def test_full_pinyin_and_chinese_names_find(store: Store) -> None:
    seed(store, PEOPLE)
    assert names(store, "zhangsan") == ["张三", "张三丰"]
    assert names(store, "zengxiao") == ["曾小明"]
    assert names(store, "四") == ["李四", "赵四"]
    assert names(store, "张三") == ["张三", "张三丰"], "the exact name ranks first"


def test_id_ending_phone_and_address_find(store: Store) -> None:
    seed(store, PEOPLE)
    tail = id_number(2)[-4:]
    assert names(store, tail) == ["曾小明"]
    assert names(store, "13900000003") == ["曾小明"]
    assert names(store, "0003") == ["曾小明"], "phone digits anywhere in the number"
    hits = store.search_residents("0201", day=TODAY)
    assert [h.resident["name"] for h in hits] == ["曾小明"]
    assert hits[0].address == "潭城镇海坛路8号0201室"
    assert hits[0].relation == "head"


def test_wildcards_are_literal_and_blank_finds_nothing(store: Store) -> None:
    seed(store, PEOPLE)
    assert names(store, "%") == []
    assert names(store, "_") == []
    assert names(store, "   ") == []


def test_keys_follow_a_rename_made_on_the_device(store: Store) -> None:
    ids = seed(store, PEOPLE)
    store.update("resident", ids["李四"], {"name": "王五"}, user_id="u1")
    assert names(store, "ls") == []
    assert names(store, "ww") == ["王五"]


def test_search_over_a_community_finds_by_name_and_initials(store: Store) -> None:
    """A whole community's residents on the phone: a search by name or initials finds exactly
    those people (its speed is measured in bench/app_search_bench.py, not asserted here)."""
    surnames, given = "林陈黄吴高翁何郑王李张俞", "秀英金水国强美玉建国春生丽华志明"
    people = [
        (f"{surnames[i % len(surnames)]}{given[i % len(given)]}{given[(i * 7) % len(given)]}", f"138{i:08d}", f"{i:04d}")
        for i in range(4500)
    ]  # fmt: skip
    seed(store, people)
    found = names(store, "林秀")
    assert found and all(name.startswith("林秀") for name in found)
    assert set(found) <= {name for name, _, _ in people}
    for query in ("lxy", "chen", "1234", "138000012", "海坛路"):
        store.search_residents(query, day=TODAY)  # every kind of query answers


def test_a_person_who_moved_out_says_where_from_and_when() -> None:
    """A moved-out person is kept for the recently-moved window: the hit says why no home
    shows, in Chinese first."""
    person = Record("resident", "r1", 1, False, {"name": "林芳"})
    moved = ResidentHit(
        person, None, None, None, moved_from="潭城镇海坛路8号101室", moved_on="2026-11-30"
    )
    nowhere = ResidentHit(person, None, None, None)
    home = ResidentHit(person, "h1", "潭城镇海坛路8号102室", "head")
    zh = Translator("zh-CN")
    assert zh.msg(SearchScreen.where(moved)) == "已迁出（2026-11-30）· 原住 潭城镇海坛路8号101室"
    assert Translator("en").msg(SearchScreen.where(moved)).startswith("Moved out (2026-11-30)")
    assert zh.msg(SearchScreen.where(nowhere)) == "未绑定房屋"
    assert SearchScreen.where(home) == "潭城镇海坛路8号102室"
    assert not isinstance(SearchScreen.where(home), Msg)
