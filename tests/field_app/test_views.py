"""Every screen builds its Flet controls from its view-model, in both languages, with no Flutter
client: a typo in a view fails here, not at a door. (The browser tests drive the real thing.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flet as ft
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flet.components.component import Renderer
from sqlalchemy.orm import Session, sessionmaker

from field_app.i18n import CATALOGUES, Translator
from field_app.state import (
    BusinessesScreen,
    BusinessForm,
    CampaignsScreen,
    ChecklistScreen,
    MatterReportForm,
    MatterScreen,
    MattersScreen,
    MissedScreen,
    Screen,
    ToCheckScreen,
)
from field_app.views import widgets
from field_app.views.app import SCREENS, app_bar
from shared.protocol import PullResponse, RecordState
from sync_server.config import Settings
from sync_server.main import create_app
from tests.factories import make_tiny_grid
from tests.field_app.app_harness import Device
from tests.field_app.test_view_models import walk_to_house
from tests.photos import camera_jpeg
from tests.sync_server.business_helpers import make_business_world
from tests.sync_server.campaign_helpers import create_campaign


@pytest.fixture
def phone(
    settings: Settings, session_factory: sessionmaker[Session], tmp_path: Path
) -> Iterator[Device]:
    with session_factory() as session, session.begin():
        tiny = make_tiny_grid(session)
    make_business_world(session_factory, tiny)  # the businesses' and checklist screens
    app: FastAPI = create_app(settings)
    create_campaign(TestClient(app), "T1-1-1-1")  # the campaigns and missed-list screens
    device = Device(app, tmp_path / "device.db")
    yield device
    device.close()
    app.state.engine.dispose()


CATEGORY = "00000000-0000-4000-8000-0000000000e1"
KEY = re.compile(r"\b[a-z_]+\.[a-z_.]+\b")
PREFIXES = {key.split(".")[0] for key in CATALOGUES["zh-CN"]}
# Chinese UI sentences (not data, not templates) that must not show on an English screen.
ZH_UI = [v for v in CATALOGUES["zh-CN"].values() if "{" not in v and len(v) >= 3 and v != "English"]


def render(device: Device, language: str) -> list[ft.Control]:
    t = Translator(language)
    screen = device.vm.screen

    def build() -> list[ft.Control]:
        controls = SCREENS[screen.kind](screen, device.vm, t)
        controls.append(app_bar(device.vm, screen, t))
        controls.append(widgets.status_strip(device.vm, t))
        banner = widgets.flash_banner(device.vm, t)
        return controls + ([banner] if banner else [])

    return Renderer().render(build)  # type: ignore[no-any-return]


def texts(controls: Any) -> str:
    """All literal text in a control tree (Text values, button contents, labels)."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, ft.BaseControl):
            for name in ("value", "content", "label", "title", "controls", "actions", "leading",
                         "text", "error", "hint_text"):  # fmt: skip
                walk(getattr(value, name, None))
            for name in ("kwargs",):  # components: their props
                props = getattr(value, name, None)
                if isinstance(props, dict):
                    walk(list(props.values()))

    walk(controls)
    return " ".join(out)


def visit_every_screen(device: Device) -> Iterator[Screen]:
    yield device.vm.screen  # setup
    device.sign_in("w11")
    yield device.vm.screen  # grids
    house = walk_to_house(device, "0301")
    yield from device.vm.stack[1:]
    house.record_visit()
    yield device.vm.screen
    device.vm.back()
    house.add_resident()
    yield device.vm.screen
    device.vm.back()
    house.open_resident(house.occupants[0].resident.id)
    yield device.vm.screen
    resident = device.vm.screen
    resident.edit()  # type: ignore[attr-defined]
    yield device.vm.screen
    device.vm.back()
    resident.move()  # type: ignore[attr-defined]
    device.vm.screen.set_mode("to")  # type: ignore[attr-defined]
    device.vm.screen.search("01")  # type: ignore[attr-defined]
    yield device.vm.screen
    device.vm.open_search()
    device.vm.screen.set_query("zhang")  # type: ignore[attr-defined]
    yield device.vm.screen
    device.vm.open_sync()
    yield device.vm.screen
    device.vm.home()
    device.vm.screen.open_campaigns()  # type: ignore[attr-defined]
    campaigns = device.vm.screen
    assert isinstance(campaigns, CampaignsScreen) and campaigns.items
    yield campaigns
    campaigns.open(campaigns.items[0].record.id)
    missed = device.vm.screen
    assert isinstance(missed, MissedScreen) and missed.missed
    yield missed
    missed.start_outcome(sorted(missed.missed)[0])
    missed.choose("not_home")
    yield missed
    yield from visit_matters(device)
    yield from visit_businesses(device)


