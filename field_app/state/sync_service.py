"""Syncing in the background: one worker thread per app process (one device), never the UI's.

The worker owns its own `Store` connection to the device file (SQLite connections belong to the
thread that opened them, and WAL lets the UI read while a pull writes). It runs, one at a time:
sign-in with the first download of the worker's grids, syncs the worker asked for, and a health
poll every few seconds; when the server becomes reachable again it syncs by itself, so changes
made in a stairwell leave as soon as there is a signal. A change made while online leaves on its
own too, a few seconds after the last edit (`edited`, `push_delay`): a worker typing at a door
sends one sync, not one per field.

A phone runs Python only while the app is on screen (Android keeps no process running in the
background for it): there the app tells the service when it goes to the background and comes
back (`foreground`, from Flet's app lifecycle event). In the background the worker does nothing;
on coming back it syncs at once; in the foreground it syncs every `sync_every` (the injectable
clock), so a worker sees others' changes without tapping 同步. (Plan, not verified here: on a
phone; docs/field-app.md.)

After each sync the worker fetches the thumbnails of the photos the matters on the device name
(field_app/photos/fetch.py), then uploads the device's own waiting photos; both give way between
requests to any job queued meanwhile. A whole photo the worker opens is a job of its own
(`fetch_photo`); `status.photo` says how it went and `status.fetched` counts what arrived.

Listeners are called on the worker thread: a view-model must hop to its own thread before it
touches its store (see `AppViewModel`, which is given a `dispatch` function for that).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from field_app.photos.fetch import PhotoFetcher, ThumbReport
from field_app.photos.upload import PhotoReport, PhotoUploader
from field_app.state.observable import Observable
from field_app.store import Store
from field_app.store.keys import KeyHolder
from field_app.sync_client import (
    DeviceRevoked,
    Offline,
    SignInRequired,
    SyncClient,
    SyncError,
    SyncProgress,
    SyncReport,
    UpdateRequired,
)
from shared.clock import Clock

log = logging.getLogger(__name__)

# How the service reaches a server: (server URL, the worker's store) -> a client for it.
Connect = Callable[[str, Store], SyncClient]
FailureKind = Literal["offline", "sign_in", "credentials", "update", "revoked", "server"]


@dataclass(frozen=True)
class SyncFailure:
    """Why the last sign-in or sync did not complete; `detail` is the client's explanation."""

    kind: FailureKind
    detail: str = ""
    code: str | None = None


@dataclass(frozen=True)
class SyncStatus:
    """A snapshot of the service, replaced as a whole on every change (safe to read anywhere)."""

    online: bool | None = None  # None until the first health check
    running: bool = False
    job: Literal["sign_in", "sync"] | None = None
    phase: Literal["push", "pull"] | None = None
    done: int = 0
    total: int | None = None
    report: SyncReport | None = None  # the last completed sync
    failure: SyncFailure | None = None  # the last failed sign-in or sync
    finished: int = 0  # how many jobs have ended; views notice a new result by its change
    photos: PhotoReport | None = None  # the last photo upload run (after a sync)
    uploading: bool = False
    finished_at: datetime | None = None
    thumbs: ThumbReport | None = None  # the last thumbnail fetch (after a sync)
    # The last whole photo asked for (`fetch_photo`) and how it went; `fetched` counts the
    # thumbnail runs and photo fetches that ended, so views notice new pictures by its change.
    photo: PhotoFetched | None = None
    fetched: int = 0


@dataclass(frozen=True)
class PhotoFetched:
    """How fetching one whole photo ended: kept, or why not (`offline`: no connection)."""

    sha256: str
    ok: bool
    offline: bool = False
    detail: str = ""


@dataclass(frozen=True)
class _Job:
    kind: Literal["sign_in", "sync", "photo"]
    server_url: str = ""
    username: str = ""
    password: str = ""
    sha256: str = ""


