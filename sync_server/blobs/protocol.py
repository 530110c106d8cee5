"""The interface between the photo service and wherever photos' bytes are kept."""

from __future__ import annotations

from typing import Protocol


class BlobStore(Protocol):
    """Objects by key (whole photos, thumbnails), and part-uploads.

    A part-upload is the bytes of an upload in progress, written chunk by chunk, each at the
    offset the caller says (the database's count of bytes received). A chunk written at an
    offset replaces whatever the part held from there on, so a chunk retried after a failed
    transaction is simply written again. Keys are the service's (`photos/<sha256>`, ...): plain
    ASCII with slashes.
    """

    def put(self, key: str, data: bytes) -> None:
        """Keep `data` under `key`, replacing what was there, all or nothing."""
        ...

    def get(self, key: str) -> bytes | None:
        """The object under `key`; None when there is none."""
        ...

    def delete(self, key: str) -> None:
        """Forget `key` (nothing happens if there is no such object)."""
        ...

    def write_part(self, key: str, offset: int, data: bytes) -> None:
        """Write `data` at `offset` of the part-upload `key` (which holds at least `offset`
        bytes: every chunk before it was written)."""
        ...

    def read_part(self, key: str, length: int) -> bytes:
        """The first `length` bytes of the part-upload `key`."""
        ...

    def delete_part(self, key: str) -> None:
        """Forget the part-upload `key` and every chunk of it."""
        ...
