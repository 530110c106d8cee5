"""Fetching others' photos: the thumbnails of the matters on the device after each sync, and a
whole photo when the worker opens it.

After the records' sync the phone asks for the thumbnails of every photo its matters and steps
name and it holds no picture of (`Store.thumbs_wanted`), up to 100 names a request
(`POST /api/v1/photos/thumbs`, answered as raw JPEG bytes after a JSON head). The server
answers those the worker may see; the others
(`unavailable`: not yet uploaded by the phone that took them, or not the worker's to see) are
asked for again at the next sync, as is everything after a dropped connection. None of this
holds up the records: it runs after them and stops between requests when asked
(`should_stop`).

A whole photo (`GET /api/v1/photos/<sha256>`) is fetched only on demand and kept; its bytes
must have its name's sha256.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import httpx
from pydantic import ValidationError

from field_app.store import Store
from field_app.sync_client import (
    API,
    Offline,
    ServerError,
    SignInRequired,
    SyncError,
    _raise_for_problem,
)
from shared.protocol import MAX_THUMBS_PER_REQUEST, ThumbsRequest, ThumbsResponse

THUMBS_PATH = f"{API}/photos/thumbs"
PHOTO_PATH = f"{API}/photos"


@dataclass
class ThumbReport:
    """What one run fetched: thumbnails kept, names the server had none for, bytes received,
    and why it ended early (offline, a refusal), if it did."""

    fetched: int = 0
    unavailable: int = 0
    bytes_received: int = 0
    requests: int = 0
    failed: str | None = None
    stopped: bool = False
    names: list[str] = field(default_factory=list)  # the thumbnails kept


class PhotoFetcher:
    """Fetches thumbnails and photos for one device store through `http` (the sync client's)."""

    def __init__(
        self,
        http: httpx.Client,
        store: Store,
        *,
        token: str | None = None,
        batch: int = MAX_THUMBS_PER_REQUEST,
    ) -> None:
        self._http = http
        self._store = store
        self._token = token
        self._batch = max(1, min(batch, MAX_THUMBS_PER_REQUEST))

    def thumbs(self, should_stop: Callable[[], bool] = lambda: False) -> ThumbReport:
        """Fetch the thumbnails the device lacks, a batch a request; each batch is kept in one
        transaction as it arrives. Never raises for the network: the report says why it ended."""
        report = ThumbReport()
        wanted = self._store.thumbs_wanted()
        for start in range(0, len(wanted), self._batch):
            if should_stop():
                report.stopped = True
                break
            try:
                got, missing = self._fetch(wanted[start : start + self._batch], report)
            except SyncError as exc:
                report.failed = str(exc)
                break
            self._store.keep_thumbs(got)
            report.fetched += len(got)
            report.unavailable += len(missing)
            report.names += list(got)
        return report

    def full(self, sha256: str) -> bytes:
        """The whole photo, fetched and kept (or as kept already). Raises `Offline` without a
        connection, `ServerError` when the server has none the worker may see."""
        held = self._store.full_photo(sha256)
        if held is not None:
            return held
        try:
            response = self._http.get(f"{PHOTO_PATH}/{sha256}", headers=self._headers())
        except httpx.TransportError as exc:
            raise Offline(f"The photo could not be fetched ({type(exc).__name__}).") from exc
        _raise_for_problem(response)
        data = response.content
        try:
            self._store.keep_full_photo(sha256, data)
        except ValueError as exc:
            raise ServerError(str(exc), code="hash_mismatch") from exc
        return data

    def _fetch(self, names: list[str], report: ThumbReport) -> tuple[dict[str, bytes], list[str]]:
        body = ThumbsRequest(sha256=names).model_dump_json().encode()
        headers = {**self._headers(), "Content-Type": "application/json"}
        try:
            response = self._http.post(THUMBS_PATH, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise Offline(f"Thumbnails could not be fetched ({type(exc).__name__}).") from exc
        report.requests += 1
        report.bytes_received += len(response.content)
        _raise_for_problem(response)
        got = read_thumbs(response.content, asked=set(names))
        return got, [n for n in names if n not in got]

    def _headers(self) -> dict[str, str]:
        token = self._token or self._store.meta.token
        if token is None:
            raise SignInRequired("Sign in before fetching photos.", code="not_authenticated")
        return {"Authorization": f"Bearer {token}"}


def read_thumbs(content: bytes, *, asked: Collection[str]) -> dict[str, bytes]:
    """The thumbnails in an answer (`shared.protocol.ThumbsResponse`: its head, a newline, the
    bytes), those asked for only; raises `ServerError` for an answer that does not add up."""
    head_line, newline, rest = content.partition(b"\n")
    try:
        if not newline:
            raise ValueError("no head")
        head = ThumbsResponse.model_validate_json(head_line)
    except (ValidationError, ValueError) as exc:
        raise ServerError("The server's thumbnails are not readable.") from exc
    if sum(t.size for t in head.thumbs) != len(rest) or any(t.size < 0 for t in head.thumbs):
        raise ServerError("The server's thumbnails are cut short.")
    got: dict[str, bytes] = {}
    at = 0
    for thumb in head.thumbs:
        data, at = rest[at : at + thumb.size], at + thumb.size
        if thumb.sha256 in asked:  # never keep what was not asked for
            got[thumb.sha256] = data
    return got
