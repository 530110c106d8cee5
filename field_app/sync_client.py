"""The sync client: pushes the outbox to the sync server and pulls the worker's grids back.

One `sync()` is a push of every pending operation, in batches, followed by pulls until the
server has nothing more. Each batch's results and each pulled page are saved in one transaction
by the store, so a sync cut off at any point resumes where it stopped: operations whose answer
was lost are simply pushed again (the server answers an `op_id` it has seen with the same
result), and the pull continues from the saved cursor.

Errors the app must react to are exceptions, each carrying the partial `SyncReport`:

    SyncError
    ├── Offline           no connection, or it broke mid-request: try again later
    ├── SignInRequired    401: the token is missing, expired or revoked
    ├── UpdateRequired    426 / "protocol_outdated": this app is too old for the server
    └── ServerError       any other unexpected answer (5xx, malformed body)

A `ServerError` while pushing is recorded in the report and the pull still runs, so the worker
gets the latest data even while the server refuses something; during the pull it ends the sync.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from field_app.store import Store
from shared.protocol import (
    MAX_OPERATIONS_PER_PUSH,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    LoginRequest,
    Operation,
    OpResult,
    Problem,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    TokenResponse,
)

API = "/api/v1"
PUSH_PATH = f"{API}/sync/push"
PULL_PATH = f"{API}/sync/pull"
LOGIN_PATH = f"{API}/auth/login"
HEALTH_PATH = f"{API}/health"

M = TypeVar("M", bound=BaseModel)


@dataclass
class SyncReport:
    """What one sync did, for the "last synced" line and the problems badge."""

    sent: int = 0  # operations pushed and answered
    applied: int = 0
    merged: int = 0
    conflicts: int = 0
    rejected: int = 0
    received: int = 0  # record states pulled
    removed: int = 0  # records forgotten because they left the worker's scope
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SyncProgress:
    """Reported after each push batch and each pulled page."""

    phase: Literal["push", "pull"]
    done: int
    total: int | None  # None when the server gave no estimate


ProgressCallback = Callable[[SyncProgress], None]


class SyncError(Exception):
    """Base class of sync failures; `report` holds what was done before it."""

    def __init__(
        self, message: str, *, code: str | None = None, report: SyncReport | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.report = report or SyncReport()


class Offline(SyncError):
    """The server could not be reached, or the connection broke; nothing is lost."""


class SignInRequired(SyncError):
    """The server does not accept this device's token (or the sign-in details)."""


class UpdateRequired(SyncError):
    """This version of the app speaks a sync protocol the server no longer accepts."""


class DeviceRevoked(SyncError):
    """An administrator revoked this device (lost or stolen): its local data has been wiped."""


class ServerError(SyncError):
    """The server answered something the client cannot use."""


