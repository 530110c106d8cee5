"""Two phones and the real server: a worker reports a matter with a photo offline at the door;
once it syncs, the community's supervisor's phone receives the matter, then (after the photo has
been uploaded) its thumbnail, shows it on the matter's page and opens the whole photo on
demand; offline, the page says the whole photo needs a connection. The supervisor's phone runs
the app's own background `SyncService`, as on a phone."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from field_app.photos.upload import PhotoUploader
from field_app.state.matters import MatterScreen
from field_app.state.sync_service import SyncService
from field_app.store import Store
from field_app.sync_client import Offline, SyncClient
from shared.clock import MovableClock
from tests.factories import TinyGrid
from tests.field_app.conftest import ScreenContext
from tests.integration.harness import Phone
from tests.photos import camera_jpeg
from tests.sync_server.matter_helpers import CATEGORY, GRID, make_matter_world


def background_service(device: Phone, clock: MovableClock) -> SyncService:
    """The app's sync worker over the phone's store file, stepped by the test (no thread)."""
    with device.store.transaction():
        device.store.meta.server_url = "http://testserver"

    def connect(_url: str, store: Store) -> SyncClient:
        return SyncClient(device.http, store, app_version="test")

    return SyncService(device.path, connect, poll_seconds=3600, clock=clock)


def synced(service: SyncService) -> None:
    assert service.request_sync()
    service.step()
    assert service.status.failure is None, service.status.failure


def test_a_photo_taken_offline_reaches_the_supervisor_s_phone_as_a_thumbnail_then_whole(
    phone: Callable[[str], Phone],
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    clock: MovableClock,
) -> None:
    make_matter_world(session_factory, tiny)
    worker, supervisor = phone("w11"), phone("s1")
    worker.sync()
    service = background_service(supervisor, clock)
    synced(service)

    # At the door, no signal: the matter and its photo are kept together on the worker's phone.
    worker.transport.down = True
    op = worker.store.report_matter(
        {
            "category_id": CATEGORY,
            "description": "楼道堆放杂物，堵住消防通道",
            "grid_id": tiny.nodes[GRID].id,
            "place": "3号楼2单元楼道",
        },
        user_id=worker.user_id,
        photos=[camera_jpeg(1600, 1200)],
    )
    [sha] = worker.store.get("matter", op.record_id).values["photos"]  # type: ignore[union-attr]
    with pytest.raises(Offline):
        worker.sync()
    worker.transport.down = False
    worker.sync()  # the records leave first; the photo waits for its own queue

    # The supervisor's phone gets the matter; its photo is not on the server yet.
    synced(service)
    assert supervisor.store.get("matter", op.record_id) is not None
    thumbs = service.status.thumbs
    assert thumbs is not None and (thumbs.fetched, thumbs.unavailable) == (0, 1)
    assert supervisor.store.photo_picture(sha) is None

    assert PhotoUploader(worker.http, worker.store).run().done == 1
    synced(service)  # nothing new in the records: the missing thumbnail is asked again
    thumbs = service.status.thumbs
    assert thumbs is not None and thumbs.fetched == 1
    ctx = ScreenContext(supervisor.store, supervisor.user_id)
    screen = MatterScreen(ctx, op.record_id)
    assert screen.photos_before == [sha]
    picture = screen.picture(sha)
    assert picture is not None
    with Image.open(io.BytesIO(picture)) as shown:
        assert shown.format == "JPEG" and max(shown.size) == 320

    # Tapped online: the whole photo comes, as the worker's phone kept it.
    screen.open_photo(sha)
    assert ctx.photos_asked == [sha] and screen.viewing_shown == "loading"
    service.fetch_photo(sha)
    service.step()
    screen.photo_fetched(service.status.photo)
    assert screen.viewing_shown == "full"
    assert screen.viewed() == worker.store.photo_bytes(sha)

    # Another phone of the supervisor's, offline: the thumbnail was fetched, the whole photo
    # never opened there; it says the photo needs a connection, and a failed try says the same.
    second = phone("s1")
    second_service = background_service(second, clock)
    synced(second_service)
    assert second.store.photo_picture(sha) is not None
    second.transport.down = True
    second_service.fetch_photo(sha)
    second_service.step()
    result = second_service.status.photo
    assert result is not None and not result.ok and result.offline
    offline_ctx = ScreenContext(second.store, second.user_id)
    offline_ctx.online = False
    offline_screen = MatterScreen(offline_ctx, op.record_id)
    offline_screen.open_photo(sha)
    assert offline_screen.viewing_shown == "offline"
    assert offline_screen.viewed() == second.store.photo_picture(sha)
    service.stop()
    second_service.stop()
