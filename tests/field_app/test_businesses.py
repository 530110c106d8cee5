"""Businesses and the checklist sweep on the phone, through the device store and the screens'
view-models: the grid's businesses by building and by name, adding one at the door offline (its
contact sealed), a bad licence refused in words, a campaign's to-check list, the checklist's
three answers with a note and photo on a failure, and every screen drawn in both languages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flet.components.component import Renderer

from field_app.i18n import Translator
from field_app.state.businesses import (
    BusinessesScreen,
    BusinessForm,
    BusinessScreen,
    ChecklistScreen,
    ToCheckScreen,
)
from field_app.state.campaign import CampaignsScreen
from field_app.state.places import GridsScreen
from field_app.store import Store
from field_app.store.sealed import PREFIX
from field_app.views import business_form, businesses, checklist
from shared.businesses import uscc_check_char
from tests.field_app.conftest import ScreenContext
from tests.field_app.test_matters_store import sign_in
from tests.field_app.test_store import BUILDING, GRID, USER, page, seed, state
from tests.field_app.test_views import KEY, PREFIXES, texts
from tests.photos import camera_jpeg

Ctx = Callable[[Store, str], ScreenContext]
CATERING = "00000000-0000-4000-8000-00000000b0c1"
LODGING = "00000000-0000-4000-8000-00000000b0c2"
ITEMS = {
    "licence": "00000000-0000-4000-8000-00000000c001",
    "fire": "00000000-0000-4000-8000-00000000c002",
    "gas": "00000000-0000-4000-8000-00000000c003",
}
HOTEL_ITEM = "00000000-0000-4000-8000-00000000c101"
CAMPAIGN = "00000000-0000-4000-8000-00000000ca01"
SHOP = "00000000-0000-4000-8000-00000000d001"
HOTEL = "00000000-0000-4000-8000-00000000d002"
CODE = "91350128MA2Y00000"
LICENCE = CODE + uscc_check_char(CODE)


def business_world(store: Store) -> None:
    """Two types with checklists, a catering sweep over the grid, a noodle shop in 8号楼 and a
    hotel at an address, as a pull brings them."""
    texts_ = {"licence": "证照齐全并公示", "fire": "灭火器在有效期内", "gas": "燃气报警器完好"}
    store.apply_pull(
        page(
            state(
                "business_type",
                CATERING,
                code="catering",
                name="餐饮",
                name_en="Catering",
                sort_order=10,
                active=1,
            ),
            state(
                "business_type",
                LODGING,
                code="lodging",
                name="住宿",
                name_en="Lodging",
                sort_order=20,
                active=1,
            ),
            *[
                state(
                    "checklist_item",
                    item_id,
                    business_type_id=CATERING,
                    code=code,
                    text=texts_[code],
                    text_en=f"{code} ok",
                    sort_order=index,
                    active=1,
                )
                for index, (code, item_id) in enumerate(ITEMS.items())
            ],
            state(
                "checklist_item",
                HOTEL_ITEM,
                business_type_id=LODGING,
                code="register",
                text="旅客实名登记",
                text_en="Guests registered",
                sort_order=1,
                active=1,
            ),
            state(
                "campaign",
                CAMPAIGN,
                name="餐饮消防排查整治",
                kind="business_inspection",
                start_date="2026-11-20",
                end_date="2026-12-31",
                grid_id=GRID,
                age_min=None,
                age_max=None,
                residence_statuses=[],
                tags=[],
                business_types=[CATERING],
            ),
            state(
                "business",
                SHOP,
                grid_id=GRID,
                building_id=BUILDING,
                business_type_id=CATERING,
                name="兰州拉面",
                licence_number=None,
                contact_name="马师傅",
                contact_phone="13905910002",
                address="",
                status="open",
            ),
            state(
                "business",
                HOTEL,
                grid_id=GRID,
                building_id=None,
                business_type_id=LODGING,
                name="海坛宾馆",
                licence_number=None,
                contact_name="",
                contact_phone=None,
                address="西大街20号",
                status="open",
            ),
            cursor="businesses",
        )
    )


@pytest.fixture
def ctx(store: Store, screen_ctx: Ctx) -> ScreenContext:
    seed(store)
    business_world(store)
    sign_in(store)
    return screen_ctx(store, USER)


def test_home_opens_the_grids_businesses_by_building_and_search_finds_by_name(
    ctx: ScreenContext,
) -> None:
    home = GridsScreen(ctx)
    assert home.business_counts == (2, 1)
    home.open_businesses()
    screen = ctx.stack[-1]
    assert isinstance(screen, BusinessesScreen)
    assert [
        (place, [i.record.values["name"] for i in items]) for place, items in screen.groups()
    ] == [
        ("海坛路8 8号楼", ["兰州拉面"]),
        ("西大街20号", ["海坛宾馆"]),
    ]
    screen.search("宾馆")
    assert [i.id for i in screen.items] == [HOTEL]
    screen.search("西大街")  # the address too
    assert [i.id for i in screen.items] == [HOTEL]
    screen.search("")
    assert [c.id for c in screen.campaigns] == [CAMPAIGN]


def test_a_business_added_at_the_door_is_saved_offline_with_its_contact_sealed(
    ctx: ScreenContext,
) -> None:
    form = BusinessForm(ctx, grid_id=GRID)
    form.set("name", "老王沙县小吃")
    form.set("business_type_id", CATERING)
    form.set("building_id", BUILDING)
    form.set("licence_number", LICENCE.lower())
    form.set("contact_name", "王建国")
    form.set("contact_phone", "139 0591 0001")
    assert form.unsaved and form.save()
    [op] = [o for o in ctx.store.pending_ops() if o.entity == "business"]
    assert op.fields["grid_id"].new == GRID and op.fields["licence_number"].new == LICENCE
    assert op.fields["contact_phone"].new == "13905910001"
    opened = ctx.stack[-1]
    assert isinstance(opened, BusinessScreen) and opened.record is not None
    assert opened.record.values["contact_name"] == "王建国"
    raw = ctx.store.db.execute(
        "SELECT contact_name, contact_phone FROM business WHERE id = ?", [op.record_id]
    ).fetchone()
    assert all(str(v).startswith(PREFIX) for v in raw), (
        "a copy of the phone's files shows no contact"
    )
    # It is a target of the catering sweep, so its screen offers the check.
    assert [c.id for c in opened.campaigns] == [CAMPAIGN]


def test_a_bad_licence_and_a_missing_name_are_refused_in_words(ctx: ScreenContext) -> None:
    form = BusinessForm(ctx, grid_id=GRID)
    form.set("business_type_id", CATERING)
    form.set("licence_number", LICENCE[:17] + ("0" if LICENCE[17] != "0" else "1"))
    assert not form.save()
    assert set(form.errors) == {"name", "licence_number"}
    t = Translator("zh-CN")
    assert t.field_error(form.errors["name"]) == "商户名称为必填项"
    assert "校验位" in t.field_error(form.errors["licence_number"])
    assert not [o for o in ctx.store.pending_ops() if o.entity == "business"]


def test_the_checklist_asks_for_every_item_and_a_note_on_failure_then_saves_offline(
    ctx: ScreenContext,
) -> None:
    sweep = ToCheckScreen(ctx, CAMPAIGN)
    assert sweep.sweep is not None
    assert [i.id for i in sweep.sweep.items] == [SHOP], "the hotel is not catering"
    sweep.open(SHOP)
    screen = ctx.stack[-1]
    assert isinstance(screen, ChecklistScreen)
    assert [i.id for i in screen.items] == list(ITEMS.values())
    screen.set_result(ITEMS["licence"], "pass")
    assert not screen.save() and "" in screen.errors  # two items unanswered
    screen.set_result(ITEMS["fire"], "fail")
    screen.set_result(ITEMS["gas"], "na")
    assert not screen.save()
    assert set(screen.errors) == {ITEMS["fire"]}  # a failure needs a note
    assert (
        Translator("zh-CN").field_error(screen.errors[ITEMS["fire"]]) == "不合格项须写明存在的问题"
    )
    screen.set_note(ITEMS["fire"], "灭火器已过期")
    screen.add_photo(ITEMS["fire"], camera_jpeg())
    assert screen.save()
    [op] = [o for o in ctx.store.pending_ops() if o.entity == "business_check"]
    results: list[dict[str, Any]] = op.fields["results"].new
    assert [(r["result"], r["note"], len(r["photos"])) for r in results] == [
        ("pass", "", 0),
        ("fail", "灭火器已过期", 1),
        ("na", "", 0),
    ]
    assert ctx.store.photo(results[1]["photos"][0]) is not None, "the photo is kept to upload"
    sweep.refresh()
    assert sweep.sweep is not None
    assert (sweep.sweep.checked, sweep.sweep.problems) == (1, 1)


@dataclass
class Lang:
    language: str


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_business_screen_draws_in_both_languages(ctx: ScreenContext, language: str) -> None:
    t = Translator(language)
    app: Any = Lang(language)
    check = ChecklistScreen(ctx, CAMPAIGN, SHOP)
    check.set_result(ITEMS["fire"], "fail")
    drawn = [
        (lambda: businesses.render(BusinessesScreen(ctx), app, t), "兰州拉面"),
        (lambda: businesses.render_business(BusinessScreen(ctx, SHOP), app, t), "马师傅"),
        (lambda: businesses.render_to_check(ToCheckScreen(ctx, CAMPAIGN), app, t), "兰州拉面"),
        (lambda: business_form.render(BusinessForm(ctx, business_id=SHOP), app, t), ""),
        (lambda: checklist.render(check, app, t), t("check_result.fail")),
    ]
    for build, expected in drawn:
        words = texts(Renderer().render(build))
        leftover = [k for k in KEY.findall(words) if k.split(".")[0] in PREFIXES]
        assert leftover == [], (language, leftover)
        assert expected in words
    assert ("灭火器在有效期内" if language == "zh-CN" else "fire ok") in texts(
        Renderer().render(lambda: checklist.render(check, app, t))
    )


def test_the_campaigns_screen_lists_household_campaigns_beside_a_business_inspection(
    ctx: ScreenContext,
) -> None:
    """A business inspection held on the phone is not a residents' campaign: the campaigns
    screen (its kept counts) opens and leaves it to the businesses screen."""
    home = GridsScreen(ctx)
    home.open_campaigns()
    screen = ctx.stack[-1]
    assert isinstance(screen, CampaignsScreen)
    assert CAMPAIGN not in [item.record.id for item in screen.items]
