"""The matters' screens driven through their view-models: the home entry with counts, reporting
from a house with a photo, a matter's actions by role (a worker rates a closed one, a handler
claims and applies to close an order), and a refused claim shown with who moved it."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from flet.components.component import Renderer
from PIL import Image

from field_app.i18n import CATALOGUES, Msg, Translator
from field_app.state.house import HouseScreen
from field_app.state.matters import MatterReportForm, MatterScreen, MattersScreen
from field_app.state.places import GridsScreen
from field_app.state.problems import SyncScreen
from field_app.store import Store, ValidationFailed
from field_app.views import matter as matter_view
from shared.matters import MatterAction, MatterState
from shared.protocol import OpResult
from tests.days import NOW
from tests.field_app.conftest import ScreenContext
from tests.field_app.test_matters_store import (
    CATEGORY,
    HANDLER,
    ORG,
    catalogue,
    pulled_matter,
    sign_in,
)
from tests.field_app.test_store import GRID, HOUSE, USER, page, seed
from tests.field_app.test_store import state as record_state
from tests.field_app.test_views import KEY, PREFIXES, texts
from tests.photos import camera_jpeg

Ctx = Callable[[Store, str], ScreenContext]
MATTER = "00000000-0000-4000-8000-000000000501"


@pytest.fixture
def worker_ctx(store: Store, screen_ctx: Ctx) -> ScreenContext:
    seed(store)
    catalogue(store)
    sign_in(store)
    return screen_ctx(store, USER)


@pytest.fixture
def handler_ctx(store: Store, screen_ctx: Ctx) -> ScreenContext:
    seed(store)
    catalogue(store)
    sign_in(store, HANDLER, "handler", org_id=ORG)
    return screen_ctx(store, HANDLER)


def test_home_counts_open_and_overdue_matters_and_opens_the_list(worker_ctx: ScreenContext) -> None:
    worker_ctx.store.apply_pull(
        page(pulled_matter(MATTER, due_at=(NOW - timedelta(hours=1)).isoformat()), cursor="m")
    )
    home = GridsScreen(worker_ctx)
    assert (home.matter_counts.open, home.matter_counts.overdue) == (1, 1)
    home.open_matters()
    matters = worker_ctx.stack[-1]
    assert isinstance(matters, MattersScreen)
    assert matters.scopes == ("grids", "mine") and matters.can_report
    [item] = matters.items
    assert item.overdue and matters.title_of(item) == "安全隐患 · 海坛路8号楼"
    matters.set_state(MatterState.CLOSED.value)
    assert matters.items == []
    matters.set_scope("mine")
    assert [m.id for m in matters.items] == [MATTER], "I reported it (state_by is me)"


def test_reporting_from_a_house_with_a_photo(worker_ctx: ScreenContext) -> None:
    house = HouseScreen(worker_ctx, HOUSE)
    worker_ctx.push(house)
    house.report_matter()
    form = worker_ctx.stack[-1]
    assert isinstance(form, MatterReportForm)
    assert form.values["grid_id"] == GRID and not form.unsaved
    assert [c.values["name"] for c in form.categories] == ["安全隐患", "设施维修"]

    form.set("description", "楼道堆放杂物，堵塞消防通道")
    assert form.unsaved and not form.save()
    assert set(form.errors) == {"category_id"}, "the category is asked for, nothing written"
    assert worker_ctx.store.pending_ops() == []

    form.set("category_id", CATEGORY)
    form.set("urgency", "urgent")
    form.add_photo(camera_jpeg(800, 600))
    assert form.save()
    screen = worker_ctx.stack[-1]
    assert isinstance(screen, MatterScreen) and worker_ctx.flashes == [Msg("flash.matter_reported")]
    assert screen.detail is not None
    shown = screen.detail.item.shown
    assert shown["state"] == "reported" and shown["urgency"] == "urgent"
    [sha] = shown["photos"]
    photo = worker_ctx.store.photo(sha)
    assert photo is not None and photo.state == "pending", "kept with the matter, to upload"
    assert screen.actions == [], "a worker waits for the community to accept it"


def test_a_wrong_picture_taken_off_the_report_is_not_sent(worker_ctx: ScreenContext) -> None:
    house = HouseScreen(worker_ctx, HOUSE)
    worker_ctx.push(house)
    house.report_matter()
    form = worker_ctx.stack[-1]
    assert isinstance(form, MatterReportForm)
    form.set("category_id", CATEGORY)
    form.set("description", "楼道堆放杂物，堵塞消防通道")
    wrong, right = camera_jpeg(800, 600), camera_jpeg(640, 480)
    form.add_photo(wrong)
    form.add_photo(right)
    form.remove_photo(0)
    form.remove_photo(5)  # a stale tap on a preview already gone changes nothing
    assert form.photos == [right]
    assert form.save()
    screen = worker_ctx.stack[-1]
    assert isinstance(screen, MatterScreen) and screen.detail is not None
    [sha] = screen.detail.item.shown["photos"]
    held = worker_ctx.store.photo_bytes(sha)
    assert held is not None and Image.open(io.BytesIO(held)).size == (640, 480)


def test_a_reported_matter_is_corrected_until_the_community_accepts_it(
    worker_ctx: ScreenContext,
) -> None:
    store = worker_ctx.store
    op = store.report_matter(
        {"category_id": CATEGORY, "description": "路灯不亮", "grid_id": GRID}, user_id=USER
    )
    screen = MatterScreen(worker_ctx, op.record_id)
    worker_ctx.push(screen)
    assert screen.can_edit
    screen.edit()
    form = worker_ctx.stack[-1]
    assert isinstance(form, MatterReportForm) and form.values["description"] == "路灯不亮"
    form.set("description", "3号楼前路灯不亮，夜间行人摔倒")
    form.set("urgency", "urgent")
    form.add_photo(camera_jpeg(640, 480))
    assert form.save() and worker_ctx.stack[-1] is screen
    assert worker_ctx.flashes[-1] == Msg("flash.matter_edited")
    assert screen.detail is not None
    shown = screen.detail.item.shown
    assert shown["description"].startswith("3号楼前") and shown["urgency"] == "urgent"
    assert len(shown["photos"]) == 1

    # Accepted on the server: from now on its life goes through steps.
    store.record_results(
        [
            OpResult(
                op_id=o.op_id,
                status="applied",
                entity="matter",
                record_id=o.record_id,
                version=i + 1,
            )
            for i, o in enumerate(store.pending_ops())
        ]
    )
    store.apply_pull(
        page(pulled_matter(op.record_id, 3, state="accepted", state_by="sup-1"), cursor="m")
    )
    screen.refresh()
    assert not screen.can_edit
    with pytest.raises(ValidationFailed) as refused:
        store.edit_matter(op.record_id, {"description": "x"}, user_id=USER)
    assert refused.value.errors[0].code == "matter_not_editable"


def test_a_worker_records_the_residents_rating_of_a_closed_matter(
    worker_ctx: ScreenContext,
) -> None:
    worker_ctx.store.apply_pull(page(pulled_matter(MATTER, state="closed"), cursor="m"))
    screen = MatterScreen(worker_ctx, MATTER)
    assert screen.actions == [MatterAction.RATE.value]
    screen.start("rate")
    assert screen.form is not None and screen.form.inputs == ("rating", "comment")
    assert not screen.submit()
    assert set(screen.form.errors) == {"rating"}
    error = screen.form.errors["rating"]
    assert Translator("zh-CN").field_error(error) == "评价应为1到5分"
    assert Translator("en").field_error(error) == "A rating is a whole number from 1 to 5."
    screen.set_rating(5)
    screen.set_comment("处理很快")
    assert screen.unsaved
    assert screen.submit() and screen.form is None
    assert worker_ctx.flashes[-1] == Msg("flash.step.rate")
    assert screen.detail is not None and screen.detail.item.shown["rating"] == 5
    assert screen.actions == [], "rated once"
    [step] = screen.detail.steps
    assert step.pending and step.record.values["comment"] == "处理很快"


def test_a_handler_claims_an_order_offline_and_is_told_when_another_was_first(
    handler_ctx: ScreenContext,
) -> None:
    store = handler_ctx.store
    store.apply_pull(page(pulled_matter(MATTER, state="published", state_by="sup-1"), cursor="m"))
    home = GridsScreen(handler_ctx)
    assert home.matter_scope == "claim" and home.matter_counts.claimable == 1
    home.open_matters()
    matters = handler_ctx.stack[-1]
    assert isinstance(matters, MattersScreen)
    assert matters.scopes == ("claim", "orders") and not matters.can_report
    matters.open(MATTER)
    screen = handler_ctx.stack[-1]
    assert isinstance(screen, MatterScreen) and screen.actions == ["claim"]
    screen.start("claim")  # nothing to fill in: taken at once
    assert screen.detail is not None and screen.detail.item.state == "claimed"
    assert screen.actions == ["start", "apply_close"]
    screen.start("apply_close")
    assert not screen.submit()
    assert screen.form is not None and "reason" in screen.form.errors
    screen.cancel()

    [op] = store.pending_ops()
    store.record_results(
        [
            OpResult(
                op_id=op.op_id,
                status="rejected",
                entity="matter_step",
                record_id=op.record_id,
                code="stale_transition",
                reason="The matter is no longer published: it is claimed, moved by 李四 at 10:02.",
            )
        ]
    )
    screen.refresh()
    [rejected] = screen.rejected
    assert "李四" in (rejected.reason or "") and screen.actions == ["claim"]
    sync_screen = SyncScreen(handler_ctx)
    [problem] = sync_screen.problems
    assert sync_screen.subject(problem) == "楼道飞线充电 · 海坛路8号楼", "which matter, in words"
    sync_screen.open(op.op_id)
    assert isinstance(handler_ctx.stack[-1], MatterScreen)
    screen.dismiss_rejected(op.op_id)
    assert screen.rejected == []


def test_a_handler_applies_to_close_with_a_photo_and_a_work_note(
    handler_ctx: ScreenContext,
) -> None:
    store = handler_ctx.store
    store.apply_pull(
        page(
            pulled_matter(MATTER, state="handling", state_by=HANDLER, assignee_user_id=HANDLER),
            cursor="m",
        )
    )
    screen = MatterScreen(handler_ctx, MATTER)
    assert screen.actions == ["apply_close"]
    screen.start("apply_close")
    screen.set_reason("已清理楼道杂物，恢复消防通道畅通")
    assert not screen.submit()
    assert screen.form is not None and set(screen.form.errors) == {"photos"}
    screen.add_photo(camera_jpeg(640, 480))
    assert screen.submit()
    assert screen.detail is not None and screen.detail.item.state == "closing"
    [step] = screen.detail.steps
    [sha] = step.record.values["photos"]
    assert store.photo(sha) is not None, "the photo is kept with the step, to upload"
    assert screen.actions == [], "the supervisor verifies it now"


def test_every_matter_text_exists_in_both_languages() -> None:
    for language in CATALOGUES:
        t = Translator(language)
        for state in MatterState:
            assert t.choice("matter_state", state.value) != state.value
        for action in MatterAction:
            assert t.choice("matter_action", action.value) != action.value
            assert t(f"flash.step.{action.value}") != f"flash.step.{action.value}"


@pytest.mark.parametrize(
    ("action", "role", "state"),
    [
        ("rate", "worker", "closed"),
        ("dispatch", "supervisor", "accepted"),
        ("decline", "admin", "reported"),
        ("apply_close", "handler", "claimed"),
    ],
)
def test_each_step_form_draws_in_both_languages(
    store: Store, screen_ctx: Ctx, action: str, role: str, state: str
) -> None:
    seed(store)
    catalogue(store)
    sign_in(store, "user-x", role)
    ctx = screen_ctx(store, "user-x")
    store.apply_pull(
        page(pulled_matter(MATTER, state=state, assignee_user_id="user-x"), cursor="m")
    )
    screen = MatterScreen(ctx, MATTER)
    screen.start(action)
    assert screen.form is not None and screen.form.action == action
    for language in ("zh-CN", "en"):
        t = Translator(language)
        drawn = Renderer().render(lambda t=t: matter_view.render(screen, None, t))  # type: ignore[arg-type]
        words = texts(drawn)
        leftover = [k for k in KEY.findall(words) if k.split(".")[0] in PREFIXES]
        assert leftover == [], (action, language, leftover)
        assert t.choice("matter_action", action) in words


COMMUNITY = "00000000-0000-4000-8000-000000000004"
SUPERVISOR = "user-supervisor"


def people(*entries: tuple[str, str, str, list[str]]) -> list[dict[str, object]]:
    return [
        {"id": i, "name": n, "role": r, "org_id": None, "communities": c} for i, n, r, c in entries
    ]


@pytest.fixture
def supervisor_ctx(store: Store, screen_ctx: Ctx) -> ScreenContext:
    seed(store)
    catalogue(store)
    sign_in(store, SUPERVISOR, "supervisor", grids=[GRID], display_name="陈主任")
    # The grid sits in a community; the server's directory names who may be dispatched to.
    store.apply_pull(
        page(
            record_state(
                "grid_node", COMMUNITY, level=4, code="G4", name="海坛社区", parent_id=None
            ),
            record_state(
                "grid_node", GRID, 2, level=5, code="G5-01", name="一网格", parent_id=COMMUNITY
            ),
            record_state(
                "org", OTHER_ORG, name="别的社区水务站", kind="water", grid_id="elsewhere"
            ),
            cursor="people",
            people=people(
                (HANDLER, "张三", "handler", [COMMUNITY]),
                (USER, "王网格", "worker", [COMMUNITY]),
                ("user-far", "远处的人", "handler", ["elsewhere"]),
                ("user-old", "李四", "supervisor", []),
            ),
        )
    )
    return screen_ctx(store, SUPERVISOR)


OTHER_ORG = "00000000-0000-4000-8000-0000000000f2"


def test_a_supervisor_dispatches_to_a_named_person_of_the_community_offline(
    supervisor_ctx: ScreenContext,
) -> None:
    store = supervisor_ctx.store
    store.apply_pull(page(pulled_matter(MATTER, state="accepted", state_by="user-old"), cursor="m"))
    screen = MatterScreen(supervisor_ctx, MATTER)
    # The buttons come from the one table: a supervisor runs the case.
    assert screen.actions == ["dispatch", "publish"]
    assert [p.name for p in screen.people] == ["张三", "王网格"], "this community's, by name"
    assert [o.id for o in screen.orgs] == [ORG], "units of this community or of none"
    screen.start("dispatch")
    screen.set_person("user-far")  # someone of another community: not offered, not taken
    screen.set_org(OTHER_ORG)
    assert screen.form is not None and (screen.form.user_id, screen.form.org_id) == ("", "")
    assert not screen.submit() and "org_id" in screen.form.errors
    screen.set_person(HANDLER)
    assert screen.submit()
    [op] = store.pending_ops()
    assert op.fields["user_id"].new == HANDLER and "org_id" not in op.fields
    assert screen.detail is not None and screen.detail.item.state == "dispatched"

    # Drawn in both languages: the person by name and role.
    screen.start("publish")
    screen.cancel()
    again = MatterScreen(supervisor_ctx, MATTER)
    assert again.actions == [], "dispatched: nothing left for the supervisor until it is done"


def test_a_refused_step_names_who_moved_it_by_name_in_both_languages(
    supervisor_ctx: ScreenContext,
) -> None:
    store = supervisor_ctx.store
    store.apply_pull(page(pulled_matter(MATTER, state="accepted", state_by="user-old"), cursor="m"))
    screen = MatterScreen(supervisor_ctx, MATTER)
    screen.start("publish")
    [op] = store.pending_ops()
    # Meanwhile 张三 took it (the pull after the push brings the matter as it is).
    moved_at = "2026-12-07T06:05:00+00:00"
    store.apply_pull(
        page(
            pulled_matter(
                MATTER,
                2,
                state="claimed",
                state_by=HANDLER,
                state_at=moved_at,
                assignee_user_id=HANDLER,
            ),
            cursor="m2",
        )
    )
    store.record_results(
        [
            OpResult(
                op_id=op.op_id,
                status="rejected",
                entity="matter_step",
                record_id=op.record_id,
                code="stale_transition",
                reason=f"The matter is no longer Accepted: user-handler made it Claimed on {moved_at}",
            )
        ]
    )
    screen.refresh()
    [problem] = screen.rejected
    refused = screen.refusal(problem)
    assert refused is not None
    assert screen.refusal_words(refused, "zh-CN") == (
        "事项已不是“已立案”：张三已于 12月7日 14:05 将其改为“已接单”"
    )
    assert screen.refusal_words(refused, "en") == (
        "The matter is no longer Accepted: 张三 made it Claimed on 7 Dec 14:05."
    )
    for language, words in (("zh-CN", "张三已于 12月7日 14:05"), ("en", "张三 made it Claimed")):
        t = Translator(language)
        drawn = Renderer().render(lambda t=t: matter_view.render(screen, None, t))  # type: ignore[arg-type]
        assert words in texts(drawn)


def test_the_dispatch_form_offers_the_communitys_people_by_name_and_role(
    supervisor_ctx: ScreenContext,
) -> None:
    store = supervisor_ctx.store
    store.apply_pull(page(pulled_matter(MATTER, state="accepted", state_by="user-old"), cursor="m"))
    screen = MatterScreen(supervisor_ctx, MATTER)
    screen.start("dispatch")
    for language, words in (("zh-CN", "张三（承办人员）"), ("en", "张三 (Handler)")):
        t = Translator(language)
        drawn = texts(Renderer().render(lambda t=t: matter_view.render(screen, None, t)))  # type: ignore[arg-type]
        assert words in drawn and "远处的人" not in drawn
