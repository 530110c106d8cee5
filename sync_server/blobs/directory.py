"""Photos as files under one directory: the default store, on the server's own disk.

An object is written to a temporary file beside it, flushed to disk and renamed over its place,
so a reader never sees half a photo and a power cut leaves the old one or the new one. A
part-upload is one file `<key>.part` written at offsets; it is flushed after every chunk, since
the database will say those bytes are held once the request commits.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class DirectoryBlobStore:
    def __init__(self, root: Path) -> None:
        # Created at the first write: a server that never receives a photo makes no directory.
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def write_part(self, key: str, offset: int, data: bytes) -> None:
        path = self._path(key + ".part")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "r+b" if path.exists() else "w+b") as out:
            out.truncate(offset)
            out.seek(offset)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())

    def read_part(self, key: str, length: int) -> bytes:
        with open(self._path(key + ".part"), "rb") as part:
            return part.read(length)

    def delete_part(self, key: str) -> None:
        self._path(key + ".part").unlink(missing_ok=True)
