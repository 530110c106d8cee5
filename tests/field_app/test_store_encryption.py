"""The "sqlcipher" store mode (desktop and web mode) encrypts the whole file: nothing readable on
disk, a clear error for a missing or wrong key, an old plain store encrypted in place without
loss, and a wipe that destroys the key (crypto-erase) with the database, WAL and shared-memory
files. Without SQLCipher the store runs in the "platform" mode (test_store_sealed.py)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from flet.components.component import Renderer

from field_app.i18n import CATALOGUES, LANGUAGES
from field_app.store import (
    EncryptionUnavailable,
    KeyMissing,
    Store,
    StoreLocked,
    WrongKey,
    cipher,
)
from field_app.store.keys import FileKeyHolder, key_holder_for
from field_app.store.modes import MODE_ENV
from field_app.views import locked
from tests.days import TODAY
from tests.field_app.test_store import USER, id_number, seed
from tests.field_app.test_store_sealed import assert_nothing_lost, old_store
from tests.field_app.test_views import texts

NAME = "欧阳翠花"  # nobody else in the fixtures is called this
ID_NUMBER = id_number("19630517", "482")


def add_resident(store: Store) -> str:
    seed(store)
    op = store.create(
        "resident",
        {"name": NAME, "id_number": ID_NUMBER, "phone": "13912345678", "note": "住三楼"},
        user_id=USER,
    )
    return op.record_id


def on_disk(path: Path) -> bytes:
    """Every byte of the database and its WAL, as someone who copied them off the phone has."""
    return b"".join(
        Path(f"{path}{s}").read_bytes() for s in ("", "-wal") if Path(f"{path}{s}").exists()
    )


def secrets_in(raw: bytes) -> list[str]:
    return [s for s in (NAME, ID_NUMBER, "13912345678", "欧阳") if s.encode() in raw]


@pytest.fixture(autouse=True)
def sqlcipher_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_ENV, "sqlcipher")


def test_the_files_on_disk_hold_no_plaintext(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    store = Store.open(path)
    add_resident(store)
    # While the app runs, the newest pages are in the WAL: both files must be unreadable.
    assert Path(f"{path}-wal").stat().st_size > 0
    raw = on_disk(path)
    assert not raw.startswith(b"SQLite format 3")
    assert secrets_in(raw) == []
    store.close()
    assert secrets_in(on_disk(path)) == []

    # A store from before encryption shows up in the bytes: the check above can see plaintext.
    plain_path = tmp_path / "plain.db"
    old_store(plain_path, key=None)
    assert secrets_in(on_disk(plain_path)) == [NAME, ID_NUMBER, "13912345678", "欧阳"]


def test_the_key_is_random_private_and_kept_apart_from_the_database(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    Store.open(path).close()
    Store.open(tmp_path / "other.db").close()
    holder = key_holder_for(path)
    assert holder.path.parent != path.parent  # copying the database files does not copy the key
    assert stat.S_IMODE(holder.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(holder.path.parent.stat().st_mode) == 0o700
    key = holder.load()
    assert key is not None and len(key) == 32
    assert key != key_holder_for(tmp_path / "other.db").load()
    assert key.hex().encode() not in on_disk(path)


def test_reopening_with_the_key_reads_everything_back(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    store = Store.open(path)
    resident_id = add_resident(store)
    device_id, pending = store.device_id, store.pending_ops()
    store.close()

    again = Store.open(path)
    resident = again.get("resident", resident_id)
    assert resident is not None and resident["name"] == NAME
    assert again.device_id == device_id
    assert again.pending_ops() == pending
    assert [h.resident.id for h in again.search_residents("oych", day=TODAY)] == [resident_id]
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert again.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert again.db.execute("PRAGMA cipher_version").fetchone()[0].startswith("4.")
    again.close()


def test_plain_sqlite_cannot_read_the_store(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    store = Store.open(path)
    add_resident(store)
    store.close()
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        conn.execute("SELECT name FROM resident").fetchall()
    conn.close()


def test_a_wrong_key_is_a_clear_error_and_leaves_the_data_alone(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    store = Store.open(path)
    resident_id = add_resident(store)
    store.close()
    holder = key_holder_for(path)
    right = holder.path.read_bytes()
    before = path.read_bytes()

    holder.create()  # another key in its place
    with pytest.raises(WrongKey) as raised:
        Store.open(path)
    assert isinstance(raised.value, StoreLocked)
    assert raised.value.path == path
    assert raised.value.message_key == "locked.wrong_key"
    assert path.read_bytes() == before

    holder.path.write_bytes(right)
    back = Store.open(path)
    assert back.get("resident", resident_id) is not None
    back.close()


def test_a_missing_or_damaged_key_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    Store.open(path).close()
    holder = key_holder_for(path)
    right = holder.path.read_bytes()

    holder.path.unlink()
    with pytest.raises(KeyMissing, match="no key") as raised:
        Store.open(path)
    assert raised.value.message_key == "locked.key_missing"
    assert not holder.path.exists()  # a new key would not open the file: none is made

    holder.path.write_text("not a key")
    with pytest.raises(KeyMissing):
        Store.open(path)

    holder.path.write_bytes(right)
    Store.open(path).close()


def test_connections_racing_through_the_first_run_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"

    def first_write(n: int) -> None:
        conn, _ = cipher.connect(path, key_holder_for(path))
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("CREATE TABLE IF NOT EXISTS t (n)")
            conn.execute("INSERT INTO t VALUES (?)", (n,))
            conn.commit()
        finally:
            conn.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(first_write, range(8)))
    conn, _ = cipher.connect(path, key_holder_for(path))  # with the one key that was kept
    assert sorted(r[0] for r in conn.execute("SELECT n FROM t")) == list(range(8))
    conn.close()


def test_a_key_holder_can_be_replaced(tmp_path: Path) -> None:
    class InMemory:
        """What a platform keystore provides."""

        def __init__(self) -> None:
            self.key: bytes | None = None

        def load(self) -> bytes | None:
            return self.key

        def create(self) -> bytes:
            self.key = os.urandom(32)
            return self.key

        def destroy(self) -> None:
            self.key = None

    keys = InMemory()
    path = tmp_path / "phone.db"
    store = Store.open(path, keys=keys)
    add_resident(store)
    store.close()
    assert keys.key is not None
    assert not key_holder_for(path).path.exists()
    Store.open(path, keys=keys).close()
    with pytest.raises(KeyMissing):  # the file holder has no key for it
        Store.open(path, keys=FileKeyHolder(tmp_path / "k")).close()
    assert not (tmp_path / "k").exists()


def test_an_old_plain_store_is_encrypted_in_place_losing_nothing(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    old_store(path, key=None)  # with its last edits only in the WAL
    assert Path(f"{path}-wal").stat().st_size > 0
    assert secrets_in(on_disk(path)) != []

    store = Store.open(path)
    assert store.device_id == "device"
    assert_nothing_lost(store)
    store.close()

    assert not cipher.is_plain(path)
    assert secrets_in(on_disk(path)) == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("phone")) == ["phone.db"]
    Store.open(path).close()  # and the second open is an ordinary one


def test_encryption_interrupted_by_a_power_cut_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "phone.db"
    old_store(path, key=None)

    def power_cut(*_args: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(cipher.os, "replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        Store.open(path)
    monkeypatch.undo()
    monkeypatch.setenv(MODE_ENV, "sqlcipher")
    assert cipher.is_plain(path)  # the old store is still whole, the copy was left beside it

    store = Store.open(path)
    assert_nothing_lost(store)
    store.close()
    assert not cipher.is_plain(path)
    assert not Path(f"{path}.encrypting").exists()


def test_wipe_destroys_the_key_and_the_files(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    store = Store.open(path)
    add_resident(store)
    ui = Store.open(path)  # the window's own connection stays open through the wipe
    holder = key_holder_for(path)
    old_key = holder.load()
    assert old_key is not None
    old_salt = path.read_bytes()[:16]  # SQLCipher's per-file salt
    thief_copy = on_disk(path)
    device_id = store.device_id

    store.wipe()

    assert ui.find_residents(NAME) == []  # the other connection sees an empty store at once
    new_key = holder.load()
    assert new_key is not None and new_key != old_key
    assert path.read_bytes()[:16] != old_salt  # a new file, not the old one emptied
    everything = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert old_key not in everything and old_key.hex().encode() not in everything
    assert secrets_in(thief_copy) == []  # and what was copied before needs the destroyed key
    assert store.device_id == device_id
    assert store.pending_count() == 0 and store.find_residents(NAME) == []

    ui.close()  # the old connection closing must not touch the new files
    again = Store.open(path)
    assert again.device_id == device_id
    assert [r[0] for r in again.db.execute("SELECT key FROM meta")] == ["device_id"]
    again.close()


def test_without_sqlcipher_the_store_opens_in_the_platform_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cipher, "sqlcipher3", None)
    with pytest.raises(EncryptionUnavailable):  # forced: SQLCipher or nothing
        Store.open(tmp_path / "phone.db")
    assert list(tmp_path.iterdir()) == []

    monkeypatch.delenv(MODE_ENV)  # as on a phone: no setting, no SQLCipher
    path = tmp_path / "phone.db"
    store = Store.open(path)
    add_resident(store)
    store.close()
    raw = on_disk(path)
    assert raw.startswith(b"SQLite format 3") and NAME.encode() in raw
    assert secrets_in(raw) == [NAME, "欧阳"], "the ID number and phone are sealed"


def test_locked_errors_read_in_both_languages(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    for error in (KeyMissing(path), WrongKey(path), EncryptionUnavailable(path)):
        for language in LANGUAGES:
            assert error.message_key in CATALOGUES[language]
        words = texts(Renderer().render(lambda e=error: locked.render(e)))  # type: ignore[misc]
        assert CATALOGUES["zh-CN"][error.message_key][:10] in words
        assert CATALOGUES["en"][error.message_key][:20] in words
        assert "无法打开本机数据" in locked.message(error)


def test_the_app_shows_a_locked_store_instead_of_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from field_app import main as app_main
    from field_app.config import STORE_FILE

    Store.open(tmp_path / STORE_FILE).close()
    key_holder_for(tmp_path / STORE_FILE).create()  # the key no longer matches the file
    monkeypatch.setenv("GRIDSWEEP_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(app_main, "_device", None)
    shown: list[object] = []
    page = SimpleNamespace(add=lambda *controls: shown.extend(controls))

    asyncio.run(app_main.main(page))  # type: ignore[arg-type]

    words = texts(shown)
    assert "无法打开本机数据" in words and "cannot be opened" in words
    assert app_main._device is None  # nothing started over the locked store
