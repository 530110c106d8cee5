"""Who holds the device database's key: a 256-bit random key, made on first run, kept by the app.

`KeyHolder` is the interface the store needs (load, create, destroy). `FileKeyHolder` is the
portable one: a 0600 file in a 0700 `keys/` directory beside the database, inside the app's
private data directory (`config.py`). On a phone `secure_keys.SecureStorageKeyHolder` keeps it in
the platform's keystore (flet-secure-storage) instead; nothing else in the store changes.
`MemoryKeyHolder` is for the throwaway ":memory:" store.

One key serves the whole store: SQLCipher's page key where SQLCipher exists, and the keys of the
sealed columns and search keys (derived from it, `sealed.py`) in both store modes (`modes.py`).

The key sits apart from the database file so that a copy of the database (and its WAL) alone —
pulled off the phone, left in a file-level backup — is unreadable. It is no protection against
anyone who can read the app's private storage as a whole: see README "What is protected on the
phone".
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Protocol

KEY_BYTES = 32  # AES-256
KEY_DIR = "keys"


class KeyHolder(Protocol):
    """Holds one store's key."""

    def load(self) -> bytes | None:
        """The key, or None if there is none (first run, or after `destroy`)."""

    def create(self) -> bytes:
        """Make a new random key, keep it durably, and return it (replacing any old one)."""

    def destroy(self) -> None:
        """Forget the key for good: whatever it encrypted becomes unreadable (crypto-erase)."""


class KeyUnreadable(ValueError):
    """A key is kept but cannot be read (a damaged file, a keystore that answers with an error).

    The store treats it as a missing key (`KeyMissing`): it never makes a new key over one that
    may still exist.
    """


class InvalidKeyFile(KeyUnreadable):
    """The key file exists but does not hold a key (truncated or overwritten)."""


def new_key() -> bytes:
    """A fresh random store key."""
    return secrets.token_bytes(KEY_BYTES)


def check_key(key: bytes, where: str) -> bytes:
    """`key` if it has the right size; `KeyUnreadable` naming `where` otherwise."""
    if len(key) != KEY_BYTES:
        raise KeyUnreadable(where)
    return key


class MemoryKeyHolder:
    """A key that lives as long as this object (the ":memory:" store, tests)."""

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key

    def load(self) -> bytes | None:
        return self.key

    def create(self) -> bytes:
        self.key = new_key()
        return self.key

    def destroy(self) -> None:
        self.key = None


class FileKeyHolder:
    """The key as 64 hex characters in a 0600 file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> bytes | None:
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except ValueError as exc:  # not ASCII
            raise InvalidKeyFile(str(self.path)) from exc
        try:
            key = bytes.fromhex(text)
        except ValueError as exc:
            raise InvalidKeyFile(str(self.path)) from exc
        if len(key) != KEY_BYTES:
            raise InvalidKeyFile(str(self.path))
        return key

    def create(self) -> bytes:
        key = new_key()
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        # Created 0600 by open() itself, so the key is never readable by others, not even briefly.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key.hex().encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        # The key must be on disk before anything is encrypted with it: a power cut after the
        # database is written but before the key is would lose the whole store.
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        return key

    def destroy(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY)
        except FileNotFoundError:
            return
        try:
            # Overwrite before unlinking, so the key is not left whole in a freed block. On flash
            # with wear levelling this is best effort; the README says so.
            size = os.fstat(fd).st_size
            os.write(fd, b"\0" * size)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.path.unlink()
        fsync_dir(self.path.parent)


def key_holder_for(store_path: str | Path) -> FileKeyHolder:
    """The default holder of the key of the store at `store_path`: `keys/<file>.key` beside it."""
    path = Path(store_path)
    return FileKeyHolder(path.parent / KEY_DIR / f"{path.name}.key")


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in `directory` survive a power cut (POSIX; a no-op elsewhere)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
