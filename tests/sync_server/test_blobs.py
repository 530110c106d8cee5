"""The photo stores (sync_server/blobs/): a directory on disk and an S3 bucket (against moto's
S3 server on loopback) keep the same promises, and the whole upload works on S3 too."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shared.clock import MovableClock
from sync_server.blobs import BlobStore, DirectoryBlobStore, blob_store_for
from sync_server.blobs.s3 import S3BlobStore
from sync_server.config import Settings
from sync_server.main import create_app
from sync_server.services.photos import full_key
from tests.factories import TinyGrid
from tests.photos import noisy_jpeg
from tests.sync_server.conftest import login


@pytest.fixture(params=["directory", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "directory":
        return DirectoryBlobStore(tmp_path / "photos")
    store = blob_store_for(request.getfixturevalue("s3_settings"))
    assert isinstance(store, S3BlobStore)
    return store


def test_an_object_is_put_read_replaced_and_deleted(blobs: BlobStore) -> None:
    assert blobs.get("photos/ab/x") is None
    blobs.put("photos/ab/x", b"first")
    blobs.put("photos/ab/x", b"second")
    assert blobs.get("photos/ab/x") == b"second"
    blobs.delete("photos/ab/x")
    blobs.delete("photos/ab/x")  # forgetting twice is no error
    assert blobs.get("photos/ab/x") is None


def test_a_part_upload_is_read_back_as_the_chunks_the_database_counted(blobs: BlobStore) -> None:
    blobs.write_part("uploads/p", 0, b"aaaa")
    blobs.write_part("uploads/p", 4, b"bbbbbb")  # its request failed after the write...
    blobs.write_part("uploads/p", 4, b"cc")  # ...and the retry sent a shorter chunk
    blobs.write_part("uploads/p", 6, b"dd")
    assert blobs.read_part("uploads/p", 8) == b"aaaaccdd"
    blobs.delete_part("uploads/p")
    with pytest.raises(FileNotFoundError):
        blobs.read_part("uploads/p", 8)


def test_a_directory_key_cannot_leave_the_directory(tmp_path: Path) -> None:
    store = DirectoryBlobStore(tmp_path / "photos")
    with pytest.raises(ValueError):
        store.put("../escape", b"x")


@pytest.fixture
def s3_client(
    s3_settings: Settings, clock: MovableClock, tiny: TinyGrid
) -> Iterator[tuple[TestClient, Settings]]:
    app = create_app(s3_settings, clock=clock)
    with TestClient(app) as client:
        yield client, s3_settings
    app.state.engine.dispose()


def test_a_photo_uploaded_in_chunks_is_kept_in_the_bucket_with_its_thumbnail(
    s3_client: tuple[TestClient, Settings],
) -> None:
    client, settings = s3_client
    headers = login(client, "w11", device=True)
    data = noisy_jpeg(11)
    sha = hashlib.sha256(data).hexdigest()
    url = f"/api/v1/photos/{sha}"
    for offset in range(0, len(data), 100_000):
        answer = client.patch(
            url,
            content=data[offset : offset + 100_000],
            headers={**headers, "Upload-Offset": str(offset), "Upload-Length": str(len(data))},
        )
        assert answer.status_code == 204, answer.text
    assert client.head(url, headers=headers).headers["Upload-Offset"] == str(len(data))
    assert client.get(url, headers=headers).content == data
    assert client.get(f"{url}/thumb", headers=headers).headers["content-type"] == "image/jpeg"
    bucket = S3BlobStore.from_settings(settings)
    listed = bucket.client.list_objects_v2(Bucket=settings.s3_bucket)
    keys = sorted(item["Key"] for item in listed["Contents"])
    assert keys == [full_key(sha), f"thumbs/{sha[:2]}/{sha}.jpg"]  # no chunk left behind


def test_production_refuses_an_s3_store_without_its_keys() -> None:
    with pytest.raises(ValidationError, match="GRIDSWEEP_S3_SECRET_ACCESS_KEY"):
        Settings(
            env="production",
            secret_key="k7#Qz9!pL2@xW4$eR6^tY8&uI0*oP3(aS5)dF1",
            photo_store="s3",
            s3_bucket="photos",
            s3_access_key_id="AKIA-something",
        )