class SyncClient:
    """Talks to the sync server for one device store.

    `http` carries the server's base URL (and is what tests replace with `httpx.MockTransport`
    or Starlette's `TestClient`); paths here are relative to it.
    """

    def __init__(
        self,
        http: httpx.Client,
        store: Store,
        *,
        token: str | None = None,
        app_version: str = "",
        push_batch_size: int = MAX_OPERATIONS_PER_PUSH,
        pull_limit: int = 1000,
        health_timeout: float = 3.0,
    ) -> None:
        if not 1 <= push_batch_size <= MAX_OPERATIONS_PER_PUSH:
            raise ValueError(f"push_batch_size must be 1..{MAX_OPERATIONS_PER_PUSH}.")
        self._http = http
        self._store = store
        self._token = token
        self._app_version = app_version
        self._batch_size = push_batch_size
        self._pull_limit = pull_limit
        self._health_timeout = health_timeout

    @property
    def http(self) -> httpx.Client:
        """The HTTP client (and its connections) this client talks through: the photo uploader
        (field_app/photos/upload.py) shares it."""
        return self._http

    @property
    def token(self) -> str | None:
        return self._token or self._store.meta.token

    # --- sign-in and reachability --------------------------------------------------------------

    def login(self, username: str, password: str, *, device_name: str = "") -> TokenResponse:
        """Sign in; the token, the user and their grids are saved in the store."""
        body = LoginRequest(
            username=username,
            password=password,
            device_id=self._store.device_id,
            device_name=device_name,
            app_version=self._app_version,
        )
        response = self._post(LOGIN_PATH, body, compress=False, authorised=False)
        token = _parse(response, TokenResponse)
        meta = self._store.meta
        with self._store.transaction():
            meta.token = token.access_token
            meta.token_expires_at = token.expires_at
            meta.user_id = token.user.id
            meta.user = token.user.model_dump(mode="json")
        self._token = token.access_token
        return token

    def is_online(self) -> bool:
        """Whether the server answers its health check within a short timeout."""
        try:
            response = self._http.get(HEALTH_PATH, timeout=self._health_timeout)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    # --- sync ----------------------------------------------------------------------------------

    def sync(self, progress: ProgressCallback | None = None) -> SyncReport:
        """Push every pending operation, then pull until the server has nothing more."""
        report = SyncReport()
        try:
            try:
                self.push(report, progress)
            except ServerError as exc:
                report.errors.append(str(exc))
            self.pull(report, progress)
        except ServerError as exc:
            report.errors.append(str(exc))
        except SyncError as exc:
            exc.report = report
            raise
        if not report.errors:
            self._store.meta.last_sync_at = self._store.clock.now()
        return report

    def push(
        self, report: SyncReport | None = None, progress: ProgressCallback | None = None
    ) -> SyncReport:
        """Push the outbox in batches, in order; the counts go into `report`.

        While the server works on one batch, the device takes the answers to the one before
        (the requests stay one at a time and in order: a batch may refer to records the one
        before created). Operations added while the push runs go with it.
        """
        report = report if report is not None else SyncReport()
        progress = progress or _ignore
        total = self._store.pending_count()
        batch, after = self._next_batch(None)
        if not batch:
            return report
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridsweep-push") as sender:
            answer = self._send(batch)
            while batch:
                following, after = self._next_batch(after)
                sending = sender.submit(self._send, following) if following else None
                self._take(batch, answer, report)
                progress(SyncProgress("push", report.sent, max(total, report.sent)))
                batch = following
                if sending is not None:
                    answer = sending.result()
        return report

    def _next_batch(self, after: int | None) -> tuple[list[Operation], int | None]:
        """The next batch after outbox position `after`, cut where no new person is parted from
        their binding; and the position of its last operation."""
        found = self._store.pending_after(after, self._batch_size + BATCH_LOOKAHEAD)
        if len(found) > self._batch_size:
            found = found[: safe_cut([op for _, op in found], self._batch_size)]
        return [op for _, op in found], (found[-1][0] if found else after)

    def _send(self, ops: list[Operation]) -> httpx.Response:
        request = PushRequest(
            protocol_version=PROTOCOL_VERSION, device_id=self._store.device_id, operations=ops
        )
        return self._post(PUSH_PATH, request, allow_too_large=True)

    def _take(self, ops: list[Operation], response: httpx.Response, report: SyncReport) -> None:
        """Take the server's answer to `ops`: a result for each, or 413 (send them in halves)."""
        if response.status_code == 413:
            if len(ops) > 1:
                # Halves keep the order: the first half is answered before the second is sent.
                half = safe_cut(ops, len(ops) // 2)
                if half >= len(ops):  # no cut keeps every new resident with its binding
                    half = len(ops) // 2
                self._take(ops[:half], self._send(ops[:half]), report)
                self._take(ops[half:], self._send(ops[half:]), report)
                return
            # One operation alone is too large: keep it visible instead of pushing it forever.
            self._record(report, [_too_large(ops[0])], None, ops)
            return
        answer = _parse(response, PushResponse)
        self._record(report, answer.results, answer.server_hlc, ops)
        answered = {result.op_id for result in answer.results}
        if any(op.op_id not in answered for op in ops):
            # Left pending, it goes again with the next sync; say so instead of looking done.
            raise ServerError("The server did not answer every pushed change.")

    def pull(
        self, report: SyncReport | None = None, progress: ProgressCallback | None = None
    ) -> SyncReport:
        """Pull pages from the saved cursor until the server says there is no more."""
        report = report if report is not None else SyncReport()
        progress = progress or _ignore
        restarted = False
        while True:
            cursor = self._store.meta.cursor
            ack = self._store.review_notes_to_ack()[:1000]
            request = PullRequest(
                protocol_version=PROTOCOL_VERSION,
                device_id=self._store.device_id,
                cursor=cursor,
                limit=self._pull_limit,
                campaigns=True,
                matters=True,
                businesses=True,
                pending_ops=self._store.pending_count(),
                oldest_pending_at=self._store.oldest_pending_at(),
                ack_review_notes=ack,
            )
            try:
                response = self._post(PULL_PATH, request)
            except ServerError as exc:
                if exc.code not in RESYNC_CODES or cursor is None or restarted:
                    raise
                # The server cannot continue from this cursor (from an older server, or not
                # its signature): download the scope again; the outbox is kept.
                self._store.restart_download()
                restarted = True
                continue
            page = _parse(response, PullResponse)
            if ack:
                # Before the page's own notes are stored: a note sent back again after this
                # acknowledgement comes in this page and is acknowledged by the next pull.
                self._store.acked_review_notes(ack)
            applied = self._store.apply_pull(page)
            report.received += applied.received
            report.removed += applied.removed
            total = None if page.remaining is None else report.received + page.remaining
            progress(SyncProgress("pull", report.received, total))
            if not page.has_more:
                return report
            if page.cursor == cursor:
                raise ServerError("The server sent more pages without moving the cursor.")

    def _record(
        self,
        report: SyncReport,
        results: list[OpResult],
        server_hlc: str | None,
        sent: list[Operation],
    ) -> None:
        self._store.record_results(results, server_hlc=server_hlc, sent=sent)
        for result in results:
            report.sent += 1
            if result.status == "applied":
                report.applied += 1
            elif result.status == "merged":
                report.merged += 1
            elif result.status == "conflict":
                report.conflicts += 1
            else:
                report.rejected += 1

    # --- HTTP ----------------------------------------------------------------------------------

    def _post(
        self,
        path: str,
        body: BaseModel,
        *,
        compress: bool = True,
        authorised: bool = True,
        allow_too_large: bool = False,
    ) -> httpx.Response:
        content = body.model_dump_json().encode()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, application/problem+json",
            "Accept-Encoding": "gzip",
            PROTOCOL_HEADER: str(PROTOCOL_VERSION),
        }
        if compress:
            # Hundreds of operations after a day offline, on a weak mobile signal.
            content = gzip.compress(content)
            headers["Content-Encoding"] = "gzip"
        if authorised:
            if self.token is None:
                raise SignInRequired("Sign in before syncing.", code="not_authenticated")
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            try:
                response = self._http.post(path, content=content, headers=headers)
            except _STALE_CONNECTION:
                # A kept-alive connection the server (or a proxy) closed just as we reused it:
                # the request never ran, or, if it did, every sync request is safe to repeat
                # (pushes are idempotent by op_id, pulls restart from the cursor). Once, on a
                # fresh connection; a second failure is a real network problem.
                response = self._http.post(path, content=content, headers=headers)
        except httpx.TransportError as exc:
            raise Offline(f"The server could not be reached ({type(exc).__name__}).") from exc
        if response.status_code == 413 and allow_too_large:
            return response
        try:
            _raise_for_problem(response)
        except DeviceRevoked:
            # Nothing on a lost phone may outlive its revocation, unsynced edits included.
            self._store.wipe()
            self._token = None
            raise
        return response


