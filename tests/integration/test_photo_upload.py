"""Photos from a phone's store to the server (field_app/photos/upload.py against the real app):
resumable after a connection drops at any byte, idempotent, verified by sha256, limited, and
shown only to whom may see them."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from PIL import Image

from field_app.photos import shrink
from field_app.photos.upload import PhotoUploader
from shared.clock import MovableClock
from sync_server.config import Settings
from sync_server.main import create_app
from sync_server.services.photos import full_key
from tests.factories import PASSWORD
from tests.integration.harness import Phone
from tests.photos import noisy_jpeg

CHUNK = 32 * 1024
URL = "/api/v1/photos"


def _auth(phone: Phone) -> dict[str, str]:
    return {"Authorization": f"Bearer {phone.store.meta.token}"}


def _upload_until_done(phone: Phone, sha: str, runs: int = 20) -> int:
    """Run the uploader as the sync service would, once per sync, until the photo is on the
    server; the bytes it sent in all."""
    sent = 0
    for _ in range(runs):
        report = PhotoUploader(phone.http, phone.store, chunk_bytes=CHUNK).run()
        sent += report.bytes_sent
        row = phone.store.photo(sha)
        assert row is not None
        if row.state == "done":
            return sent
    raise AssertionError(f"not uploaded after {runs} runs")


@pytest.mark.parametrize("seed", range(12))
def test_a_photo_cut_off_at_random_bytes_arrives_whole_and_resends_little(
    phone: Callable[[str], Phone], seed: int
) -> None:
    rng = random.Random(seed)
    worker = phone("w11")
    sha = worker.store.add_photo(noisy_jpeg(seed))
    data = worker.store.photo_bytes(sha)
    assert data is not None and len(data) > 8 * CHUNK
    cuts = sorted(rng.sample(range(len(data)), rng.randint(1, 5)))
    worker.transport.photo_cuts = [(c, rng.choice(["request", "answer"])) for c in cuts]

    sent = _upload_until_done(worker, sha)

    # A cut after one whose chunk the server took, in that same chunk, is never crossed again.
    drops = len(cuts) - len(worker.transport.photo_cuts)
    assert drops >= 1
    got = worker.http.get(f"{URL}/{sha}", headers=_auth(worker))
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "image/jpeg"
    # Resuming from the server's count: each drop costs at most the chunk it cut.
    assert sent <= len(data) + drops * CHUNK


def test_a_phone_killed_mid_upload_resumes_from_the_server_s_count(
    phone: Callable[[str], Phone],
) -> None:
    worker = phone("w11")
    sha = worker.store.add_photo(noisy_jpeg(99))
    worker.transport.photo_cuts = [(5 * CHUNK + 7, "answer")]
    uploader = PhotoUploader(worker.http, worker.store, chunk_bytes=CHUNK, retries=0)
    uploader.run()  # the drop ends this run: the server kept 6 chunks
    worker.reopen()
    head = worker.http.head(f"{URL}/{sha}", headers=_auth(worker))
    assert head.headers["Upload-Offset"] == str(6 * CHUNK)
    size = worker.store.photo(sha).size  # type: ignore[union-attr]
    assert _upload_until_done(worker, sha) == size - 6 * CHUNK


def test_the_same_photo_from_two_phones_is_sent_and_kept_once(
    phone: Callable[[str], Phone], settings: Settings
) -> None:
    first, second = phone("w11"), phone("w11b")
    picture = noisy_jpeg(7)
    sha = first.store.add_photo(picture)
    assert second.store.add_photo(picture) == sha
    _upload_until_done(first, sha)
    again = PhotoUploader(first.http, first.store, chunk_bytes=CHUNK)
    first.store.photo_uploaded(sha, 0)  # as if the phone had lost its record of it
    first.store.db.execute("UPDATE photo SET state = 'pending'")
    assert again.run().bytes_sent == 0
    assert _upload_until_done(second, sha) == 0
    kept = [p for p in settings.photo_path.rglob("*") if p.is_file()]
    assert sorted(p.relative_to(settings.photo_path).as_posix() for p in kept) == sorted(
        [full_key(sha), f"thumbs/{sha[:2]}/{sha}.jpg"]
    )


def test_bytes_that_do_not_match_their_name_are_refused_and_discarded(
    phone: Callable[[str], Phone], settings: Settings
) -> None:
    worker = phone("w11")
    data = noisy_jpeg(3)
    wrong = hashlib.sha256(b"another photo").hexdigest()
    headers = {**_auth(worker), "Upload-Length": str(len(data))}
    first = worker.http.patch(
        f"{URL}/{wrong}", content=data[:CHUNK], headers={**headers, "Upload-Offset": "0"}
    )
    assert first.status_code == 204 and first.headers["Upload-Offset"] == str(CHUNK)
    last = worker.http.patch(
        f"{URL}/{wrong}", content=data[CHUNK:], headers={**headers, "Upload-Offset": str(CHUNK)}
    )
    assert last.status_code == 422 and last.json()["code"] == "hash_mismatch"
    assert worker.http.head(f"{URL}/{wrong}", headers=_auth(worker)).status_code == 404
    assert [p for p in settings.photo_path.rglob("*") if p.is_file()] == []


def test_a_chunk_at_the_wrong_offset_is_told_the_server_s_count(
    phone: Callable[[str], Phone],
) -> None:
    worker = phone("w11")
    data = noisy_jpeg(4)
    sha = hashlib.sha256(data).hexdigest()
    headers = {**_auth(worker), "Upload-Length": str(len(data))}
    early = worker.http.patch(
        f"{URL}/{sha}", content=data[200:300], headers={**headers, "Upload-Offset": "200"}
    )
    assert early.status_code == 409 and early.json()["errors"] == [{"upload_offset": 0}]
    assert worker.http.head(f"{URL}/{sha}", headers=_auth(worker)).status_code == 404
    worker.http.patch(f"{URL}/{sha}", content=data[:100], headers={**headers, "Upload-Offset": "0"})
    answer = worker.http.patch(
        f"{URL}/{sha}", content=data[500:600], headers={**headers, "Upload-Offset": "500"}
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "offset_mismatch"
    assert answer.json()["errors"] == [{"upload_offset": 100}]


def test_an_upload_that_is_no_picture_is_refused(phone: Callable[[str], Phone]) -> None:
    worker = phone("w11")
    data = b"MZ" + bytes(4000)
    sha = hashlib.sha256(data).hexdigest()
    answer = worker.http.patch(
        f"{URL}/{sha}",
        content=data,
        headers={**_auth(worker), "Upload-Offset": "0", "Upload-Length": str(len(data))},
    )
    assert answer.status_code == 422 and answer.json()["code"] == "not_a_photo"
    assert worker.http.head(f"{URL}/{sha}", headers=_auth(worker)).status_code == 404


@pytest.fixture
def limited(
    settings: Settings, clock: MovableClock, tmp_path: Path, phone: Callable[[str], Phone]
) -> Callable[..., Phone]:
    """A phone of w11 on a server with other photo limits."""
    made: list[FastAPI] = []

    def make(**limits: int) -> Phone:
        app = create_app(settings.model_copy(update=limits), clock=clock)
        made.append(app)
        return Phone(app, tmp_path / f"limited-{len(made)}.db", "w11", clock)

    return make


def test_a_photo_over_the_size_limit_is_refused_naming_the_limit(
    limited: Callable[..., Phone],
) -> None:
    worker = limited(max_photo_bytes=100_000)
    sha = worker.store.add_photo(noisy_jpeg(5))
    report = PhotoUploader(worker.http, worker.store, chunk_bytes=CHUNK).run()
    assert report.done == 0 and "photo_too_large" in report.failed[sha]
    row = worker.store.photo(sha)
    assert row is not None and row.state == "pending" and "photo_too_large" in (row.error or "")
    data = worker.store.photo_bytes(sha)
    assert data is not None
    answer = worker.http.patch(
        f"{URL}/{sha}",
        content=data[:10],
        headers={**_auth(worker), "Upload-Offset": "0", "Upload-Length": str(len(data))},
    )
    assert answer.status_code == 413
    assert answer.json()["errors"] == [{"limit": "max_photo_bytes", "bytes": 100_000}]
    worker.close()


def test_a_device_over_its_quota_is_refused_and_its_other_photos_still_go(
    limited: Callable[..., Phone],
) -> None:
    one, two = noisy_jpeg(1), noisy_jpeg(2)
    # What the phone keeps and sends is the shrunk photo (the same bytes every time).
    worker = limited(photo_quota_bytes=len(shrink(one)) + len(shrink(two)) // 2)
    first = worker.store.add_photo(one)
    second = worker.store.add_photo(two)
    report = PhotoUploader(worker.http, worker.store, chunk_bytes=CHUNK).run()
    assert report.done == 1
    assert worker.store.photo(first).state == "done"  # type: ignore[union-attr]
    assert "photo_quota_exceeded" in report.failed[second]
    worker.close()


def test_only_the_uploader_and_admins_may_fetch_a_photo(
    phone: Callable[[str], Phone], app: FastAPI
) -> None:
    worker, other = phone("w11"), phone("w12")
    sha = worker.store.add_photo(noisy_jpeg(8, 1200, 900))
    _upload_until_done(worker, sha)
    assert worker.http.get(f"{URL}/{sha}", headers=_auth(worker)).status_code == 200
    refused = other.http.get(f"{URL}/{sha}", headers=_auth(other))
    assert refused.status_code == 403 and refused.json()["code"] == "out_of_scope"
    assert other.http.get(f"{URL}/{sha}/thumb", headers=_auth(other)).status_code == 403
    admin = phone("admin")
    thumb = admin.http.get(f"{URL}/{sha}/thumb", headers=_auth(admin))
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 320
    assert worker.http.get(f"{URL}/{sha}").status_code == 401
    # A token signed in without a device (a script's) reads no photo, not even its user's.
    login = worker.http.post("/api/v1/auth/login", json={"username": "w11", "password": PASSWORD})
    script = {"Authorization": f"Bearer {login.json()['access_token']}"}
    answer = worker.http.get(f"{URL}/{sha}", headers=script)
    assert answer.status_code == 403 and answer.json()["code"] == "device_required"


def test_a_small_file_claiming_a_gigapixel_picture_is_refused_before_it_is_decoded(
    phone: Callable[[str], Phone],
) -> None:
    worker = phone("w11")
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    png = bytearray(out.getvalue())
    # IHDR: width and height at bytes 16..24, its CRC over bytes 12..29 at 29..33.
    png[16:24] = struct.pack(">II", 40_000, 30_000)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    data = bytes(png)
    sha = hashlib.sha256(data).hexdigest()
    answer = worker.http.patch(
        f"{URL}/{sha}",
        content=data,
        headers={**_auth(worker), "Upload-Offset": "0", "Upload-Length": str(len(data))},
    )
    assert answer.status_code == 422 and answer.json()["code"] == "not_a_photo"
