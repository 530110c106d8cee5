"""Others' photos on the phone: thumbnails fetched after a pull for the matters it holds, kept
sealed, shown on the matter's page before and after, forgotten with the matter; the whole photo
on demand, and offline a clear word that it needs a connection. The server is a fake here
(`httpx.MockTransport`); tests/integration/test_matter_thumbs.py runs the real one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import httpx
import pytest
from flet.components.component import Renderer

from field_app.i18n import Translator
from field_app.photos.fetch import PhotoFetcher
from field_app.state.matters import MatterScreen
from field_app.state.sync_service import PhotoFetched
from field_app.store import Store
from field_app.sync_client import Offline, ServerError
from field_app.views import matter as matter_view
from shared.protocol import THUMBS_MEDIA_TYPE, RecordRef
from tests.field_app.conftest import ScreenContext
from tests.field_app.test_matters_store import catalogue, pulled_matter, sign_in
from tests.field_app.test_store import page, seed, state
from tests.field_app.test_views import texts
from tests.photos import noisy_jpeg

MATTER = "00000000-0000-4000-8000-000000000601"
STEP = "00000000-0000-4000-8000-000000000602"
BEFORE, AFTER = noisy_jpeg(11, 200, 150), noisy_jpeg(12, 200, 150)
SHA_BEFORE = hashlib.sha256(BEFORE).hexdigest()
SHA_AFTER = hashlib.sha256(AFTER).hexdigest()
THUMBS = {SHA_BEFORE: b"thumb-of-before", SHA_AFTER: b"thumb-of-after"}


class FakeServer:
    """Answers thumbnails for the names in `thumbs` (the others unavailable) and whole photos
    from `photos`; `down` drops every request; `asked` records each batch of names."""

    def __init__(self) -> None:
        self.thumbs = dict(THUMBS)
        self.photos = {SHA_BEFORE: BEFORE, SHA_AFTER: AFTER}
        self.down = False
        self.asked: list[list[str]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("no signal", request=request)
        if request.url.path == "/api/v1/photos/thumbs":
            names = json.loads(request.content)["sha256"]
            self.asked.append(names)
            got = [n for n in names if n in self.thumbs]
            missing = [n for n in names if n not in self.thumbs]
            return thumbs_answer([(n, self.thumbs[n]) for n in got], missing)
        name = request.url.path.rsplit("/", 1)[-1]
        if name in self.photos:
            return httpx.Response(200, content=self.photos[name])
        return httpx.Response(
            403, json={"type": "about:blank", "title": "no", "status": 403, "code": "out_of_scope"}
        )


def thumbs_answer(thumbs: list[tuple[str, bytes]], missing: list[str]) -> httpx.Response:
    head = {"thumbs": [{"sha256": n, "size": len(d)} for n, d in thumbs], "unavailable": missing}
    body = json.dumps(head).encode() + b"\n" + b"".join(d for _, d in thumbs)
    return httpx.Response(200, content=body, headers={"Content-Type": THUMBS_MEDIA_TYPE})


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def supervisor(store: Store) -> Store:
    seed(store)
    catalogue(store)
    sign_in(store, "user-sup", "supervisor")
    store.meta.token = "token"
    store.apply_pull(
        page(
            pulled_matter(MATTER, state="closing", photos=[SHA_BEFORE]),
            state(
                "matter_step",
                STEP,
                matter_id=MATTER,
                action="apply_close",
                from_state="handling",
                reason="已清理",
                photos=[SHA_AFTER],
                at="2026-11-28T10:00:00.000Z",
            ),
            cursor="m",
        )
    )
    return store


def fetcher(store: Store, server: FakeServer) -> PhotoFetcher:
    http = httpx.Client(transport=httpx.MockTransport(server.handle), base_url="http://server")
    return PhotoFetcher(http, store)


def test_thumbnails_of_a_pull_arrive_sealed_and_a_missing_one_is_asked_again(
    supervisor: Store, server: FakeServer
) -> None:
    assert supervisor.thumbs_wanted() == sorted([SHA_BEFORE, SHA_AFTER])
    del server.thumbs[SHA_AFTER]  # its phone has not uploaded it yet
    report = fetcher(supervisor, server).thumbs()
    assert (report.fetched, report.unavailable, report.requests) == (1, 1, 1)
    assert supervisor.photo_picture(SHA_BEFORE) == THUMBS[SHA_BEFORE]
    assert supervisor.photo_picture(SHA_AFTER) is None
    raw = supervisor.db.execute("SELECT data FROM thumb").fetchall()
    assert raw and all(THUMBS[SHA_BEFORE] not in bytes(r[0]) for r in raw), "kept sealed"
    # The next sync asks for the one still missing only, and gets it now.
    server.thumbs[SHA_AFTER] = THUMBS[SHA_AFTER]
    assert fetcher(supervisor, server).thumbs().fetched == 1
    assert server.asked == [sorted([SHA_BEFORE, SHA_AFTER]), [SHA_AFTER]]
    assert supervisor.thumbs_wanted() == []
    assert fetcher(supervisor, server).thumbs().requests == 0, "nothing left to ask"


def test_a_failed_fetch_keeps_nothing_and_is_retried_next_time(
    supervisor: Store, server: FakeServer
) -> None:
    server.down = True
    report = fetcher(supervisor, server).thumbs()
    assert report.fetched == 0 and report.failed and "fetched" in report.failed
    assert len(supervisor.thumbs_wanted()) == 2
    server.down = False
    assert fetcher(supervisor, server).thumbs().fetched == 2


def test_a_thumbnail_not_asked_for_or_an_answer_cut_short_keeps_nothing(
    supervisor: Store, server: FakeServer
) -> None:
    stray = "e" * 64

    def sneaky(request: httpx.Request) -> httpx.Response:
        return thumbs_answer([(stray, b"not asked for")], [])

    def short(request: httpx.Request) -> httpx.Response:
        answer = thumbs_answer([(SHA_BEFORE, THUMBS[SHA_BEFORE])], [SHA_AFTER])
        return httpx.Response(200, content=answer.content[:-3], headers=answer.headers)

    for handler in (sneaky, short):
        http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://server")
        report = PhotoFetcher(http, supervisor).thumbs()
        assert report.fetched == 0
    assert report.failed is not None and "cut short" in report.failed
    assert supervisor.photo_picture(stray) is None
    assert supervisor.db.execute("SELECT COUNT(*) FROM thumb").fetchone()[0] == 0


def test_thumbnails_are_forgotten_with_the_matter_that_leaves_the_scope(
    supervisor: Store, server: FakeServer
) -> None:
    fetcher(supervisor, server).thumbs()
    fetcher(supervisor, server).full(SHA_BEFORE)
    assert supervisor.full_photo(SHA_BEFORE) == BEFORE
    supervisor.apply_pull(
        page(
            cursor="gone",
            removed=[
                RecordRef(entity="matter", id=MATTER).model_dump(),
                RecordRef(entity="matter_step", id=STEP).model_dump(),
            ],
        )
    )
    assert supervisor.get("matter", MATTER) is None
    assert supervisor.photo_picture(SHA_BEFORE) is None
    assert supervisor.full_photo(SHA_BEFORE) is None
    assert supervisor.db.execute("SELECT COUNT(*) FROM thumb").fetchone()[0] == 0


def test_a_whole_photo_must_be_the_photo_its_name_names(
    supervisor: Store, server: FakeServer
) -> None:
    server.photos[SHA_BEFORE] = AFTER  # a wrong (or tampered) answer
    with pytest.raises(ServerError):
        fetcher(supervisor, server).full(SHA_BEFORE)
    assert supervisor.full_photo(SHA_BEFORE) is None
    server.down = True
    with pytest.raises(Offline):
        fetcher(supervisor, server).full(SHA_AFTER)


Ctx = Callable[[Store, str], ScreenContext]


def drawn_text(screen: MatterScreen, language: str) -> str:
    t = Translator(language)
    return texts(Renderer().render(lambda: matter_view.render(screen, None, t)))  # type: ignore[arg-type]


def test_the_matter_page_shows_before_and_after_and_opens_the_whole_photo(
    supervisor: Store, server: FakeServer, screen_ctx: Ctx
) -> None:
    ctx = screen_ctx(supervisor, "user-sup")
    screen = MatterScreen(ctx, MATTER)
    assert (screen.photos_before, screen.photos_after) == ([SHA_BEFORE], [SHA_AFTER])
    assert screen.picture(SHA_BEFORE) is None
    assert "照片还没到" in drawn_text(screen, "zh-CN"), "a photo not yet here says so"
    fetcher(supervisor, server).thumbs()
    screen.photo_fetched(None)  # the app tells the screen pictures arrived
    assert screen.picture(SHA_BEFORE) == THUMBS[SHA_BEFORE]
    page_text = drawn_text(screen, "zh-CN")
    assert "上报照片" in page_text and "结单照片" in page_text
    assert "照片还没到" not in page_text

    # Online: tapping asks for the whole photo; the thumbnail shows while it comes.
    screen.open_photo(SHA_AFTER)
    assert ctx.photos_asked == [SHA_AFTER] and screen.viewing_shown == "loading"
    assert screen.viewed() == THUMBS[SHA_AFTER]
    assert "正在下载原图" in drawn_text(screen, "zh-CN")
    fetcher(supervisor, server).full(SHA_AFTER)
    screen.photo_fetched(PhotoFetched(SHA_AFTER, ok=True))
    assert screen.viewing_shown == "full" and screen.viewed() == AFTER
    # Opened again later (offline even): it is kept, nothing is asked.
    screen.close_photo()
    ctx.online = False
    screen.open_photo(SHA_AFTER)
    assert screen.viewing_shown == "full" and ctx.photos_asked == [SHA_AFTER]


def test_offline_the_page_says_the_whole_photo_needs_a_connection(
    supervisor: Store, server: FakeServer, screen_ctx: Ctx
) -> None:
    fetcher(supervisor, server).thumbs()
    ctx = screen_ctx(supervisor, "user-sup")
    ctx.online = False
    screen = MatterScreen(ctx, MATTER)
    screen.open_photo(SHA_BEFORE)
    assert screen.viewing_shown == "offline" and screen.viewed() == THUMBS[SHA_BEFORE]
    assert "查看原图需要联网" in drawn_text(screen, "zh-CN")
    assert "needs a connection" in drawn_text(screen, "en")
    # Online, but the connection drops during the download: the same words.
    ctx.online = True
    screen.open_photo(SHA_BEFORE)
    screen.photo_fetched(PhotoFetched(SHA_BEFORE, ok=False, offline=True))
    assert screen.viewing_shown == "offline"
    # A photo this matter does not name is not opened.
    screen.open_photo("f" * 64)
    assert screen.viewing == SHA_BEFORE