class SyncService(Observable):
    """Background sign-in, sync and reachability for the device whose store is at `store_path`."""

    def __init__(
        self,
        store_path: str | Path,
        connect: Connect,
        *,
        poll_seconds: float = 5.0,
        push_delay: float = 3.0,
        device_name: str = "",
        clock: Clock | None = None,
        keys: KeyHolder | None = None,
        sync_every: float = 300.0,
    ) -> None:
        super().__init__()
        self._keys = keys
        self._sync_every = timedelta(seconds=sync_every)
        self._foreground = True
        self._clock = clock or Clock()
        self._path = store_path
        self._connect = connect
        self._poll_seconds = poll_seconds
        self._push_delay = timedelta(seconds=push_delay)
        self._push_due: datetime | None = None  # when the edits made online are to be pushed
        self._device_name = device_name
        self._lock = threading.Lock()
        self._jobs: deque[_Job] = deque()
        self._status = SyncStatus()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store: Store | None = None
        self._store_thread: int | None = None
        self._next_poll = 0.0
        self._client: tuple[str, SyncClient] | None = None

    @property
    def status(self) -> SyncStatus:
        return self._status

    # --- what the UI asks for (any thread) -----------------------------------------------------

    def sign_in(self, server_url: str, username: str, password: str) -> None:
        """Queue a sign-in followed by the first download of the worker's grids."""
        self._enqueue(_Job("sign_in", server_url.strip().rstrip("/"), username.strip(), password))

    def request_sync(self) -> bool:
        """Queue a sync unless one is running or queued already; False when it was."""
        with self._lock:
            if self._status.running or any(job.kind == "sync" for job in self._jobs):
                return False
        self._enqueue(_Job("sync"))
        return True

    def fetch_photo(self, sha256: str) -> None:
        """Queue fetching one whole photo (the worker opened it); `status.photo` tells how it
        went. Queued behind a running sync, ahead of the next health check."""
        with self._lock:
            if any(job.kind == "photo" and job.sha256 == sha256 for job in self._jobs):
                return
        self._enqueue(_Job("photo", sha256=sha256))

    def edited(self) -> None:
        """A local change was saved: sync `push_delay` after the last one, if online then (an
        offline device syncs when the server answers again anyway)."""
        with self._lock:
            self._push_due = self._clock.now() + self._push_delay
        self._wake.set()

    def foreground(self, shown: bool) -> None:
        """The app came to the foreground (True) or went to the background (False).

        Coming back queues a sync: whatever happened while the phone was in a pocket is pulled,
        and whatever was typed before is pushed. In the background the worker only sleeps.
        """
        with self._lock:
            was, self._foreground = self._foreground, shown
        if shown and not was:
            self.request_sync()
        self._wake.set()

    @property
    def in_foreground(self) -> bool:
        return self._foreground

    # --- the worker thread ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gridsweep-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def step(self) -> None:
        """Do what is due now: the next queued job, or else a health check when its time came.

        The worker thread calls this in a loop; tests call it directly, with no thread at all.
        """
        with self._lock:
            if not self._foreground:
                return
            job = self._jobs.popleft() if self._jobs else None
        if job is not None:
            self._run_job(job)
            return
        if self._sync_is_due():
            self._sync(self._worker_store())
            return
        if self._push_is_due():
            store = self._worker_store()
            if self._status.online and store.meta.token is not None and store.pending_count():
                self._sync(store)
                return
        if time.monotonic() >= self._next_poll:
            self._poll()

    def _push_is_due(self) -> bool:
        with self._lock:
            due = self._push_due is not None and self._clock.now() >= self._push_due
            if due:
                self._push_due = None
            return due

    def _sync_is_due(self) -> bool:
        """Online, signed in, and the last sync is `sync_every` old: pull what others changed."""
        last = self._status.finished_at
        if not self._status.online or last is None:
            return False
        if self._clock.now() < last + self._sync_every:
            return False
        return self._worker_store().meta.token is not None

    def _idle_seconds(self) -> float:
        """How long the worker may sleep: until the next poll, sync or pending push; in the
        background until it is woken."""
        wait = self._next_poll - time.monotonic()
        with self._lock:
            if not self._foreground:
                return 3600.0
            if self._push_due is not None:
                wait = min(wait, (self._push_due - self._clock.now()).total_seconds())
        last = self._status.finished_at
        if last is not None:
            wait = min(wait, (last + self._sync_every - self._clock.now()).total_seconds())
        return max(0.05, wait)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self.step()
                except Exception:  # the worker must outlive any one failure
                    log.exception("sync worker step failed")
                with self._lock:
                    idle = not self._jobs
                if idle:
                    self._wake.wait(timeout=self._idle_seconds())
                    self._wake.clear()
        finally:
            if self._store is not None:
                self._store.close()
                self._store = None

    def _enqueue(self, job: _Job) -> None:
        with self._lock:
            self._jobs.append(job)
        self._wake.set()

    def _worker_store(self) -> Store:
        thread = threading.get_ident()
        if self._store is None or self._store_thread != thread:
            self._store = Store.open(self._path, clock=self._clock, keys=self._keys)
            self._store_thread = thread
        return self._store

    def _client_for(self, url: str, store: Store) -> SyncClient:
        # One client per server address: it keeps its HTTP connections between polls.
        if self._client is None or self._client[0] != url:
            self._client = (url, self._connect(url, store))
        return self._client[1]

    def _poll(self) -> None:
        store = self._worker_store()
        url = store.meta.server_url
        online = False if url is None else self._client_for(url, store).is_online()
        was = self._status.online
        # Poll often while offline (to sync as soon as the signal returns), rarely while online.
        factor = 1 if not online else 3
        self._next_poll = time.monotonic() + self._poll_seconds * factor
        if online != was:
            self._set(online=online)
        signed_in = store.meta.token is not None
        if online and not was and signed_in:
            self._sync(store)

    def _run_job(self, job: _Job) -> None:
        store = self._worker_store()
        if job.kind == "sign_in":
            self._set(running=True, job="sign_in", phase=None, done=0, total=None, failure=None)
            try:
                with store.transaction():
                    store.meta.server_url = job.server_url
                self._client_for(job.server_url, store).login(
                    job.username, job.password, device_name=self._device_name
                )
            except SyncError as exc:
                self._fail(exc)
                return
            except Exception as exc:
                log.exception("sign-in failed")
                self._finish(
                    report=SyncReport(), failure=SyncFailure("server", str(exc)), online=False
                )
                return
            self._sync(store)
        elif job.kind == "photo":
            self._fetch_photo(store, job.sha256)
        else:
            if store.meta.server_url is None:
                self._fail(SignInRequired("Sign in first.", code="not_authenticated"))
                return
            self._sync(store)

    def _fetch_photo(self, store: Store, sha256: str) -> None:
        url = store.meta.server_url
        result: PhotoFetched
        if url is None:
            result = PhotoFetched(sha256, ok=False, offline=True)
        else:
            client = self._client_for(url, store)
            try:
                PhotoFetcher(client.http, store, token=client.token).full(sha256)
                result = PhotoFetched(sha256, ok=True)
            except Offline as exc:
                result = PhotoFetched(sha256, ok=False, offline=True, detail=str(exc))
            except Exception as exc:  # refused, or a broken answer: said on the photo
                result = PhotoFetched(sha256, ok=False, detail=str(exc))
        self._set(photo=result, fetched=self._status.fetched + 1)

    def _sync(self, store: Store) -> None:
        url = store.meta.server_url
        assert url is not None
        self._set(running=True, job="sync", phase=None, done=0, total=None, failure=None)

        def progress(step: SyncProgress) -> None:
            self._set(phase=step.phase, done=step.done, total=step.total)

        try:
            report = self._client_for(url, store).sync(progress)
        except SyncError as exc:
            self._fail(exc)
            return
        except Exception as exc:  # a bug or a broken answer must not leave "syncing" on forever
            log.exception("sync failed")
            self._finish(report=SyncReport(), failure=SyncFailure("server", str(exc)), online=True)
            return
        failure = SyncFailure("server", "; ".join(report.errors)) if report.errors else None
        self._finish(report=report, failure=failure, online=True)
        self._fetch_thumbs(store, self._client_for(url, store))
        self._upload_photos(store, self._client_for(url, store))

    def _should_stop(self) -> bool:
        """Whether the photo work after a sync is to give way: another job is queued, an edit
        is due to be pushed, the app went to the background or is closing."""
        with self._lock:
            pushing = self._push_due is not None and self._clock.now() >= self._push_due
            return bool(self._jobs) or pushing or not self._foreground or self._stop.is_set()

    def _fetch_thumbs(self, store: Store, client: SyncClient) -> None:
        """After the records' sync: the thumbnails of the photos the matters here name. Small
        (a few hundred KB for a grid's matters); what fails is asked for after the next sync."""
        if not store.thumbs_wanted():
            return
        try:
            report = PhotoFetcher(client.http, store, token=client.token).thumbs(self._should_stop)
        except Exception as exc:  # reported, retried next time
            log.warning("thumbnail fetch failed: %s", exc)
            report = ThumbReport(failed=str(exc))
        self._set(thumbs=report, fetched=self._status.fetched + 1)

    def _upload_photos(self, store: Store, client: SyncClient) -> None:
        """After the records' sync has finished and said so: send the photos waiting. It stops
        between chunks as soon as another job is queued or an edit is due to be pushed, so it
        never holds up the records' sync; what is left goes after the next one."""
        if not store.photo_counts().pending:
            return
        self._set(uploading=True)
        try:
            report = PhotoUploader(client.http, store, token=client.token).run(self._should_stop)
        except Exception as exc:  # reported like any failed upload, retried next time
            log.warning("photo upload failed: %s", exc)
            report = PhotoReport(failed={"*": str(exc)})
        self._set(uploading=False, photos=report)

    def _fail(self, exc: SyncError) -> None:
        kind: FailureKind
        if isinstance(exc, Offline):
            kind = "offline"
        elif isinstance(exc, SignInRequired):
            kind = "credentials" if exc.code == "invalid_credentials" else "sign_in"
        elif isinstance(exc, UpdateRequired):
            kind = "update"
        elif isinstance(exc, DeviceRevoked):
            kind = "revoked"
        else:
            kind = "server"
        online = kind != "offline"
        if kind == "offline":
            # Check again soon: the auto-sync fires when the server answers its health check.
            self._next_poll = time.monotonic() + self._poll_seconds
        self._finish(
            report=exc.report, failure=SyncFailure(kind, str(exc), exc.code), online=online
        )

    def _finish(self, *, report: SyncReport, failure: SyncFailure | None, online: bool) -> None:
        self._set(
            running=False,
            job=None,
            phase=None,
            report=report,
            failure=failure,
            online=online,
            finished=self._status.finished + 1,
            finished_at=self._clock.now(),
        )

    def _set(self, **changes: object) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]
        self.notify()
