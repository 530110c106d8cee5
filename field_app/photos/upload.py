"""Sending the kept photos to the server, on a queue of their own beside the records' sync.

For each photo not yet wholly on the server, oldest first: ask how much the server holds
(`HEAD /api/v1/photos/<sha256>`: `Upload-Offset`, or 404 for nothing), then send the rest in
chunks (`PATCH` with `Upload-Offset` and `Upload-Length`), saving the server's count after each,
until it says it holds all of it. A connection that drops mid-chunk costs that chunk only: the
uploader asks again and goes on from the server's count (a few times within one run, then the
next sync's run does). A photo the server already holds, from this phone or another, is done at
the first question and sends nothing.

The sync service runs this after the records' sync and passes `should_stop`, which it asks
between chunks: a sync the worker asks for meanwhile waits one chunk at most. Failures are
reported (`PhotoReport`, and on each photo's row for the sync screen) and retried next time;
a photo the server refuses for good (too large, over the quota, not a picture) stays pending
with its reason until the worker's district changes the limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from field_app.store import Store
from field_app.sync_client import (
    API,
    Offline,
    ServerError,
    SignInRequired,
    _problem,
    _raise_for_problem,
)

PHOTOS_PATH = f"{API}/photos"
CHUNK_BYTES = 256 * 1024
OFFSET = "Upload-Offset"
LENGTH = "Upload-Length"
# Codes after which sending the same bytes again cannot succeed.
REFUSED = frozenset({"photo_too_large", "photo_quota_exceeded", "not_a_photo", "hash_mismatch"})


@dataclass
class PhotoReport:
    """What one run did: photos the server now holds whole, bytes sent, drops resumed, and the
    photos that failed with why."""

    done: int = 0
    bytes_sent: int = 0
    resumed: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    stopped: bool = False  # `should_stop` said so: the rest goes next time


class PhotoUploader:
    """Uploads one device store's pending photos through `http` (the sync client's)."""

    def __init__(
        self,
        http: httpx.Client,
        store: Store,
        *,
        token: str | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        retries: int = 3,
    ) -> None:
        self._http = http
        self._store = store
        self._token = token
        self._chunk = chunk_bytes
        self._retries = retries

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> PhotoReport:
        """Upload every pending photo, oldest first; stops at the first sign of no connection
        (the rest wait for the next run) or when `should_stop` says so."""
        report = PhotoReport()
        for row in self._store.photos_to_upload():
            if should_stop():
                report.stopped = True
                break
            try:
                self.upload(row.sha256, report, should_stop)
            except Offline as exc:
                report.failed[row.sha256] = str(exc)
                self._store.photo_uploaded(row.sha256, row.uploaded, error=str(exc))
                break
            except (_Refused, ServerError) as exc:
                report.failed[row.sha256] = str(exc)
                self._store.photo_uploaded(row.sha256, row.uploaded, error=str(exc))
            if report.stopped:
                break
        return report

    def upload(
        self,
        sha256: str,
        report: PhotoReport | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> bool:
        """Send the rest of one photo; whether the server now holds all of it (False: stopped
        by `should_stop`). Raises `Offline` after `retries` drops in a row."""
        report = report if report is not None else PhotoReport()
        data = self._store.photo_bytes(sha256)
        if data is None:
            raise KeyError(sha256)
        drops = 0
        offset = None
        while True:
            try:
                if offset is None:
                    offset = self._server_offset(sha256)
                if offset >= len(data):
                    break
                if should_stop():
                    report.stopped = True
                    return False
                chunk = data[offset : offset + self._chunk]
                report.bytes_sent += len(chunk)  # on the wire, whether or not it arrives
                offset = self._send(sha256, offset, len(data), chunk)
                self._store.photo_uploaded(sha256, offset)
                drops = 0
            except httpx.TransportError as exc:
                drops += 1
                if drops > self._retries:
                    raise Offline(
                        f"The connection dropped while sending a photo ({type(exc).__name__})."
                    ) from exc
                report.resumed += 1
                offset = None  # ask the server what it kept
            except _Resync:
                offset = None
        self._store.photo_uploaded(sha256, len(data), done=True)
        report.done += 1
        return True

    def _server_offset(self, sha256: str) -> int:
        response = self._http.head(f"{PHOTOS_PATH}/{sha256}", headers=self._headers())
        if response.status_code == 404:
            return 0
        _raise_for_problem(response)
        return int(response.headers[OFFSET])

    def _send(self, sha256: str, offset: int, length: int, chunk: bytes) -> int:
        headers = {
            **self._headers(),
            "Content-Type": "application/octet-stream",
            OFFSET: str(offset),
            LENGTH: str(length),
        }
        response = self._http.patch(f"{PHOTOS_PATH}/{sha256}", content=chunk, headers=headers)
        if response.is_success:
            return int(response.headers[OFFSET])
        problem = _problem(response)
        code = problem.code if problem else ""
        if code == "offset_mismatch":
            raise _Resync
        if code in REFUSED:
            raise _Refused(f"{code}: {problem.detail if problem else ''}")
        _raise_for_problem(response)
        raise AssertionError("unreachable: an unsuccessful answer raised above")

    def _headers(self) -> dict[str, str]:
        token = self._token or self._store.meta.token
        if token is None:
            raise SignInRequired("Sign in before uploading photos.", code="not_authenticated")
        return {"Authorization": f"Bearer {token}"}


class _Resync(Exception):
    """The server holds another count than we thought: ask it again."""


class _Refused(Exception):
    """The server will not take this photo as it is."""
