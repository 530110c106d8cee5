"""Receiving photos in resumable chunks, and handing them to those who may see them.

A photo is named by the sha256 of its bytes, so an upload is idempotent: the same photo sent
twice, from one phone or two, is stored once. The protocol is tus-like (docs/sync-protocol.md,
"Photos"): HEAD says how many bytes the server holds (`upload_state`), each PATCH carries the
next chunk at that offset with the whole size (`receive_chunk`), and the chunk that completes
the photo is checked against its name: a mismatch discards what was received (`hash_mismatch`).
On completion a 320 px JPEG thumbnail is made and kept as a blob of its own.

Limits: one photo at most `max_photo_bytes`; one device's photos, whole and in progress, at most
`photo_quota_bytes`. Each refusal names the limit, in bytes, in the problem's `errors`.

Who may fetch a photo (`may_see`): its uploader, admins, and whoever may see a matter or a step of
one that names the photo (`photo_visible` in sync_server/queries/matter_photos.py). Phones fetch
the thumbnails of their matters' photos in batches after a sync (`thumbnails`, the same rule
decided for the batch), and a whole photo when the worker opens it.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.protocol import Thumb, ThumbsResponse
from shared.schema import Role
from sync_server.blobs import BlobStore
from sync_server.config import Settings
from sync_server.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from sync_server.models import Photo
from sync_server.queries.matter_photos import photo_visible, photos_visible
from sync_server.services.auth import Caller

THUMB_EDGE = 320
# A phone photo, even unshrunk, is under 50 MP; a larger "photo" is refused before it is decoded.
MAX_PIXELS = 60_000_000
_NAME = re.compile(r"^[0-9a-f]{64}$")
_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class UploadState:
    received: int  # the offset the next chunk starts at
    size: int
    complete: bool


def full_key(sha256: str) -> str:
    return f"photos/{sha256[:2]}/{sha256}"


def thumb_key(sha256: str) -> str:
    return f"thumbs/{sha256[:2]}/{sha256}.jpg"


def part_key(sha256: str) -> str:
    return f"uploads/{sha256}"


def check_name(sha256: str) -> str:
    """`sha256` if it is one (64 lowercase hex digits); else no photo can have that name."""
    if not _NAME.match(sha256):
        raise NotFound("a photo is named by the sha256 of its bytes, 64 lowercase hex digits")
    return sha256


def upload_state(*, session: Session, sha256: str) -> UploadState:
    """How much of the photo the server holds; `NotFound` when none of it."""
    row = session.get(Photo, check_name(sha256))
    if row is None:
        raise NotFound("the server holds no byte of this photo")
    return UploadState(row.received, row.size, row.complete)


def receive_chunk(
    *,
    session: Session,
    blobs: BlobStore,
    settings: Settings,
    caller: Caller,
    sha256: str,
    offset: int,
    length: int,
    chunk: bytes,
    now: datetime,
) -> UploadState:
    """Take `chunk`, the bytes at `offset` of the photo `sha256` whose whole size is `length`.

    A photo already complete answers complete and takes nothing. Refusals: `offset_mismatch`
    (the server holds another count: HEAD and go on from there), `upload_length_mismatch`,
    `photo_too_large`, `photo_quota_exceeded`, `invalid` (a chunk past the end) and, on the last
    chunk, `hash_mismatch` or `not_a_photo`; those two have discarded the upload when they are
    raised, which the caller commits (the photo then starts again from 0).
    """
    check_name(sha256)
    row = session.get(Photo, sha256, with_for_update=True)
    if row is not None and row.complete:
        return UploadState(row.size, row.size, True)
    if length > settings.max_photo_bytes:
        raise TooLarge(
            f"a photo may be at most {settings.max_photo_bytes} bytes; this one is {length}",
            code="photo_too_large",
            errors=[{"limit": "max_photo_bytes", "bytes": settings.max_photo_bytes}],
        )
    # Every refusal but the last chunk's is raised before anything is written: the route
    # commits whatever a refused request wrote (see `_complete`).
    if row is not None and length != row.size:
        raise Conflict(
            f"this photo's upload started with {row.size} bytes, not {length}",
            code="upload_length_mismatch",
        )
    held = 0 if row is None else row.received
    if offset != held:
        raise Conflict(
            f"the server holds {held} bytes of this photo: send from there",
            code="offset_mismatch",
            errors=[{"upload_offset": held}],
        )
    if offset + len(chunk) > length:
        raise Invalid(f"the chunk runs past the photo's {length} bytes")
    if row is None:
        row = _start(session=session, settings=settings, caller=caller, sha256=sha256, size=length)
        if row.complete:
            return UploadState(row.size, row.size, True)
        if row.received != offset or row.size != length:  # another phone's row, further on
            raise Conflict(
                f"the server holds {row.received} bytes of this photo: send from there",
                code="offset_mismatch",
                errors=[{"upload_offset": row.received}],
            )
    if chunk:
        blobs.write_part(part_key(sha256), offset, chunk)
        row.received = offset + len(chunk)
    if row.received == row.size:
        _complete(session=session, blobs=blobs, row=row, now=now)
    return UploadState(row.received, row.size, row.complete)


def photo_bytes(
    *, session: Session, blobs: BlobStore, caller: Caller, sha256: str, thumb: bool = False
) -> tuple[bytes, str]:
    """The photo (or its thumbnail) and its content type, for a caller who may see it."""
    row = session.get(Photo, check_name(sha256))
    if row is None or not row.complete:
        raise NotFound("the server does not hold this photo (yet)")
    if not may_see(session=session, caller=caller, photo=row):
        raise Forbidden("this photo belongs to a matter you cannot see", code="out_of_scope")
    data = blobs.get(thumb_key(sha256) if thumb else full_key(sha256))
    if data is None:
        raise NotFound("the photo's bytes are missing from the photo store")
    return data, "image/jpeg" if thumb else row.content_type


def thumbnails(
    *, session: Session, blobs: BlobStore, caller: Caller, names: Sequence[str]
) -> tuple[ThumbsResponse, list[bytes]]:
    """The thumbnails of the photos among `names` the caller may see (`may_see`, decided for
    the batch at once), as the answer's head and the thumbnails' bytes in its order; every other
    name is `unavailable`, whatever the reason: a photo not yet wholly uploaded and one of a
    matter out of the caller's scope look the same, so the answer says nothing of photos the
    caller may not see."""
    wanted = list(dict.fromkeys(n for n in names if _NAME.match(n)))
    rows = {
        row.sha256: row
        for row in session.scalars(
            select(Photo).where(Photo.sha256.in_(wanted), Photo.complete.is_(True))
        )
    }
    if caller.user.role == Role.ADMIN:
        allowed = set(rows)
    else:
        own = {s for s, row in rows.items() if row.uploader_user_id == caller.user.id}
        allowed = own | photos_visible(session=session, caller=caller, names=set(rows) - own)
    heads: list[Thumb] = []
    datas: list[bytes] = []
    for name in wanted:
        data = blobs.get(thumb_key(name)) if name in allowed else None
        if data is not None:
            heads.append(Thumb(sha256=name, size=len(data)))
            datas.append(data)
    sent = {t.sha256 for t in heads}
    head = ThumbsResponse(
        thumbs=heads, unavailable=[n for n in dict.fromkeys(names) if n not in sent]
    )
    return head, datas


def may_see(*, session: Session, caller: Caller, photo: Photo) -> bool:
    """The uploader, admins, and whoever may see a matter (or a step of one) that names the
    photo (`queries.matter_photos.photo_visible`)."""
    if caller.user.role == Role.ADMIN or photo.uploader_user_id == caller.user.id:
        return True
    return photo_visible(session=session, caller=caller, sha256=photo.sha256)


def thumbnail(data: bytes) -> bytes:
    """A JPEG of `data` whose long edge is at most `THUMB_EDGE`."""
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (THUMB_EDGE, THUMB_EDGE))
        small = image.convert("RGB")
    small.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # Optimised Huffman tables: about 5% fewer bytes for every phone that fetches it, once.
    small.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()


def _start(
    *, session: Session, settings: Settings, caller: Caller, sha256: str, size: int
) -> Photo:
    device_id = caller.device.id if caller.device is not None else None
    held = session.scalar(
        select(func.coalesce(func.sum(Photo.size), 0)).where(Photo.uploader_device_id == device_id)
    )
    if int(held or 0) + size > settings.photo_quota_bytes:
        raise TooLarge(
            f"this device's photos on the server would pass its quota of "
            f"{settings.photo_quota_bytes} bytes (it holds {held})",
            code="photo_quota_exceeded",
            errors=[{"limit": "photo_quota_bytes", "bytes": settings.photo_quota_bytes}],
        )
    row = Photo(
        sha256=sha256,
        size=size,
        received=0,
        complete=False,
        uploader_user_id=caller.user.id,
        uploader_device_id=device_id,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another phone started the same photo a moment ago: go on with its row.
        found = session.get(Photo, sha256, with_for_update=True, populate_existing=True)
        assert found is not None
        return found
    return row


def _complete(*, session: Session, blobs: BlobStore, row: Photo, now: datetime) -> None:
    data = blobs.read_part(part_key(row.sha256), row.size)
    if hashlib.sha256(data).hexdigest() != row.sha256:
        _discard(session=session, blobs=blobs, row=row)
        raise Invalid(
            "the bytes received do not have the photo's sha256: the upload was discarded, "
            "send it again from the start",
            code="hash_mismatch",
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            content_type = _TYPES.get(image.format or "")
            if image.width * image.height > MAX_PIXELS:
                content_type = None  # a few MB that would decode to gigabytes
        small = thumbnail(data) if content_type else None
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        content_type, small = None, None
    if content_type is None or small is None:
        _discard(session=session, blobs=blobs, row=row)
        raise Invalid("the upload is not a JPEG, PNG or WebP picture", code="not_a_photo")
    blobs.put(full_key(row.sha256), data)
    blobs.put(thumb_key(row.sha256), small)
    blobs.delete_part(part_key(row.sha256))
    row.content_type = content_type
    row.complete = True
    row.completed_at = now


def _discard(*, session: Session, blobs: BlobStore, row: Photo) -> None:
    blobs.delete_part(part_key(row.sha256))
    session.delete(row)
    session.flush()
