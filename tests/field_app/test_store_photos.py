"""Photos in the device store (`Store.add_photo`, field_app/store/photos.py), in both store
modes: kept shrunk under their sha256, in the same transaction as the record that names them,
once however often they are added, and never in the clear in the file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from field_app.photos import PhotoUnreadable
from field_app.store import Store
from shared.clock import ManualClock
from tests.photos import camera_jpeg


def test_a_photo_is_kept_shrunk_under_the_sha256_of_what_is_kept(store: Store) -> None:
    sha = store.add_photo(camera_jpeg())
    data = store.photo_bytes(sha)
    assert data is not None and hashlib.sha256(data).hexdigest() == sha
    assert len(data) < len(camera_jpeg())
    row = store.photo(sha)
    assert row is not None and (row.size, row.uploaded, row.state) == (len(data), 0, "pending")
    assert [p.sha256 for p in store.photos_to_upload()] == [sha]


def test_the_same_picture_added_twice_is_kept_once(store: Store) -> None:
    assert store.add_photo(camera_jpeg()) == store.add_photo(camera_jpeg())
    assert store.photo_counts().pending == 1


def test_a_photo_rolls_back_with_the_record_that_names_it(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        sha = store.add_photo(camera_jpeg())
        assert store.photo(sha) is not None  # visible inside the caller's transaction
        raise RuntimeError("the matter failed to save")
    assert store.photo(sha) is None
    assert store.photo_counts().pending == 0


def test_a_photo_kept_survives_reopening_and_its_upload_progress_with_it(
    store: Store, path: Path, phone_clock: ManualClock
) -> None:
    sha = store.add_photo(camera_jpeg())
    store.photo_uploaded(sha, 1000, error="offline")
    store.close()
    again = Store.open(path, clock=phone_clock)
    try:
        row = again.photo(sha)
        assert row is not None and (row.uploaded, row.error) == (1000, "offline")
        assert again.photo_counts().failed == 1
        again.photo_uploaded(sha, row.size, done=True)
        assert again.photos_to_upload() == []
        assert again.photo_bytes(sha) is not None
    finally:
        again.close()


def test_the_file_holds_no_photo_in_the_clear(store: Store, path: Path) -> None:
    sha = store.add_photo(camera_jpeg())
    data = store.photo_bytes(sha)
    assert data is not None
    store.close()
    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert data[:2000] not in raw and data[-2000:] not in raw


def test_a_picked_file_that_is_no_picture_keeps_nothing(store: Store) -> None:
    with pytest.raises(PhotoUnreadable):
        store.add_photo(b"%PDF-1.7 not a photo")
    assert store.photo_counts().pending == 0
