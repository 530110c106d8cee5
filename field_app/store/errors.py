"""The store's exceptions; invalid input raises `shared.errors.ValidationFailed` instead.

StoreError
├── RecordNotFound    no live record with that id on this device
└── StoreLocked       the encrypted store cannot be opened on this device
    ├── KeyMissing    the file is encrypted and this device holds no key for it
    ├── WrongKey      the key this device holds does not open the file (or it is damaged)
    └── EncryptionUnavailable   the "sqlcipher" mode was asked for (or the file is SQLCipher's)
                                and this build of the app has no SQLCipher binding
SealBroken (sealed.py)  a sealed value does not open (another key, a value moved or altered)

`StoreLocked.message_key` names the text the app shows (field_app/i18n), so a worker reads what
happened in Chinese rather than "file is not a database" from deep inside a migration.
"""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """Base class of the device store's own errors."""


class RecordNotFound(StoreError, LookupError):
    """The record does not exist on this device, or it was deleted."""

    def __init__(self, entity: str, record_id: str) -> None:
        self.entity = entity
        self.record_id = record_id
        super().__init__(f"There is no {entity} with id {record_id} on this device.")


class StoreLocked(StoreError):
    """The device database is encrypted and cannot be opened with what this device holds."""

    message_key = "locked.wrong_key"

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        super().__init__(f"The device store {self.path} cannot be opened: {reason}")


class KeyMissing(StoreLocked):
    """The store file is encrypted, but its key is gone (deleted, or a wipe was interrupted)."""

    message_key = "locked.key_missing"

    def __init__(self, path: str | Path, key_path: str | Path | None = None) -> None:
        where = f" (expected at {key_path})" if key_path is not None else ""
        super().__init__(path, f"it is encrypted and this device has no key for it{where}.")


class WrongKey(StoreLocked):
    """The key this device holds does not decrypt the store file, or the file is damaged."""

    message_key = "locked.wrong_key"

    def __init__(self, path: str | Path) -> None:
        super().__init__(
            path, "this device's key does not decrypt it (a different key, or a damaged file)."
        )


class EncryptionUnavailable(StoreLocked):
    """The app was built without the SQLCipher binding, so it will not store data in the clear."""

    message_key = "locked.no_encryption"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, "this build of the app has no SQLCipher (sqlcipher3) binding.")
