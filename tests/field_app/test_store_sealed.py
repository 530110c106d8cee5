"""Personal values are sealed by the app in both store modes: the platform mode's file (the phone's:
plain SQLite) shows no ID number, phone, note or tag, WAL included; a missing or wrong key is a
clear error there too; an older store with plain columns is sealed in place losing nothing; search
by ID ending and phone digits works through keyed hashes."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlcipher3
from sqlite_utils import Database

from field_app.store import KeyMissing, Store, WrongKey
from field_app.store.errors import EncryptionUnavailable
from field_app.store.keys import key_holder_for
from field_app.store.migrations import MIGRATIONS, SEALING
from field_app.store.modes import MODE_ENV, StoreMode
from field_app.store.pinyin import name_keys
from field_app.store.sealed import SealBroken
from shared import hlc
from shared.protocol import FieldClash, OpResult
from tests.days import TODAY
from tests.field_app.test_store import (
    HOUSE,
    SERVER_TS,
    START_MS,
    USER,
    id_number,
    page,
    seed,
    state,
)

RESIDENT = "00000000-0000-4000-8000-0000000000c9"
NAME = "欧阳翠花"
ID_NUMBER = id_number("19630517", "482")
PHONE, NEW_PHONE = "13912345678", "13687654321"
NOTE, SERVER_NOTE, VISIT_NOTE = "住三楼独居", "已搬往女儿家", "敲门无人应答邻居说住院"
TAG = "elderly_alone"
SECRETS = (ID_NUMBER, PHONE, NEW_PHONE, NOTE, SERVER_NOTE, VISIT_NOTE, TAG)


def on_disk(path: Path) -> bytes:
    """Every byte of the database and its WAL, as someone who copied them off the phone has."""
    return b"".join(
        Path(f"{path}{s}").read_bytes() for s in ("", "-wal") if Path(f"{path}{s}").exists()
    )


def found(raw: bytes, words: tuple[str, ...] = SECRETS) -> list[str]:
    return [w for w in words if w.encode() in raw]


def fill(store: Store) -> None:
    """Personal values in every place the store keeps them: the view and shadow of a pulled
    resident, pending operations, a visit's note, a conflict's detail and a notice."""
    seed(store)  # 王芳, her house and binding
    store.apply_pull(
        page(
            state(
                "resident",
                RESIDENT,
                name=NAME,
                id_number=ID_NUMBER,
                phone=PHONE,
                residence_status="permanent",
                tags=[TAG],
                note=NOTE,
            ),
        )
    )
    edit = store.update("resident", RESIDENT, {"note": NOTE + "二"}, user_id=USER)
    assert edit is not None
    clash = FieldClash(field="note", base=NOTE, server=SERVER_NOTE, device=NOTE + "二")
    store.record_results(
        [
            OpResult(
                op_id=edit.op_id,
                status="conflict",
                entity="resident",
                record_id=RESIDENT,
                version=1,
                conflict_id="k-1",
                conflicts=[clash],
            )
        ]
    )
    moved = store.update("resident", RESIDENT, {"phone": NEW_PHONE}, user_id=USER)
    assert moved is not None
    store.record_results(
        [
            OpResult(
                op_id=moved.op_id,
                status="merged",
                entity="resident",
                record_id=RESIDENT,
                version=2,
                superseded=["phone"],
            )
        ]
    )
    store.update("resident", RESIDENT, {"phone": NEW_PHONE[:-1] + "0"}, user_id=USER)
    store.create(
        "visit",
        {"house_id": HOUSE, "outcome": "not_home", "note": VISIT_NOTE, "visited_at": "2026-01-02"},
        user_id=USER,
    )


def test_the_platform_store_file_holds_no_personal_value(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    store = Store.open(path, mode="platform")
    fill(store)
    assert Path(f"{path}-wal").stat().st_size > 0  # the newest pages are in the WAL
    raw = on_disk(path)
    assert raw.startswith(b"SQLite format 3"), "the platform's own SQLite, no page encryption"
    assert NAME.encode() in raw, "names stay readable (search by name and pinyin): the check sees"
    assert found(raw) == []
    store.close()
    assert found(on_disk(path)) == []

    again = Store.open(path, mode="platform")
    resident = again.get("resident", RESIDENT)
    assert resident is not None
    assert (resident["id_number"], resident["tags"]) == (ID_NUMBER, [TAG])
    [problem] = again.problems()
    assert problem.clashes[0].server == SERVER_NOTE
    [notice] = again.notices()
    assert notice.typed == {"phone": NEW_PHONE}
    assert [op.fields["phone"].base for op in again.pending_ops() if "phone" in op.fields] == [
        NEW_PHONE
    ]
    again.close()


def test_both_modes_find_by_id_ending_and_phone_digits_only(store: Store) -> None:
    fill(store)

    def found_names(text: str) -> list[str]:
        return [h.resident["name"] for h in store.search_residents(text, day=TODAY)]

    assert found_names(ID_NUMBER[-4:]) == [NAME]
    assert found_names(ID_NUMBER[-10:]) == [NAME]
    assert found_names(ID_NUMBER[-3:]) == [], "an ID ending is searched from 4 characters"
    phone = NEW_PHONE[:-1] + "0"  # the latest edit
    assert found_names(phone) == found_names(phone[:5]) == found_names(phone[-4:]) == [NAME]
    assert found_names(PHONE[-4:]) == [], "the old number is forgotten with the edit"
    assert [r.id for r in store.find_residents(ID_NUMBER[-6:])] == [RESIDENT]


def test_a_sealed_value_moved_to_another_record_does_not_open(store: Store) -> None:
    fill(store)
    sealed = store.db.execute("SELECT phone FROM resident WHERE id = ?", [RESIDENT]).fetchone()[0]
    assert sealed.startswith("gs1:")
    store.db.execute("UPDATE resident SET note = ? WHERE id = ?", [sealed, RESIDENT])
    with pytest.raises(SealBroken):
        store.get("resident", RESIDENT)


def test_a_missing_or_wrong_key_is_a_clear_error_in_the_platform_mode(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    store = Store.open(path, mode="platform")
    fill(store)
    store.close()
    holder = key_holder_for(path)
    right = holder.path.read_bytes()

    holder.create()  # another key in its place
    with pytest.raises(WrongKey):
        Store.open(path, mode="platform")
    holder.path.unlink()
    with pytest.raises(KeyMissing):
        Store.open(path, mode="platform")
    assert not holder.path.exists(), "no new key is made over a store sealed with another"

    holder.path.write_bytes(right)
    back = Store.open(path, mode="platform")
    assert back.get("resident", RESIDENT) is not None
    back.close()


def test_a_store_that_cannot_be_opened_can_be_reset(tmp_path: Path, store_mode: StoreMode) -> None:
    path = tmp_path / "phone.db"
    store = Store.open(path)
    fill(store)
    device_id = store.device_id
    store.close()
    key_holder_for(path).path.unlink()
    with pytest.raises(KeyMissing):
        Store.open(path)

    Store.erase(path)  # 清除本机数据: the worker signs in and downloads again

    fresh = Store.open(path)
    assert fresh.get("resident", RESIDENT) is None and fresh.pending_count() == 0
    assert fresh.device_id != device_id, "a new installation as far as the server can tell"
    fresh.close()


def test_a_sqlcipher_store_where_there_is_no_sqlcipher_says_so(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    Store.open(path, mode="sqlcipher").close()
    with pytest.raises(EncryptionUnavailable):
        Store.open(path, mode="platform")


# --- stores written before m005: personal values in plain columns ---------------------------------


def old_store(path: Path, *, key: bytes | None) -> None:
    """A store as the app wrote it before sealed columns: SQLCipher (`key`) or plain SQLite, with
    a resident, their shadow, a pending edit, a conflict with its detail and a notice."""
    if key is not None:
        conn = sqlcipher3.connect(str(path))
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    else:
        conn = sqlite3.connect(str(path))
    db = Database(conn)
    db.enable_wal()
    MIGRATIONS.apply(db, stop_before=SEALING)
    initials, full = name_keys(NAME)
    values = {
        "name": NAME,
        "id_number": ID_NUMBER,
        "phone": NEW_PHONE,
        "residence_status": "permanent",
        "tags": [TAG],
        "note": NOTE,
    }
    db["resident"].insert(
        {
            **values,
            "id": RESIDENT,
            "version": 1,
            "deleted": 0,
            "tags": json.dumps([TAG]),
            "clocks": json.dumps(dict.fromkeys(values, SERVER_TS)),
            "search_initials": initials,
            "search_pinyin": full,
        }
    )
    db["server_shadow"].insert(
        {
            "entity": "resident",
            "id": RESIDENT,
            "version": 1,
            "deleted": 0,
            "field_values": json.dumps({**values, "phone": PHONE}, ensure_ascii=False),
            "clocks": json.dumps(dict.fromkeys(values, SERVER_TS)),
        }
    )
    ts = hlc.format_ts(START_MS, 0, "device")
    common = {"entity": "resident", "record_id": RESIDENT, "kind": "update", "base_version": 1}
    common |= {"hlc": ts, "device_id": "device", "user_id": USER, "created_at": "2026-01-02"}
    db["outbox"].insert(
        {
            **common,
            "op_id": "op-phone",
            "fields": json.dumps({"phone": {"base": PHONE, "new": NEW_PHONE}}),
            "status": "pending",
        }
    )
    clash = {"field": "note", "base": NOTE, "server": SERVER_NOTE, "device": NOTE}
    db["outbox"].insert(
        {
            **common,
            "op_id": "op-note",
            "fields": json.dumps({"note": {"base": NOTE, "new": NOTE}}, ensure_ascii=False),
            "status": "conflict",
            "conflict_id": "k-1",
            "detail": json.dumps([clash], ensure_ascii=False),
        }
    )
    notice = {
        "op_id": "op-old",
        "kind": "superseded",
        "entity": "resident",
        "record_id": RESIDENT,
        "at": "2026-01-02T00:00:00+00:00",
        "typed": {"phone": PHONE},
        "resident_id": RESIDENT,
    }
    db["meta"].insert_all(
        [
            {"key": "device_id", "value": json.dumps("device")},
            {"key": "notices", "value": json.dumps([notice])},
        ]
    )
    conn.commit()
    # The phone was switched off with the app open: the file is copied with its WAL.
    shutil.copyfile(path, f"{path}.copy")
    if Path(f"{path}-wal").exists():
        shutil.copyfile(f"{path}-wal", f"{path}.copy-wal")
    conn.close()
    for suffix in ("", "-wal"):
        if Path(f"{path}.copy{suffix}").exists():
            shutil.move(f"{path}.copy{suffix}", f"{path}{suffix}")


def assert_nothing_lost(store: Store) -> None:
    resident = store.get("resident", RESIDENT)
    assert resident is not None
    assert (resident["id_number"], resident["phone"], resident["note"]) == (
        ID_NUMBER,
        NEW_PHONE,
        NOTE,
    )
    assert resident["tags"] == [TAG]
    [op] = store.pending_ops()
    assert (op.fields["phone"].base, op.fields["phone"].new) == (PHONE, NEW_PHONE)
    [problem] = store.problems()
    assert problem.clashes[0].server == SERVER_NOTE and problem.op.fields["note"].new == NOTE
    [notice] = store.notices()
    assert notice.typed == {"phone": PHONE}
    assert [h.resident.id for h in store.search_residents(ID_NUMBER[-4:], day=TODAY)] == [RESIDENT]
    assert [h.resident.id for h in store.search_residents(NEW_PHONE, day=TODAY)] == [RESIDENT]
    sealed = store.db.execute("SELECT id_number, phone, note, tags FROM resident").fetchone()
    assert all(str(v).startswith("gs1:") for v in sealed)
    # A pull replays the pending edit over the shadow, which was sealed too.
    pulled = state("resident", RESIDENT, 2, name=NAME, phone=PHONE, note="新备注")
    store.apply_pull(page(pulled, cursor="c9"))
    resident = store.get("resident", RESIDENT)
    assert resident is not None and (resident["phone"], resident["note"]) == (NEW_PHONE, "新备注")


def test_an_older_sqlcipher_store_is_sealed_in_place_losing_nothing(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    old_store(path, key=key_holder_for(path).create())

    store = Store.open(path, mode="sqlcipher")
    assert_nothing_lost(store)
    store.close()
    reopened = Store.open(path, mode="sqlcipher")  # and the next open is an ordinary one
    assert reopened.get("resident", RESIDENT) is not None
    reopened.close()


def test_an_older_unencrypted_store_is_sealed_in_place_on_the_phone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MODE_ENV, raising=False)
    path = tmp_path / "phone.db"
    old_store(path, key=None)
    assert found(on_disk(path)) != []

    store = Store.open(path, mode="platform")
    assert found(on_disk(path)) == [], "no old value is left in free pages or the WAL"
    assert_nothing_lost(store)
    store.close()
    assert found(on_disk(path)) == []


def test_every_personal_field_is_sealed_by_a_migration() -> None:
    # Marking another field `personal` in shared/schema.py needs a migration that seals what
    # phones already hold of it; this fails until one exists. (m007's tables were new: their
    # personal fields were sealed from the first row.)
    from field_app.store.migrations import _M005_PERSONAL, _M008_PERSONAL, _M011_PERSONAL
    from field_app.store.sealed import PERSONAL

    assert {
        e: set(names) for e, names in {**_M005_PERSONAL, **_M008_PERSONAL, **_M011_PERSONAL}.items()
    } == {e: set(names) for e, names in PERSONAL.items()}