# Answers to a pull that mean: start again from a null cursor.
RESYNC_CODES = frozenset({"resync_required", "bad_cursor"})

# How far past a full batch to look for the binding of a new resident near its end.
BATCH_LOOKAHEAD = 100


def safe_cut(ops: Sequence[Operation], at: int) -> int:
    """Where to end a batch, nearest `at` (1..len(ops)), so that no new resident is sent
    without the binding that places it in a house.

    The server refuses a new resident that nothing binds to a house in the same push
    (`unbound_resident`: it would belong to no grid), and then the binding too. The app creates
    a person and their binding one after the other, so a batch cut between them would cost the
    worker both. Ties go to the later cut (a fuller batch); with no safe cut, `at`.
    """
    bound_at: dict[str, int] = {}  # new resident -> the last binding create naming them
    for index, op in enumerate(ops):
        resident = op.fields.get("resident_id") if op.entity == "binding" else None
        if op.kind == "create" and resident is not None and isinstance(resident.new, str):
            bound_at[resident.new] = index
    unsafe: set[int] = set()  # cut c splits a pair when the resident is before c, binding at/after
    for index, op in enumerate(ops):
        if op.entity == "resident" and op.kind == "create":
            unsafe.update(range(index + 1, bound_at.get(op.record_id, -1) + 1))
    safe = [c for c in range(1, len(ops) + 1) if c not in unsafe]
    return min(safe, key=lambda c: (abs(c - at), -c)) if safe else at


_STALE_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


def _ignore(_progress: SyncProgress) -> None:
    pass


def _raise_for_problem(response: httpx.Response) -> None:
    if response.is_success:
        return
    problem = _problem(response)
    code = problem.code if problem else f"http_{response.status_code}"
    detail = problem.detail if problem else response.reason_phrase
    if response.status_code == 426 or code == "protocol_outdated":
        raise UpdateRequired(
            "This version of the app is too old for the server: update the app, then sync again. "
            "Your unsynced changes are kept.",
            code=code,
        )
    if response.status_code == 403 and code == "device_revoked":
        raise DeviceRevoked(
            "This device has been revoked by an administrator; its data has been erased.",
            code=code,
        )
    if response.status_code == 401:
        raise SignInRequired(f"Sign in again: {detail}", code=code)
    raise ServerError(f"The server answered {response.status_code} ({code}): {detail}", code=code)


def _problem(response: httpx.Response) -> Problem | None:
    try:
        return Problem.model_validate_json(response.content)
    except ValidationError:
        return None


def _parse(response: httpx.Response, model: type[M]) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise ServerError(
            f"The server's answer is not a valid {model.__name__}.", code="bad_response"
        ) from exc


def _too_large(op: Operation) -> OpResult:
    return OpResult(
        op_id=op.op_id,
        status="rejected",
        entity=op.entity,
        record_id=op.record_id,
        code="too_large",
        reason="This change is too large for the server to accept.",
    )
