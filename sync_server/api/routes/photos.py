"""Photos: resumable upload by sha256 (HEAD, PATCH), download (GET, GET /thumb), and the
thumbnails of many at once (POST /thumbs, what a phone fetches after a sync).

Thin: `services.photos` holds the rules. A PATCH reads its chunk before it queues for the write
lock (the `chunk` parameter comes first), so a phone trickling bytes in over a weak signal holds
nobody up.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status

from shared.protocol import THUMBS_MEDIA_TYPE, ThumbsRequest
from sync_server.api.deps import (
    BlobsDep,
    ClockDep,
    DeviceCallerDep,
    ReadingDeviceCallerDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
)
from sync_server.api.problems import domain_problem
from sync_server.api.responses import BODY, SIGNED_IN, problems
from sync_server.errors import DomainError
from sync_server.services import photos

router = APIRouter(prefix="/photos", tags=["photos"])

OFFSET = "Upload-Offset"
LENGTH = "Upload-Length"


async def read_chunk(request: Request) -> bytes:
    return await request.body()


ChunkDep = Annotated[bytes, Depends(read_chunk)]


@router.post(
    "/thumbs",
    responses={
        200: {
            "description": "The head (a `ThumbsResponse`, one line of JSON), a newline, then "
            "the thumbnails' bytes in the head's order, each `size` bytes",
            "content": {THUMBS_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problems(BODY, SIGNED_IN),
    },
    response_class=Response,
)
def thumbs(
    body: ThumbsRequest, session: ReadSessionDep, caller: ReadingDeviceCallerDep, blobs: BlobsDep
) -> Response:
    """The thumbnails of the named photos the caller may see; the others are `unavailable`
    (not yet uploaded, or of no matter the caller may see: the answer does not say which)."""
    head, datas = photos.thumbnails(session=session, blobs=blobs, caller=caller, names=body.sha256)
    content = b"".join([head.model_dump_json().encode(), b"\n", *datas])
    return Response(content, media_type=THUMBS_MEDIA_TYPE, headers={"Cache-Control": "no-store"})


@router.head("/{sha256}", responses=problems(SIGNED_IN, 404, 422))
def upload_offset(sha256: str, session: SessionDep, _caller: DeviceCallerDep) -> Response:
    """How many bytes of the photo the server holds (`Upload-Offset`), of `Upload-Length`."""
    state = photos.upload_state(session=session, sha256=sha256)
    return Response(status_code=status.HTTP_200_OK, headers=_headers(state))


@router.patch(
    "/{sha256}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(BODY, SIGNED_IN, 404, 409),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
def upload_chunk(
    sha256: str,
    chunk: ChunkDep,
    session: SessionDep,
    caller: DeviceCallerDep,
    settings: SettingsDep,
    blobs: BlobsDep,
    clock: ClockDep,
    upload_offset: Annotated[int, Header(alias=OFFSET, ge=0)],
    upload_length: Annotated[int, Header(alias=LENGTH, ge=1)],
) -> Response:
    """The body is the photo's bytes from `Upload-Offset` on; `Upload-Length` is its whole
    size. Answers the new offset; a refusal is a problem (409 `offset_mismatch`: HEAD, then
    resume from the server's offset)."""
    try:
        state = photos.receive_chunk(
            session=session,
            blobs=blobs,
            settings=settings,
            caller=caller,
            sha256=sha256,
            offset=upload_offset,
            length=upload_length,
            chunk=chunk,
            now=clock.now(),
        )
    except DomainError as exc:
        # Returned, not raised: a discarded upload (hash_mismatch, not_a_photo) is committed.
        return domain_problem(exc)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=_headers(state))


@router.get("/{sha256}", responses=problems(SIGNED_IN, 404, 422), response_class=Response)
def photo(sha256: str, session: SessionDep, caller: DeviceCallerDep, blobs: BlobsDep) -> Response:
    """The whole photo, for its uploader, admins and those who may see a matter naming it."""
    data, content_type = photos.photo_bytes(
        session=session, blobs=blobs, caller=caller, sha256=sha256
    )
    return _image(data, content_type, sha256)


@router.get("/{sha256}/thumb", responses=problems(SIGNED_IN, 404, 422), response_class=Response)
def thumb(sha256: str, session: SessionDep, caller: DeviceCallerDep, blobs: BlobsDep) -> Response:
    """The photo's thumbnail: a JPEG whose long edge is 320 px."""
    data, content_type = photos.photo_bytes(
        session=session, blobs=blobs, caller=caller, sha256=sha256, thumb=True
    )
    return _image(data, content_type, sha256 + "-thumb")


def _headers(state: photos.UploadState) -> dict[str, str]:
    return {OFFSET: str(state.received), LENGTH: str(state.size), "Cache-Control": "no-store"}


def _image(data: bytes, content_type: str, etag: str) -> Response:
    # A photo's name is its content: it never changes, so the phone may keep it for good.
    return Response(
        data,
        media_type=content_type,
        headers={
            "Cache-Control": "private, max-age=31536000, immutable",
            "ETag": f'"{etag}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