def visit_businesses(device: Device) -> Iterator[Screen]:
    """Businesses: the grid's list, adding one at a building, its screen, the sweep's to-check
    list and the checklist with a failed item."""
    device.vm.home()
    device.vm.screen.open_businesses()  # type: ignore[attr-defined]
    listing = device.vm.screen
    assert isinstance(listing, BusinessesScreen) and listing.campaigns
    listing.add()
    form = device.vm.screen
    assert isinstance(form, BusinessForm)
    yield form
    form.set("name", "老王沙县小吃")
    form.set("business_type_id", form.types[0].id)
    form.set("building_id", form.buildings[0].id)
    assert form.save()
    yield device.vm.screen  # the new business
    device.vm.back()
    yield device.vm.screen  # the list, with it
    listing.open_campaign(listing.campaigns[0].id)
    to_check = device.vm.screen
    assert isinstance(to_check, ToCheckScreen) and to_check.sweep and to_check.sweep.items
    yield to_check
    to_check.open(to_check.sweep.items[0].id)
    checklist = device.vm.screen
    assert isinstance(checklist, ChecklistScreen) and checklist.items
    checklist.set_result(checklist.items[0].id, "fail")
    yield checklist


def visit_matters(device: Device) -> Iterator[Screen]:
    """The matters' screens, on a phone offline with one category pulled."""
    device.transport.down = True
    store = device.store
    store.apply_pull(
        PullResponse(
            records=[
                RecordState(
                    entity="matter_category",
                    id=CATEGORY,
                    version=1,
                    values={"name": "环境卫生", "time_limit_hours": 72, "active": 1},
                )
            ],
            scope=store.meta.scope,
            cursor=store.meta.cursor or "",
            has_more=False,
            phase="changes",
            server_hlc=store.meta.hlc or "",
        )
    )
    device.vm.home()
    device.vm.discard()  # the outcome being recorded on the missed list
    device.vm.screen.open_matters()  # type: ignore[attr-defined]
    matters = device.vm.screen
    assert isinstance(matters, MattersScreen)
    yield matters
    matters.report()
    form = device.vm.screen
    assert isinstance(form, MatterReportForm)
    form.set("description", "楼道堆放杂物")
    assert not form.save()
    yield form
    form.set("category_id", CATEGORY)
    assert form.save()
    matter = device.vm.screen
    assert isinstance(matter, MatterScreen) and matter.can_edit
    yield matter
    matter.edit()
    yield device.vm.screen  # the same form, correcting what the matter says


def test_every_screen_renders_in_both_languages(phone: Device) -> None:
    seen = set()
    for screen in visit_every_screen(phone):
        stack, top = list(phone.vm.stack), phone.vm.screen
        phone.vm.stack = (
            [*stack[: stack.index(screen) + 1]] if screen in stack else [*stack, screen]
        )
        for language in ("zh-CN", "en"):
            words = texts(render(phone, language))
            assert words, screen.kind
            leftover = [k for k in KEY.findall(words) if k.split(".")[0] in PREFIXES]
            assert leftover == [], (screen.kind, language, leftover)
            if language == "en":
                chinese_ui = [v for v in ZH_UI if v in words]
                assert chinese_ui == [], (screen.kind, chinese_ui)
        phone.vm.stack = stack
        assert phone.vm.screen is top
        seen.add(screen.kind)
    assert seen == set(SCREENS), sorted(set(SCREENS) - seen)


def test_the_status_strip_shows_offline_and_waiting_changes(phone: Device) -> None:
    phone.sign_in("w11")
    phone.transport.down = True
    phone.work()
    house = walk_to_house(phone, "0201")
    house.open_resident(house.occupants[0].resident.id)
    phone.vm.screen.toggle_tag("disabled")  # type: ignore[attr-defined]
    strip = texts(Renderer().render(lambda: widgets.status_strip(phone.vm, Translator("zh-CN"))))
    assert "离线" in strip and "1 条待同步" in strip
    strip = texts(Renderer().render(lambda: widgets.status_strip(phone.vm, Translator("en"))))
    assert "Offline" in strip and "1 waiting to sync" in strip


def test_ids_are_masked_on_screens_until_opened(phone: Device) -> None:
    phone.sign_in("w11")
    house = walk_to_house(phone, "0201")
    number = house.occupants[0].resident["id_number"]
    assert number not in texts(render(phone, "zh-CN"))
    assert number[-4:] in texts(render(phone, "zh-CN"))
    house.open_resident(house.occupants[0].resident.id)
    assert number not in texts(render(phone, "zh-CN"))
    phone.vm.screen.toggle_id()  # type: ignore[attr-defined]
    assert number in texts(render(phone, "zh-CN"))


