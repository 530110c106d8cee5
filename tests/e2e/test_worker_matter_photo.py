"""A worker reports a matter (事项) WITH A PHOTO with no signal, in a real browser: the report's
「添加照片」 opens the browser's file chooser (Flet's web FilePicker clicks a hidden
`<input type="file">`), the worker picks a picture, takes a wrong one off the report, the report
shows the right one's preview, and the matter's page shows its thumbnail while still offline. When the signal returns the matter reaches the server
AND the photo is uploaded (shrunk on the phone, named by its sha256, whole on the server), and
the matter's page opens the photo.

Screenshots go to test-output/screenshots/matter-photo-*.png for a reviewer.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

from tests.e2e.conftest import FlutterPage
from tests.e2e.harness import FieldApp, SyncServer, wait_until

pytestmark = pytest.mark.slow
DESCRIPTION = "楼道堆放杂物堵塞消防通道"
PLACE = "5号楼2单元一楼楼道"
ADMIN_PASSWORD = "gridsweep-demo"
LONG_EDGE = 1600  # the phone shrinks a photo to this long edge (issue 20, item 3)


@pytest.fixture
def app(tmp_path: Path, server: SyncServer) -> Iterator[FieldApp]:
    app = FieldApp(tmp_path, server.url, settings={"GRIDSWEEP_PUSH_DELAY_SECONDS": "1"})
    app.start()
    yield app
    app.stop()


@pytest.fixture
def doorstep_jpeg(tmp_path: Path) -> Path:
    """A camera-sized JPEG (larger than the phone keeps) with something to see in a thumbnail."""
    picture = Image.new("RGB", (2400, 1800), (70, 110, 160))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((300, 500, 2100, 1500), fill=(230, 180, 40))
    draw.ellipse((900, 700, 1500, 1300), fill=(200, 40, 40))
    path = tmp_path / "IMG_0420.jpg"
    picture.save(path, "JPEG", quality=85)
    return path


def test_a_matter_with_a_photo_reported_offline_syncs_and_uploads_the_photo(
    phone: FlutterPage, server: SyncServer, app: FieldApp, doorstep_jpeg: Path
) -> None:
    phone.open(app.url)
    phone.sign_in_worker()

    # --- no signal: report at the door, with a photo from the file picker -------------------------
    server.stop()
    phone.wait_text("离线", timeout=30_000)
    phone.tap(re.compile("件在办"))
    phone.button("上报事项").click()
    phone.button("安全隐患").click()
    phone.type_into("事项描述", DESCRIPTION)
    phone.type_into("地点", PLACE)
    phone.wait_text("照片（0张）")
    # A wrong picture is taken off the report before it is sent, then the right one picked.
    _pick(phone, doorstep_jpeg)
    phone.labelled("移除这张照片").click()
    phone.wait_text("照片（0张）")
    _pick(phone, doorstep_jpeg)
    phone.labelled("移除这张照片").wait_for(timeout=30_000)  # on its preview
    phone.shot("matter-photo-01-report-offline")
    phone.button("上报", exact=True).click()
    phone.wait_text("事项已上报，将同步")
    phone.wait_text(f"安全隐患 · {PLACE}")
    phone.wait_text("1 条待同步")
    phone.wait_text("上报照片")
    thumbnails = phone.button("查看原图")  # each thumbnail opens its photo
    thumbnails.first.wait_for(timeout=30_000)
    assert thumbnails.count() == 1
    phone.shot("matter-photo-02-reported-offline")

    # --- the signal returns: the matter syncs and the photo is uploaded ---------------------------
    server.start()
    phone.wait_text("在线", timeout=30_000)
    if phone.text("已全部同步").is_hidden():
        phone.button("同步").first.click()
    phone.wait_text("已全部同步", timeout=60_000)
    with sqlite3.connect(server.db_path) as db:
        matters = db.execute(
            "SELECT place, state, photos FROM matters WHERE description = ?", [DESCRIPTION]
        ).fetchall()
    assert [(place, state) for place, state, _ in matters] == [(PLACE, "reported")]
    names = json.loads(matters[0][2])
    assert len(names) == 1
    # The photo goes up after the records' sync, on its own pipeline.
    wait_until(lambda: _uploaded(server, names[0]), timeout=60, what="the photo's upload")
    # An admin's signed-in device (personal data goes only to a device) reads it back whole.
    token = httpx.post(
        f"{server.url}/api/v1/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD, "device_id": str(uuid.uuid4())},
    ).json()["access_token"]
    got = httpx.get(
        f"{server.url}/api/v1/photos/{names[0]}", headers={"Authorization": f"Bearer {token}"}
    )
    assert got.status_code == 200, got.text
    assert hashlib.sha256(got.content).hexdigest() == names[0]
    with Image.open(io.BytesIO(got.content)) as held:
        assert held.format == "JPEG"
        assert max(held.size) == LONG_EDGE  # shrunk on the phone, 2400x1800 → 1600x1200
    phone.shot("matter-photo-03-synced")

    # --- the matter's page opens the photo ----------------------------------------------------
    thumbnails.first.click()
    phone.button("关闭").wait_for(timeout=30_000)
    phone.shot("matter-photo-04-opened")


def _uploaded(server: SyncServer, sha256: str) -> bool:
    """Whether the server holds the whole photo named `sha256`."""
    with sqlite3.connect(server.db_path) as db:
        row = db.execute("SELECT complete FROM photos WHERE sha256 = ?", [sha256]).fetchone()
    return bool(row and row[0])


def _pick(phone: FlutterPage, picture: Path) -> None:
    """「添加照片」 opens the browser's file chooser (several pictures allowed); pick one."""
    with phone.page.expect_file_chooser(timeout=30_000) as chooser:
        phone.button("添加照片").click()
    assert chooser.value.is_multiple()
    chooser.value.set_files(str(picture))
    phone.wait_text("照片（1张）")