def find(controls: Any, key: str) -> ft.BaseControl:
    """The control with `key` in a rendered tree."""
    stack = [controls]
    while stack:
        value = stack.pop()
        if isinstance(value, list | tuple):
            stack.extend(value)
        elif isinstance(value, ft.BaseControl):
            if getattr(value, "key", None) == key:
                return value
            for name in ("content", "controls", "actions", "leading", "title"):
                stack.append(getattr(value, name, None))
    raise AssertionError(f"no control with key {key!r}")


def click(control: ft.BaseControl) -> None:
    """Call on_click as Flet does: with the event when the handler takes a parameter."""
    from flet.utils import get_param_count

    handler = control.on_click  # type: ignore[attr-defined]
    if get_param_count(handler) == 0:
        handler()
    else:
        handler(ft.ControlEvent(control=control, name="click", data=None))


def test_buttons_do_what_they_say_when_flet_calls_them(phone: Device) -> None:
    phone.sign_in("w11")
    house = walk_to_house(phone, "0201")
    click(find(render(phone, "zh-CN"), "record-visit"))
    assert phone.vm.screen.kind == "visit"
    assert phone.vm.screen.resident_id is None  # type: ignore[attr-defined]
    phone.vm.back()
    click(find(render(phone, "zh-CN"), "add-resident"))
    assert phone.vm.screen.kind == "resident_form"
    phone.vm.back()
    house.open_resident(house.occupants[0].resident.id)
    for key, kind in (("edit-resident", "resident_form"), ("move-resident", "move"),
                      ("visit-resident", "visit")):  # fmt: skip
        click(find(render(phone, "zh-CN"), key))
        assert phone.vm.screen.kind == kind
        phone.vm.back()
    click(find(render(phone, "zh-CN"), "toggle-id"))
    assert phone.vm.screen.id_revealed  # type: ignore[attr-defined]
    click(find(render(phone, "zh-CN"), "sync-button"))
    assert not phone.service.request_sync(), "the button queued a sync"
    click(find(render(phone, "zh-CN"), "switch-language"))
    assert phone.vm.language == "en"


def keys_in_order(controls: Any) -> list[str]:
    """Every control key of a rendered tree, top to bottom."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, ft.BaseControl):
            if isinstance(getattr(value, "key", None), str):
                out.append(value.key)  # type: ignore[arg-type]
            for name in ("content", "controls", "actions", "leading", "title"):
                walk(getattr(value, name, None))

    walk(controls)
    return out


def test_the_missed_list_opens_the_outcome_form_under_the_person_tapped(phone: Device) -> None:
    phone.sign_in("w11")
    phone.vm.screen.open_campaigns()  # type: ignore[attr-defined]
    campaigns = phone.vm.screen
    assert isinstance(campaigns, CampaignsScreen)
    campaigns.open(campaigns.items[0].record.id)
    missed = phone.vm.screen
    assert isinstance(missed, MissedScreen)
    order = [k for k in keys_in_order(render(phone, "zh-CN")) if k.startswith("missed-")]
    people = [k.removeprefix("missed-") for k in order if not k.startswith("missed-facts")]
    people = [p for p in people if p in missed.missed]
    assert len(people) >= 3
    last = people[-1]
    click(find(render(phone, "zh-CN"), f"record-{last}"))
    keys = keys_in_order(render(phone, "zh-CN"))
    assert keys.index("outcome-dialog") > keys.index(f"missed-{last}"), "not at the top"
    after = keys[keys.index(f"missed-{last}") + 1 :]
    below = [k for k in after if k.startswith("missed-") and last not in k]
    assert not below or keys.index("outcome-dialog") < keys.index(below[0])

    person = missed.people[last]
    facts = texts(find(render(phone, "zh-CN"), f"missed-facts-{last}"))
    assert person.age is not None and f"{person.age}岁" in facts
    assert ("男" if person.sex == "M" else "女") in facts
    if person.phone:
        assert person.phone in facts
        call = find(render(phone, "zh-CN"), f"call-{last}")
        assert call.url == f"tel:{person.phone}"  # type: ignore[attr-defined]
        assert call.height >= 48  # type: ignore[attr-defined]
    assert find(render(phone, "zh-CN"), f"record-{last}").height >= 48  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("language", "failed", "sent"),
    [
        ("en", "Photos not sent: 1", "Photos sent: 1"),
        ("zh-CN", "1 张照片未能上传", "已上传 1 张照片"),
    ],
)
def test_the_sync_screen_says_when_a_photo_could_not_be_sent_and_when_it_was(
    phone: Device, language: str, failed: str, sent: str
) -> None:
    phone.sign_in("w11")
    phone.store.add_photo(camera_jpeg(800, 600))
    phone.vm.open_sync()
    phone.transport.photo_cuts = [(0, "request")] * 4  # every try of the first chunk drops
    phone.service.request_sync()
    phone.work()
    assert failed in texts(render(phone, language))
    phone.service.request_sync()
    phone.work()
    strip = texts(render(phone, language))
    assert sent in strip and failed not in strip
